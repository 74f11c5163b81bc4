import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import postgres from "postgres";
import { hostName } from "../build-info.ts";
import type { ConnectionConfig } from "../config.ts";
import { MigrateError } from "../core/errors.ts";
import type { Logger } from "../log.ts";
import { registerSecret } from "../log.ts";

export type Sql = postgres.Sql<Record<string, never>>;
/** A connection of the pool reserved for one caller: the migration lock lives on it. */
export type Reserved = postgres.ReservedSql<Record<string, never>>;
/** Anything that runs queries: the pool or a reserved connection. */
export type Queryable = Sql | Reserved;

export interface ClientOptions {
  /** How long one connection attempt may take (seconds). */
  readonly connectTimeoutSeconds?: number;
  readonly max?: number;
  readonly log?: Logger;
}

/**
 * Passes the parts, never a URL, so the driver has no connection string to
 * echo. Timeouts are set per transaction (SET LOCAL), not as startup
 * parameters, which PgBouncer refuses; the settings of the URL's `options`
 * are startup parameters, as libpq sends them (the user asked for them).
 * The URL's connect_timeout can shorten an attempt, never lengthen it past
 * what the caller's --wait or health bound allows.
 */
export function createClient(config: ConnectionConfig, options: ClientOptions = {}): Sql {
  registerSecret(config.password);
  const connection: Record<string, string | number> = {
    ...config.serverSettings,
    application_name: (config.applicationName ?? `st44-migrate@${hostName()}`).slice(0, 63),
  };
  const callerTimeout = options.connectTimeoutSeconds ?? 10;
  const log = options.log;
  const closeListeners = new Set<() => void>();
  const client = postgres({
    host: config.host,
    port: config.port,
    database: config.database,
    username: config.username,
    password: config.password,
    ssl: sslOption(config),
    // One reserved connection holds the migration lock; the spare serves other reads.
    max: options.max ?? 2,
    connect_timeout: Math.min(callerTimeout, config.connectTimeoutSeconds ?? callerTimeout),
    target_session_attrs: config.targetSessionAttrs,
    idle_timeout: 0,
    // TCP keepalives (seconds idle before the first probe): a peer that vanished is noticed while we wait on it.
    keep_alive: KEEPALIVE_IDLE_SECONDS,
    // The runner needs no custom type parsers: skipping the type fetch saves a round trip.
    fetch_types: false,
    prepare: false,
    debug: false,
    connection,
    onnotice: (notice) => {
      // Notices of an applied migration are worth seeing; "already exists, skipping" is noise at info.
      log?.debug(`server notice: ${notice.message}`, { severity: String(notice.severity ?? ""), code: String(notice.code ?? "") });
    },
    onclose: () => {
      for (const listener of closeListeners) listener();
    },
  }) as unknown as Sql;
  closeListenersOf.set(client, closeListeners);
  return client;
}

/** Seconds a connection may be idle before TCP keepalive probes start, on our side and (session.ts) the server's. */
export const KEEPALIVE_IDLE_SECONDS = 30;

const closeListenersOf = new WeakMap<Sql, Set<() => void>>();

/**
 * Calls `listener` whenever one of the client's connections closes; returns
 * the function that stops it. postgres.js 3.4.9 does not tell a reserved
 * connection that its socket closed, and a query sent on it then throws from
 * a timer (an uncatchable TypeError): whoever holds one must stop using it
 * when this fires.
 */
export function onConnectionClosed(sql: Sql, listener: () => void): () => void {
  const listeners = closeListenersOf.get(sql);
  listeners?.add(listener);
  return () => {
    listeners?.delete(listener);
  };
}

function sslOption(config: ConnectionConfig): postgres.Options<Record<string, never>>["ssl"] {
  switch (config.sslMode) {
    case "disable":
      return false;
    case "prefer":
      return "prefer";
    case "require":
      return "require";
    case "verify-full": {
      if (config.sslRootCert === undefined) return "verify-full";
      let ca: string;
      try {
        ca = readFileSync(config.sslRootCert, "utf8");
      } catch (error) {
        throw new MigrateError(
          "CONFIG_INVALID",
          `DB_SSLROOTCERT points at ${config.sslRootCert}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? "unreadable"}). Give the path of the PEM file of the CA that signed the server certificate.`,
        );
      }
      try {
        // A CA Bun cannot parse makes tls.connect throw inside the driver, which then hangs until connect_timeout.
        createSecureContext({ ca });
      } catch (error) {
        throw new MigrateError(
          "CONFIG_INVALID",
          `DB_SSLROOTCERT points at ${config.sslRootCert}, which is not a PEM certificate (${(error as Error).message}). Give the path of the PEM file (-----BEGIN CERTIFICATE-----) of the CA that signed the server certificate.`,
        );
      }
      // No servername: postgres.js sets it to the host itself, and leaves it out for an IP address
      // (TLS forbids an IP there: tls.connect throws, and the connection hangs until connect_timeout).
      // The certificate is checked against the host either way: its DNS names, or its IP addresses.
      return { ca, rejectUnauthorized: true };
    }
  }
}

