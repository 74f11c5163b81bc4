import { MigrateError } from "../core/errors.ts";
import { interruptedError } from "../core/interrupt.ts";
import type { Logger } from "../log.ts";
import type { Queryable, Reserved } from "./connection.ts";

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

/**
 * Takes the session-level migration lock on this reserved connection. It
 * polls pg_try_advisory_lock instead of blocking, so a waiter holds no
 * snapshot that a CREATE INDEX CONCURRENTLY of the holder would wait for,
 * and so the wait can be bounded and explained in the logs.
 */
export async function acquireMigrationLock(db: Reserved, waitMs: number, log: Logger, signal?: AbortSignal): Promise<void> {
  const started = Date.now();
  let delay = 50;
  let nextReport = 0;
  for (;;) {
    if (signal?.aborted) throw interruptedError(signal, "lock-wait");
    // The key is a constant: a literal keeps this to one round trip (a parameter needs a describe first).
    const [row] = await db.unsafe<{ locked: boolean }[]>(`select ${tryMigrationLockSql} as locked`);
    if (row?.locked) return;
    const waited = Date.now() - started;
    if (waited >= waitMs) {
      const holder = await findHolder(db);
      throw new MigrateError(
        "LOCK_TIMEOUT",
        `Gave up after ${(waited / 1000).toFixed(1)} s waiting for the migration lock, held by ${describe(holder)}. Another st44-migrate is applying migrations to this database; let it finish, or if it is stuck end it (SELECT pg_terminate_backend(${holder?.pid ?? "<pid>"})), or raise --lock-wait.`,
      );
    }
    if (waited >= nextReport) {
      const holder = await findHolder(db);
      log.info(`waiting for the migration lock held by ${describe(holder)}`, {
        event: "lock_wait",
        holder_pid: holder?.pid ?? null,
        waited_ms: waited,
      });
      nextReport = waited + 5000;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(waitMs - waited, 1))));
    delay = Math.min(delay * 2, 1000);
  }
}

export async function releaseMigrationLock(db: Reserved): Promise<void> {
  await db.unsafe(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
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
  try {
    await db.unsafe(transactionLockSql(lockWaitMs, lockTimeoutMs));
  } catch (error) {
    if ((error as { code?: string }).code !== "55P03") throw error;
    throw new MigrateError(
      "LOCK_TIMEOUT",
      `Gave up after ${(lockWaitMs / 1000).toFixed(1)} s waiting for the migration lock (transaction-level, behind a connection pooler): another st44-migrate is applying migrations. Let it finish, or raise --lock-wait.`,
      { cause: error },
    );
  }
}
