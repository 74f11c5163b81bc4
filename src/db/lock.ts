import { MigrateError } from "../core/errors.ts";
import { interruptedError } from "../core/interrupt.ts";
import type { Logger } from "../log.ts";
import { KEEPALIVE_IDLE_SECONDS, type Queryable, type Reserved } from "./connection.ts";
import { isConnectionFailure } from "./connection-failures.ts";

/**
 * The advisory lock key ("St44mig" as bytes). Advisory locks are scoped to
 * one database, so every database has its own migration lock.
 */
export const MIGRATION_LOCK_KEY = "23558744797145447";

/**
 * "session": one session advisory lock held for the whole run (a direct
 * connection). "transaction": each write transaction takes a
 * transaction-level advisory lock, which stays correct behind a pooler in
 * transaction mode (PgBouncer), where session state does not survive COMMIT.
 */
export type LockMode = "session" | "transaction";

/** An expression that tries the session lock once (the session probe embeds it). */
export const tryMigrationLockSql = `pg_try_advisory_lock(${MIGRATION_LOCK_KEY})`;

/**
 * Statements that make the server probe a silent client with TCP keepalives
 * (every 10 s after 30 s idle, 3 tries), for a session that holds the
 * migration lock: a runner whose host vanished (half-open TCP) loses the
 * lock after about a minute instead of the server's default two hours.
 * Session state, so only for a direct session.
 */
export const SERVER_KEEPALIVE_SQL = `set_config('tcp_keepalives_idle', '${KEEPALIVE_IDLE_SECONDS}', false), set_config('tcp_keepalives_interval', '10', false), set_config('tcp_keepalives_count', '3', false)`;

/**
 * lock_timeout as a statement: for the current transaction only ("local"), or
 * for the session (statements run outside a transaction, transaction:false).
 */
export function lockTimeoutSql(ms: number, scope: "transaction" | "session" = "transaction"): string {
  return `set ${scope === "transaction" ? "local " : ""}lock_timeout = ${Math.max(0, Math.round(ms))}`;
}

interface Holder {
  pid: number;
  application_name: string;
  client_addr: string | null;
  held_for_s: number | null;
}

async function findHolder(db: Reserved): Promise<Holder | null> {
  const rows = await db<Holder[]>`
    select a.pid, a.application_name, host(a.client_addr) as client_addr,
           round(extract(epoch from now() - a.state_change)::numeric, 1)::float8 as held_for_s
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted and l.objsubid = 1
      and l.database = (select oid from pg_database where datname = current_database())
      and ((l.classid::bigint << 32) | l.objid::bigint) = ${MIGRATION_LOCK_KEY}::bigint
    limit 1`;
  return rows[0] ?? null;
}

function describe(holder: Holder | null): string {
  if (!holder) return "another session (it was released while we looked)";
  const from = holder.client_addr ? ` from ${holder.client_addr}` : "";
  return `pid ${holder.pid} (${holder.application_name || "no application name"}${from})`;
}

/** A poll that gets no answer this long means the connection stalled: pg_try_advisory_lock never waits for the lock. */
export const POLL_STALL_MS = 10_000;
/** The least time any one query of the lock wait gets, so a deadline that is (nearly) there still allows an answer. */
const POLL_MIN_MS = 1000;

/** What can end a lock wait besides the lock: SIGTERM, and the client seeing the connection close. */
export interface LockWaitSignals {
  readonly interrupt?: AbortSignal;
  /** Aborted when the reserved connection's socket closed: nothing more may be sent on it. */
  readonly lost: AbortSignal;
}

function stalledError(whatMs: number, waitedMs: number): MigrateError {
  return new MigrateError(
    "DB_UNREACHABLE",
    `The database stopped answering while we waited for the migration lock: a query sent ${(whatMs / 1000).toFixed(1)} s ago got no answer (${(waitedMs / 1000).toFixed(1)} s into the wait). The connection has stalled: a hung proxy or load balancer, a half-open TCP connection, or a frozen server. Nothing was applied. Check the network path to the database and run again; the server drops the stalled session once its TCP keepalives fail (set on the server: tcp_keepalives_idle, tcp_keepalives_interval, tcp_keepalives_count).`,
    { cause: Object.assign(new Error("no answer"), { code: "CONNECTION_STALLED" }) },
  );
}

function lostError(cause: unknown): MigrateError {
  const reason = cause === undefined ? "the socket closed" : ((cause as Error).message ?? String(cause));
  return new MigrateError(
    "DB_UNREACHABLE",
    `The connection to the database was lost while waiting for the migration lock (${reason}): the server ended the session (pg_terminate_backend, a restart or a failover) or the network dropped it. Nothing was applied. Run st44-migrate again (the container's next start does) once the database is back.`,
    { cause },
  );
}

/**
 * Runs one query of the lock wait under its own timer, so a connection that
 * stalls cannot hold the wait past its bound, and SIGTERM or a closed socket
 * end it at once. A query cut off this way may still be in flight: the
 * connection must not be used again (the error says DB_UNREACHABLE, which
 * isConnectionFailure reports as a lost connection).
 */