/** Codes of a server certificate the client does not accept (Node's and Bun's tls). */
const CERTIFICATE_ERRORS = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * A TLS failure that waiting will not cure: the server certificate was not
 * accepted, or (sslmode require / verify-full) the server broke off the TLS
 * handshake, which is what a server without TLS does (postgres.js starts the
 * handshake even after the server answered that it has no TLS).
 */
function tlsFailure(error: unknown, config: ConnectionConfig): "certificate" | "handshake" | null {
  if (config.sslMode === "disable") return null;
  const code = (error as { code?: string }).code ?? "";
  if (CERTIFICATE_ERRORS.has(code) || code.startsWith("ERR_TLS_CERT")) return "certificate";
  const message = (error as { message?: string }).message ?? "";
  if (config.sslMode !== "prefer" && /before secure TLS connection was established/i.test(message)) return "handshake";
  return null;
}

/**
 * The socket or the session failed, not a statement: the driver lost the
 * connection, or the server ended the session (admin or crash shutdown,
 * starting up) or reported a connection exception (class 08). The server
 * rolls back whatever that session had open.
 */
export function isConnectionFailure(error: unknown): boolean {
  // Ours: a connection that stalled or closed under a waiting caller (db/lock.ts), which must not be used again.
  if (error instanceof MigrateError) return error.code === "DB_UNREACHABLE";
  const code = (error as { code?: string }).code ?? "";
  return /^(CONNECTION_|ECONN|EPIPE)/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || code.startsWith("08");
}

