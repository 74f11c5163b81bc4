import { MigrateError } from "../core/errors.ts";
import type { Logger } from "../log.ts";
import { type Reserved, type Sql } from "./connection.ts";
import { isConnectionFailure } from "./connection-failures.ts";
import { type LockMode, SERVER_KEEPALIVE_SQL, lockTimeoutSql, takeTransactionLock, tryMigrationLockSql } from "./lock.ts";

/** The connection that migrates, and what every step needs to know about the run. */
export interface MigrationSession {
  readonly db: Reserved;
  /** The backend behind `db`, for the blocker watcher (behind a pooler each transaction reads its own). */
  readonly backendPid: number;
  /** The pool, for a second connection that watches who blocks the migration. */
  readonly pool: Sql;
  readonly lockMode: LockMode;
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  /** How long a transaction-level lock may be waited for (transaction mode). */
  readonly lockWaitMs: number;
  /** client_connection_check_interval exists from PostgreSQL 14 on. */
  readonly checksClientConnection: boolean;
  /** "st44-migrate 0.1.0 (abc1234) on host", stored with each row. */
  readonly runner: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /**
   * Set when the server ended the connection: its transaction is rolled back
   * and its session lock gone, and nothing more may be sent on it
   * (postgres.js 3.4.9 throws from a timer when a write meets the closed socket).
   */
  readonly connection: { lost: boolean };
}

/** What one query learns about the migrating session before anything is written. */
export interface SessionProbe {
  readonly port: number | null;
  readonly pid: number;
  /**
   * Whether the backend that answered is the one this connection's startup
   * named (its BackendKeyData): only then is the session proven direct.
   */
  readonly direct: boolean;
  /** Whether the probe took the session lock already: null when it did not try (only `--lock-mode session` does). */
  readonly locked: boolean | null;
  readonly version: number;
  readonly canCreate: boolean;
  readonly role: string;
  readonly schema: string | null;
  /** The session cannot write: a hot standby (inRecovery), or default_transaction_read_only. */
  readonly readOnly: boolean;
  readonly inRecovery: boolean;
}

/**
 * Learns about the session in one round trip, and, with `--lock-mode
 * session`, tries the session lock in it. In auto mode it takes no lock:
 * whether the session is direct is known only from its answer.
 *
 * A pooler is recognised by what it must do, not by a port number:
 * a pooler that hands a client's transactions to different server
 * connections cannot give the client one backend's cancel key (a cancel
 * would reach the wrong backend), so it issues its own (PgBouncer: random).
 * The pid in the key postgres.js received at startup then differs from
 * pg_backend_pid(). A plain TCP forwarder passes the bytes through, so its
 * key is the backend's own. A pooler's random key equals the backend's pid
 * with odds of 1 in 2^32.
 */
export async function probeSession(db: Reserved, requested: "auto" | LockMode): Promise<SessionProbe> {
  const sessionLock = requested === "session" ? `, ${tryMigrationLockSql} as locked, ${SERVER_KEEPALIVE_SQL}` : ", null::boolean as locked";
  const result = await db.unsafe<
    {
      port: number | null;
      pid: number;
      locked: boolean | null;
      version: number;
      can_create: boolean;
      role: string;
      schema: string | null;
      read_only: boolean;
      in_recovery: boolean;
    }[]
  >(
    `select inet_server_port() as port, pg_backend_pid() as pid, current_setting('server_version_num')::int as version,
            has_schema_privilege(coalesce(current_schema(), 'public'), 'CREATE') as can_create, current_user as role, current_schema() as schema,
            current_setting('transaction_read_only') = 'on' as read_only, pg_is_in_recovery() as in_recovery${sessionLock}`,
  );
  const [row] = result;
  if (!row) throw new MigrateError("INTERNAL", "The session probe returned no row.");
  // postgres.js keeps the BackendKeyData of the connection on each result (`state`).
  const startupPid = (result as unknown as { state?: { pid?: number | null } }).state?.pid ?? null;
  return {
    port: row.port,
    pid: row.pid,
    direct: startupPid === row.pid,
    locked: row.locked,
    version: row.version,
    canCreate: row.can_create,
    role: row.role,
    schema: row.schema,
    readOnly: row.read_only,
    inRecovery: row.in_recovery,
  };
}

/** For `plan`, which takes no lock: only the privileges the probe would report. */
export async function probeCreateGrant(sql: Sql): Promise<Pick<SessionProbe, "canCreate" | "role" | "schema">> {
  const [row] = await sql.unsafe<{ can_create: boolean; role: string; schema: string | null }[]>(
    "select has_schema_privilege(coalesce(current_schema(), 'public'), 'CREATE') as can_create, current_user as role, current_schema() as schema",
  );
  if (!row) throw new MigrateError("INTERNAL", "The privilege probe returned no row.");
  return { canCreate: row.can_create, role: row.role, schema: row.schema };
}

