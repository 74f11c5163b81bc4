import { readFileSync } from "node:fs";
import { type TargetSessionAttrs, parseDatabaseUrl, parsePort } from "./core/database-url.ts";
import { MigrateError } from "./core/errors.ts";

export type SslMode = "disable" | "prefer" | "require" | "verify-full";
const SSL_MODES: readonly SslMode[] = ["disable", "prefer", "require", "verify-full"];

export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  /** Never logged: redact() knows it. */
  readonly password: string | undefined;
  readonly sslMode: SslMode;
  /** PEM file with the CA that signed the server certificate (verify-full). */
  readonly sslRootCert: string | undefined;
  /** postgres://user@host:port/db, without the password, for logs. */
  readonly display: string;
  /** From the URL's `options` (`-c search_path=app`): sent as settings when each connection starts, as libpq does. */
  readonly serverSettings: Readonly<Record<string, string>>;
  /** The URL's application_name, else st44-migrate@HOST. */
  readonly applicationName: string | undefined;
  /** The URL's connect_timeout: a bound on each connection attempt (seconds). */
  readonly connectTimeoutSeconds: number | undefined;
  /** The URL's target_session_attrs (a primary, a standby...), among several hosts the driver is given. */
  readonly targetSessionAttrs: TargetSessionAttrs | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Flags as citty hands them over: strings, booleans or absent. */
export type Flags = Readonly<Record<string, unknown>>;

