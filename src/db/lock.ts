import type postgres from "postgres";
import { MigrateError } from "../core/errors.ts";
import type { Logger } from "../log.ts";

/**
 * The advisory lock key ("St44mig" as bytes). Advisory locks are scoped to
 * one database, so every database has its own migration lock.
 */
export const MIGRATION_LOCK_KEY = "23558744797145447";

type Reserved = postgres.ReservedSql<Record<string, never>>;

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
    if (signal?.aborted) throw new MigrateError("INTERRUPTED", `Stopped by ${String(signal.reason)} while waiting for the migration lock; nothing was applied.`, { exitCode: signal.reason === "SIGINT" ? 130 : 143 });
    // The key is a constant: a literal keeps this to one round trip (a parameter needs a describe first).
    const [row] = await db.unsafe<{ locked: boolean }[]>(`select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked`);
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