/**
 * auto takes the session lock only on a session the probe proved direct;
 * anything else (a pooler, or whatever cannot be told apart from one) gets
 * transaction-level locks, which are correct either way.
 */
export function chooseLockMode(requested: "auto" | LockMode, probe: SessionProbe, log: Logger): LockMode {
  if (requested === "session" && !probe.direct) {
    log.warn(
      "--lock-mode session through a connection pooler: this is safe only if the pooler gives each client its own server connection for the whole session (PgBouncer pool_mode = session); in transaction pooling the session lock stays on a pooled server connection",
      { event: "lock_mode", lock_mode: "session" },
    );
  }
  if (requested !== "auto") return requested;
  if (probe.direct) return "session";
  log.info(
    `backend ${probe.pid} answered, but the connection was opened with another backend's key: a connection pooler (PgBouncer?) is in between, so each migration takes a transaction-level lock instead of one session lock`,
    { event: "lock_mode", lock_mode: "transaction" },
  );
  return "transaction";
}

export function missingCreateGrant(probe: Pick<SessionProbe, "role" | "schema">): MigrateError {
  const schema = probe.schema ?? "public";
  return new MigrateError(
    "DB_PERMISSION_DENIED",
    `The database role "${probe.role}" may not create tables in schema ${schema}, which the migrations (and the tracking table) need. Nothing was applied. Run st44-migrate as the role that owns the schema, or grant it: GRANT CREATE ON SCHEMA ${schema} TO "${probe.role}"; (the API can keep a less privileged role: it only needs SELECT on schema_migrations for the health check).`,
  );
}

/** ROLLBACK after a failure, unless the connection is gone (the server rolled back already). */
export async function rollbackAfter(session: MigrationSession, error: unknown): Promise<void> {
  if (isConnectionFailure(error)) {
    session.connection.lost = true;
    return;
  }
  await session.db.unsafe("rollback").catch(() => {});
}

/**
 * Runs one query (one or more statements), cancelling it server-side when the
 * run is aborted (SIGTERM). A COPY ... TO STDOUT makes postgres.js answer with
 * a stream of its data: drained (the data is of no use here), so the query is
 * over when this returns and the connection free for the next.
 */
export async function runCancellable(session: MigrationSession, sql: string): Promise<unknown> {
  const query = session.db.unsafe(sql);
  const cancel = (): void => {
    void query.cancel();
  };
  session.signal?.addEventListener("abort", cancel, { once: true });
  try {
    const result: unknown = await query;
    if (isStream(result)) {
      await drain(result);
      return [];
    }
    return result;
  } finally {
    session.signal?.removeEventListener("abort", cancel);
  }
}

interface CopyStream {
  on(event: "data" | "end" | "error" | "close", listener: (value?: unknown) => void): unknown;
  resume(): unknown;
}

function isStream(result: unknown): result is CopyStream {
  return !Array.isArray(result) && typeof (result as { resume?: unknown } | null)?.resume === "function";
}

/**
 * Reads a COPY's data to its end in flowing mode: postgres.js pauses the
 * socket when the stream's buffer is full and resumes it from read(), which
 * flowing mode keeps calling (pulling through an async iterator stalled once
 * in the full suite under load).
 */
function drain(stream: CopyStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on("data", () => {});
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
    stream.on("error", (error) => reject(error));
    stream.resume();
  });
}

/**
 * BEGIN and this run's settings for the transaction, as one simple-protocol
 * query text (more statements may follow in the same query).
 */
export function beginSql(session: MigrationSession): string {
  const settings = [
    lockTimeoutSql(session.lockTimeoutMs),
    `set local statement_timeout = ${Math.max(0, Math.round(session.statementTimeoutMs))}`,
    // A client that dies (SIGKILL) is noticed within a second even during a long statement, so its lock goes too.
    ...(session.checksClientConnection ? ["set local client_connection_check_interval = 1000"] : []),
  ];
  return `begin; ${settings.join("; ")}`;
}

/**
 * Runs `work` in one transaction with the run's settings and, behind a
 * pooler, the transaction-level migration lock; rolls back on failure.
 */
export async function inMigrationTransaction<T>(session: MigrationSession, work: () => Promise<T>): Promise<T> {
  try {
    await session.db.unsafe(beginSql(session));
    if (session.lockMode === "transaction") await takeTransactionLock(session.db, session.lockWaitMs, session.lockTimeoutMs);
    const result = await work();
    await session.db.unsafe("commit");
    return result;
  } catch (error) {
    await rollbackAfter(session, error);
    throw error;
  }
}