async function answered<T>(query: Promise<T>, boundMs: number, waitStarted: number, signals: LockWaitSignals): Promise<T> {
  if (signals.lost.aborted) throw lostError(signals.lost.reason);
  query.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cleanups: (() => void)[] = [];
  const ended = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(stalledError(boundMs, Date.now() - waitStarted)), boundMs);
    const onInterrupt = () => reject(interruptedError(signals.interrupt, "lock-wait"));
    const onLost = () => reject(lostError(signals.lost.reason));
    signals.interrupt?.addEventListener("abort", onInterrupt, { once: true });
    signals.lost.addEventListener("abort", onLost, { once: true });
    cleanups.push(() => signals.interrupt?.removeEventListener("abort", onInterrupt), () => signals.lost.removeEventListener("abort", onLost));
  });
  try {
    return await Promise.race([query, ended]);
  } catch (error) {
    if (error instanceof MigrateError) throw error;
    if (isConnectionFailure(error)) throw lostError(error);
    throw error;
  } finally {
    clearTimeout(timer);
    for (const cleanup of cleanups) cleanup();
  }
}

/** A pause between polls that SIGTERM or a closed socket cut short. */
function pause(ms: number, signals: LockWaitSignals): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signals.interrupt?.removeEventListener("abort", done);
      signals.lost.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signals.interrupt?.addEventListener("abort", done, { once: true });
    signals.lost.addEventListener("abort", done, { once: true });
  });
}

/**
 * Takes the session-level migration lock on this reserved connection. It
 * polls pg_try_advisory_lock instead of blocking, so a waiter holds no
 * snapshot that a CREATE INDEX CONCURRENTLY of the holder would wait for,
 * and so the wait can be bounded and explained in the logs. Every query is
 * bounded by its own timer (a stall ends the wait by `waitMs`, or after
 * POLL_STALL_MS), and nothing is sent once the socket closed.
 */
export async function acquireMigrationLock(db: Reserved, waitMs: number, log: Logger, signals: LockWaitSignals): Promise<void> {
  const started = Date.now();
  const bound = () => Math.max(POLL_MIN_MS, Math.min(POLL_STALL_MS, started + waitMs - Date.now()));
  let delay = 50;
  let nextReport = 0;
  for (let poll = 0; ; poll++) {
    if (signals.interrupt?.aborted) throw interruptedError(signals.interrupt, "lock-wait");
    // The key is a constant: a literal keeps this to one round trip (a parameter needs a describe first).
    // The first poll also asks the server for keepalives on this (direct) session, which may come to hold the lock.
    const keepalive = poll === 0 ? `, ${SERVER_KEEPALIVE_SQL}` : "";
    const [row] = await answered(db.unsafe<{ locked: boolean }[]>(`select ${tryMigrationLockSql} as locked${keepalive}`), bound(), started, signals);
    if (row?.locked) return;
    const waited = Date.now() - started;
    if (waited >= waitMs) {
      const holder = await answered(findHolder(db), bound(), started, signals);
      throw new MigrateError(
        "LOCK_TIMEOUT",
        `Gave up after ${(waited / 1000).toFixed(1)} s waiting for the migration lock, held by ${describe(holder)}. Another st44-migrate is applying migrations to this database; let it finish, or if it is stuck end it (SELECT pg_terminate_backend(${holder?.pid ?? "<pid>"})), or raise --lock-wait.`,
      );
    }
    if (waited >= nextReport) {
      const holder = await answered(findHolder(db), bound(), started, signals);
      log.info(`waiting for the migration lock held by ${describe(holder)}`, {
        event: "lock_wait",
        holder_pid: holder?.pid ?? null,
        waited_ms: waited,
      });
      nextReport = waited + 5000;
    }
    await pause(Math.min(delay, Math.max(waitMs - waited, 1)), signals);
    delay = Math.min(delay * 2, 1000);
  }
}

/**
 * Releases the session lock; bounded, since the connection may have stalled
 * since. Unanswered, the lock goes when the process ends the connection.
 */
export async function releaseMigrationLock(db: Reserved): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const release = db.unsafe(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
  release.catch(() => {});
  try {
    await Promise.race([release, new Promise<void>((resolve) => (timer = setTimeout(resolve, POLL_MIN_MS * 2)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Statements that take the migration lock for the current transaction only
 * (behind a pooler), waiting at most `lockWaitMs`, then put lock_timeout back
 * to the run's value for what follows in the transaction.
 */
export function transactionLockSql(lockWaitMs: number, lockTimeoutMs: number): string {
  return `${lockTimeoutSql(Math.max(1, lockWaitMs))}; select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}); ${lockTimeoutSql(lockTimeoutMs)}`;
}

/** Takes the transaction-level migration lock inside an open transaction; LOCK_TIMEOUT after `lockWaitMs`. */
export async function takeTransactionLock(db: Queryable, lockWaitMs: number, lockTimeoutMs: number): Promise<void> {
  const started = Date.now();
  const never = new AbortController().signal;
  try {
    // The server's lock_timeout ends the wait; our timer, a little later, ends it when the connection stalled.
    await answered(db.unsafe(transactionLockSql(lockWaitMs, lockTimeoutMs)), lockWaitMs + POLL_STALL_MS, started, { lost: never });
  } catch (error) {
    if ((error as { code?: string }).code !== "55P03") throw error;
    throw new MigrateError(
      "LOCK_TIMEOUT",
      `Gave up after ${(lockWaitMs / 1000).toFixed(1)} s waiting for the migration lock (transaction-level, behind a connection pooler): another st44-migrate is applying migrations. Let it finish, or raise --lock-wait.`,
      { cause: error },
    );
  }
}