export function stringSetting(flags: Flags, flag: string, env: Env, variable: string): string | undefined {
  const fromFlag = flags[flag];
  if (typeof fromFlag === "string" && fromFlag !== "") return fromFlag;
  if (typeof fromFlag === "number") return String(fromFlag);
  const fromEnv = env[variable];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

/**
 * Resolves where the database is: --url, else DATABASE_URL, else the DB_*
 * variables. Errors name the variable to set and never echo a password.
 */
export function resolveConnection(flags: Flags, env: Env): ConnectionConfig {
  const url = stringSetting(flags, "url", env, "DATABASE_URL");
  const passwordFile = env.DB_PASSWORD_FILE || undefined;
  const passwordFromFile = passwordFile === undefined ? undefined : readPasswordFile(passwordFile);
  const sslRootCert = env.DB_SSLROOTCERT || undefined;
  const envSslMode = env.DB_SSLMODE || undefined;

  if (url !== undefined) {
    const source = typeof flags.url === "string" && flags.url !== "" ? "--url" : "DATABASE_URL";
    const parsed = parseDatabaseUrl(url, source);
    const { parameters } = parsed;
    const sslMode = parseSslMode(parameters.sslMode ?? envSslMode ?? "prefer", parameters.sslMode !== undefined ? `sslmode in ${source}` : "DB_SSLMODE");
    return finish({
      host: parsed.host,
      port: parsed.port,
      database: parsed.database,
      username: parsed.username,
      password: parsed.password ?? passwordFromFile ?? (env.DB_PASSWORD || undefined),
      sslMode,
      sslRootCert: parameters.sslRootCert ?? sslRootCert,
      serverSettings: parameters.serverSettings,
      applicationName: parameters.applicationName,
      connectTimeoutSeconds: parameters.connectTimeoutSeconds,
      targetSessionAttrs: parameters.targetSessionAttrs,
    });
  }

  const host = env.DB_HOST;
  const database = env.DB_NAME;
  const username = env.DB_USER;
  if (!host || !database || !username) {
    const missing = [!host && "DB_HOST", !database && "DB_NAME", !username && "DB_USER"].filter(Boolean).join(", ");
    throw new MigrateError(
      "CONFIG_MISSING",
      `No database configured: set DATABASE_URL (for example postgres://st44@db:5432/st44) or pass --url, or set DB_HOST, DB_NAME and DB_USER (missing: ${missing}), with DB_PASSWORD or DB_PASSWORD_FILE for the password.`,
    );
  }
  return finish({
    host,
    port: parsePort(env.DB_PORT ?? "5432", "DB_PORT"),
    database,
    username,
    password: passwordFromFile ?? (env.DB_PASSWORD || undefined),
    sslMode: parseSslMode(envSslMode ?? "prefer", "DB_SSLMODE"),
    sslRootCert,
    serverSettings: {},
    applicationName: undefined,
    connectTimeoutSeconds: undefined,
    targetSessionAttrs: undefined,
  });
}

function finish(config: Omit<ConnectionConfig, "display">): ConnectionConfig {
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const display = `postgres://${encodeURIComponent(config.username)}@${host}:${config.port}/${encodeURIComponent(config.database)}`;
  return { ...config, display };
}

function parseSslMode(value: string, source: string): SslMode {
  if ((SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
  throw new MigrateError(
    "CONFIG_INVALID",
    `${source} is "${value}"; it must be one of ${SSL_MODES.join(", ")}. Use require or verify-full in production, disable for a local server without TLS.`,
  );
}

function readPasswordFile(path: string): string {
  try {
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new MigrateError(
      "CONFIG_INVALID",
      `DB_PASSWORD_FILE points at ${path}, which cannot be read (${reason}). Mount the secret file there and make it readable by this user, or unset DB_PASSWORD_FILE and use DB_PASSWORD.`,
    );
  }
}

/**
 * Parses a duration: a number of seconds, or a number with ms, s or m.
 * Returns milliseconds.
 */
export function parseDuration(value: string, source: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match || match[1] === undefined) {
    throw new MigrateError(
      "USAGE",
      `${source} must be a duration in seconds (for example 30, 1.5, 500ms or 2m), not "${value}".`,
    );
  }
  const amount = Number(match[1]);
  const unit = match[2] ?? "s";
  const ms = Math.round(unit === "ms" ? amount : unit === "m" ? amount * 60_000 : amount * 1000);
  // 0 means "no limit" to PostgreSQL: a tiny positive value must not round to it.
  return amount > 0 ? Math.max(1, ms) : 0;
}

/** The largest lock_timeout / statement_timeout PostgreSQL takes, and the longest setTimeout: 2^31-1 ms (24.8 days). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * A duration from a flag, else an env variable, else the default (ms); at
 * most `maxMs`. Every duration has that bound: each one ends up in a timer
 * or a PostgreSQL setting, and both refuse (or wrap) a larger value.
 */
export function durationSetting(flags: Flags, flag: string, env: Env, variable: string, defaultMs: number, maxMs = MAX_TIMEOUT_MS): number {
  const value = stringSetting(flags, flag, env, variable);
  if (value === undefined) return defaultMs;
  const source = typeof flags[flag] === "string" && flags[flag] !== "" ? `--${flag}` : variable;
  const ms = parseDuration(value, source);
  if (ms > maxMs) {
    const days = Math.floor(maxMs / 86_400_000);
    const limit = days >= 1 ? `${Math.floor(maxMs / 1000)} s (about ${days} days)` : `${maxMs / 1000} s`;
    throw new MigrateError("USAGE", `${source} is "${value}", more than the ${limit} it can be. Give a duration of at most ${limit}.`);
  }
  return ms;
}

/**
 * ST44_EMBEDDED_UNTIL: the newest embedded version to keep (tests play an
 * older release with it). A version is digits only; anything else would
 * otherwise reach BigInt() and crash.
 */
export function embeddedUntilSetting(env: Env): string | undefined {
  const value = env.ST44_EMBEDDED_UNTIL;
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) {
    throw new MigrateError("USAGE", `ST44_EMBEDDED_UNTIL must be a migration version (digits only, for example 014), not "${value}". Set it to the newest version to keep, or unset it to use every embedded migration.`);
  }
  return value;
}

export type LogFormat = "pretty" | "plain" | "json";

export function resolveLogFormat(flags: Flags, env: Env, isTTY: boolean): LogFormat {
  const value = stringSetting(flags, "log-format", env, "LOG_FORMAT");
  if (value === undefined) return isTTY ? "pretty" : "plain";
  if (value === "pretty" || value === "plain" || value === "json") return value;
  throw new MigrateError("USAGE", `--log-format (or LOG_FORMAT) must be pretty, plain or json, not "${value}".`);
}