/** "Not ready yet, try again" while waiting for the server: a connection failure, or the network not there yet. */
function isTransient(error: unknown, config: ConnectionConfig): boolean {
  if (tlsFailure(error, config) !== null) return false;
  const code = (error as { code?: string }).code ?? "";
  // 53300: the server or the role has no connection slot left (max_connections, CONNECTION LIMIT); others finish and free theirs.
  return isConnectionFailure(error) || code === "53300" || ["ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "CONNECT_TIMEOUT"].includes(code);
}

/**
 * A query error from a server that let us in (a PostgresError carries a
 * severity): not a connection problem, so it is the caller's to report.
 * Login and missing-database errors come as PostgresErrors too but are
 * connection failures.
 */
function isQueryError(error: unknown): boolean {
  const { severity, code } = error as { severity?: string; code?: string };
  return severity !== undefined && !["28P01", "28000", "3D000"].includes(code ?? "");
}

/**
 * The session cannot write (SQLSTATE 25006): a hot standby, or a database
 * or role with default_transaction_read_only. `inRecovery` says which, when known.
 */
export function readOnlyError(inRecovery: boolean | null, cause?: unknown): MigrateError {
  const which =
    inRecovery === true
      ? "is a hot standby (a replica in recovery), which accepts no writes"
      : inRecovery === false
        ? "is read-only for this session (default_transaction_read_only is on for the database, the role or the server)"
        : "refused the write because the session is read-only (a hot standby, or default_transaction_read_only)";
  return new MigrateError(
    "DB_READ_ONLY",
    `The database ${which}, so the tracking table and the migrations cannot be written. Nothing was applied. Point DATABASE_URL (or DB_HOST) at the primary; with several hosts behind one name, add target_session_attrs=read-write to DATABASE_URL so only a writable server is accepted. If the database was made read-only on purpose (ALTER DATABASE ... SET default_transaction_read_only = on), migrate after that is undone.`,
    cause === undefined ? {} : { cause },
  );
}

/** Turns a connection failure into the error the user can act on. */
export function connectionError(error: unknown, config: ConnectionConfig, waitedMs: number): MigrateError {
  const code = (error as { code?: string }).code ?? "";
  const reason = (error as Error).message ?? String(error);
  const where = `${config.display} (sslmode=${config.sslMode})`;
  if (code === "28P01" || code === "28000") {
    return new MigrateError(
      "DB_AUTH_FAILED",
      `The database at ${where} refused the login: ${reason}. Check DB_USER and DB_PASSWORD (or DB_PASSWORD_FILE, or the user and password in DATABASE_URL), and that pg_hba.conf allows this client.`,
      { cause: error },
    );
  }
  if (code === "3D000") {
    return new MigrateError(
      "DB_NOT_FOUND",
      `The server at ${where} has no database "${config.database}". Create it (createdb ${config.database}) or fix DB_NAME / the database name in DATABASE_URL.`,
      { cause: error },
    );
  }
  const tls = tlsFailure(error, config);
  const shownCode = code && !reason.includes(code) ? ` (${code})` : "";
  if (tls === "certificate") {
    return new MigrateError(
      "DB_UNREACHABLE",
      `The server at ${where} presented a TLS certificate that was not accepted: ${reason}${shownCode}. With sslmode=verify-full the certificate must be signed by the CA in DB_SSLROOTCERT (or sslrootcert in DATABASE_URL; without either, by a CA the system trusts) and be issued for the host connected to (${config.host}): point DB_SSLROOTCERT at the CA that signed it, and connect with a host name the certificate lists.`,
      { cause: error },
    );
  }
  if (tls === "handshake") {
    return new MigrateError(
      "DB_UNREACHABLE",
      `The server at ${where} did not complete a TLS handshake: ${reason}${shownCode}. It most likely has TLS turned off: enable ssl on the server, or, for a server without TLS on a trusted network, set sslmode=disable (DB_SSLMODE, or sslmode in DATABASE_URL).`,
      { cause: error },
    );
  }
  const waited = waitedMs > 0 ? ` after waiting ${(waitedMs / 1000).toFixed(1)} s` : "";
  return new MigrateError(
    "DB_UNREACHABLE",
    `Cannot connect to the database at ${where}${waited}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ""}. Check that the server is running and reachable from here, that DB_HOST/DB_PORT (or DATABASE_URL) are right, and raise --wait if it starts slowly.`,
    { cause: error },
  );
}

/** `--wait 0` is one try of at most this long: long enough for a TLS login over a slow link. */
export const SINGLE_TRY_MS = 5000;
/** A try started when the deadline is (nearly) there still gets this long. */
export const LAST_TRY_MIN_MS = 1000;
const BACKOFF_START_MS = 250;
const BACKOFF_MAX_MS = 5000;

/** How long a try may take: until the deadline, but at least LAST_TRY_MIN_MS, and the single try of `--wait 0` SINGLE_TRY_MS. */
export function tryBoundMs(waitMs: number, remainingMs: number): number {
  return Math.max(remainingMs, waitMs === 0 ? SINGLE_TRY_MS : LAST_TRY_MIN_MS);
}

/**
 * Runs one try, ended by our own timer: the driver's connect_timeout is set
 * per client (and a server that accepts and then never answers the login
 * leaves the query waiting), so only a timer here keeps the deadline.
 */
async function boundedTry<T>(connect: () => Promise<T>, boundMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = connect();
  // Once cut off, its late failure (or success) is nobody's concern.
  attempt.catch(() => {});
  const cutOff = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`no answer within ${(boundMs / 1000).toFixed(1)} s`), { code: "CONNECT_TIMEOUT" }));
    }, boundMs);
  });
  try {
    return await Promise.race([attempt, cutOff]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until the server accepts a connection, retrying transient failures
 * with exponential backoff (0.25 s doubling to 5 s) until `waitMs` has
 * passed. The deadline is the deadline: a try still running then is cut off
 * (tryBoundMs), so the wait ends within waitMs + LAST_TRY_MIN_MS (`--wait 0`:
 * SINGLE_TRY_MS). Authentication and missing-database errors are final at once.
 */
export async function waitForDatabase<T>(
  connect: () => Promise<T>,
  config: ConnectionConfig,
  waitMs: number,
  log: Logger,
): Promise<T> {
  const started = Date.now();
  const deadline = started + waitMs;
  let delay = BACKOFF_START_MS;
  for (let attempt = 1; ; attempt++) {
    const tryStarted = Date.now();
    try {
      return await boundedTry(connect, tryBoundMs(waitMs, deadline - tryStarted));
    } catch (error) {
      if (error instanceof MigrateError) throw error;
      const now = Date.now();
      const waited = now - started;
      const transient = isTransient(error, config);
      if (!transient && isQueryError(error)) throw error;
      if (!transient || now >= deadline) throw connectionError(error, config, waited);
      const pause = Math.min(delay, deadline - now);
      // The try's own time is said too: against a server that does not answer, it is most of the gap between these lines.
      log.info(
        `database at ${config.display} not ready (${(error as Error).message}; try ${attempt} took ${((now - tryStarted) / 1000).toFixed(2)} s); retry ${attempt} in ${(pause / 1000).toFixed(2)} s, ${((deadline - now) / 1000).toFixed(1)} s of --wait left`,
        {
          event: "wait_for_database",
          attempt,
          attempt_ms: now - tryStarted,
          delay_ms: pause,
          remaining_ms: deadline - now,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, pause));
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }
}

/**
 * The rows of the last statement that returns rows in a multi-statement
 * simple query. postgres.js starts a new result at each statement that
 * returns rows (a list of them when there are several); statements without
 * rows fold into the one before.
 */
export function lastRowSet<T>(results: unknown): T[] {
  const all = results as unknown[];
  return (Array.isArray(all[0]) ? all.at(-1) : all) as T[];
}
