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
