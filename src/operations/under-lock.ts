import { buildInfo, hostName } from "../build-info.ts";
import { interruptedError } from "../core/interrupt.ts";
import { type Plan, planMigrations } from "../core/plan.ts";
import { type Reserved, onConnectionClosed } from "../db/connection.ts";
import { isConnectionFailure, readOnlyError } from "../db/connection-failures.ts";
import { acquireMigrationLock, lockTimeoutSql, releaseMigrationLock, transactionLockSql } from "../db/lock.ts";
import { type MigrationSession, type SessionProbe, chooseLockMode, inMigrationTransaction, missingCreateGrant, probeSession } from "../db/session.ts";
import { versionKey } from "../core/version.ts";
import { createAndReadTracking, ensureTrackingTable } from "../db/tracking.ts";
import { moveFormerRows as moveTrackingRows } from "../db/tracking-rows.ts";
import type { MigratorOptions, ReadState } from "./options.ts";
import { appliedRows, readPlan, readPlanFrom, waitAndReadPlan } from "./read-plan.ts";

export interface Locked {
  readonly session: MigrationSession;
  /** The state read under the lock: another runner may have changed it while we waited. */
  readonly plan: Plan;
}

/**
 * The step every writing operation shares: on a dedicated connection, learn
 * the session and take the migration lock (one session lock, or one per
 * transaction behind a pooler), create or adopt the tracking table, read
 * the state again under the lock, run `work`, and release the lock.
 * `first` is the state read before, if the caller already read it; without
 * it, it is read here (that read also opens the pool's first connection).
 */
export async function underMigrationLock<T>(options: MigratorOptions, work: (locked: Locked) => Promise<T>, first?: ReadState): Promise<T> {
  const seen = first ?? (await waitAndReadPlan(options));
  const signal = options.interruptSignal?.();
  if (signal?.aborted) throw interruptedError(signal);
  const db = (await options.sql.reserve()) as Reserved;
  const connection = { lost: false };
  // While the lock is waited for, the reserved connection is the pool's only open one: a close is its close.
  // Later a close may be the blocker watcher's; taking it for ours only skips the unlock, and the exit that
  // follows ends the connection, which releases the lock as well.
  const lost = new AbortController();
  const stopWatching = onConnectionClosed(options.sql, () => {
    connection.lost = true;
    lost.abort(new Error("the server closed the connection"));
  });
  let holdsSessionLock = false;
  try {
    const requested = options.lockMode ?? "auto";
    const probe = await probeSession(db, requested);
    holdsSessionLock = probe.locked === true;
    // Every caller is about to write: a session that cannot is refused before the lock and the tracking table.
    if (probe.readOnly) throw readOnlyError(probe.inRecovery);
    const lockMode = chooseLockMode(requested, probe, options.log);
    const session: MigrationSession = {
      db,
      backendPid: probe.pid,
      pool: options.sql,
      lockMode,
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
      statementTimeoutMs: options.statementTimeoutMs ?? 0,
      lockWaitMs: options.lockWaitMs,
      checksClientConnection: probe.version >= 140000,
      runner: `st44-migrate ${buildInfo.version} (${buildInfo.commit}) on ${hostName()}`,
      log: options.log,
      signal,
      connection,
    };
    if (lockMode === "session" && !holdsSessionLock) {
      try {
        await acquireMigrationLock(db, options.lockWaitMs, options.log, { interrupt: signal, lost: lost.signal });
      } catch (error) {
        // A query cut off by the wait's timer may still be in flight: nothing more goes on this connection.
        if (isConnectionFailure(error)) connection.lost = true;
        throw error;
      }
      holdsSessionLock = true;
    }
    const plan = await readUnderLock(options, session, probe, seen);
    return await work({ session, plan });
  } finally {
    stopWatching();
    // A lost connection took its session lock with it.
    if (holdsSessionLock && !connection.lost) await releaseMigrationLock(db).catch(() => {});
    db.release();
  }
}

/** Reads the state again under the lock, creating or adopting the tracking table on the way. */
async function readUnderLock(options: MigratorOptions, session: MigrationSession, probe: SessionProbe, seen: ReadState): Promise<Plan> {
  const { db, lockMode } = session;
  const { migrations } = options;
  // A missing table seen before the lock is created and read in one round trip.
  const before =
    seen.tracking.kind === "missing" && lockMode === "session" && probe.canCreate
      ? await readPlanFrom(createAndReadTracking(db), migrations)
      : await readPlan(db, migrations);
  let plan = before.plan;
  const { tracking } = before;
  if (tracking.kind !== "ready") {
    if (tracking.kind === "missing" && !probe.canCreate) throw missingCreateGrant(probe);
    if (tracking.kind !== "missing") {
      const from = tracking.kind === "golang-migrate" ? "golang-migrate's" : tracking.madeBy === "dbmate" ? "dbmate's" : "the existing";
      options.log.info(`adopting ${from} schema_migrations table (${before.plan.applied.length} applied migrations kept)`, {
        event: "adopt_tracking_table",
        from: tracking.kind === "golang-migrate" ? "golang-migrate" : tracking.madeBy,
        rows: before.plan.applied.length,
      });
    }
    const lockSql = lockMode === "transaction" ? transactionLockSql(session.lockWaitMs, session.lockTimeoutMs) : lockTimeoutSql(session.lockTimeoutMs);
    const adoption =
      tracking.kind === "golang-migrate" ? { kind: tracking.kind, derivedRows: appliedRows(tracking, migrations), upTo: tracking.upTo } : { kind: tracking.kind };
    await ensureTrackingTable(db, adoption, lockSql);
    // Under the session lock nobody else writes the table: its rows are those read before creating or adopting it.
    plan = lockMode === "session" ? planMigrations(migrations, appliedRows(tracking, migrations)) : (await readPlan(db, migrations)).plan;
  }
  if (plan.formerRows.length > 0) plan = await moveFormerRows(options, session, plan);
  if (plan.pending.length > 0 && !probe.canCreate) throw missingCreateGrant(probe);
  return plan;
}

/** Gives rows recorded under a former identity the renumbered file's own version, and reads the result. */
async function moveFormerRows(options: MigratorOptions, session: MigrationSession, plan: Plan): Promise<Plan> {
  const entryOf = new Map(plan.entries.flatMap((entry) => (entry.migration ? [[entry.migration, entry] as const] : [])));
  // Which files have a row under their own number that is really theirs (not one recorded for another file).
  const ownRow = new Set(
    plan.entries.flatMap((entry) => (entry.row && entry.migration && entry.state !== "mismatched" && versionKey(entry.row.version) === entry.key ? [entry.key] : [])),
  );
  const moves = plan.formerRows.flatMap(({ migration, row }) => {
    const sameNumber = versionKey(row.version) === migration.key;
    // A renamed file that kept its number: the row stays, under the new name.
    if (sameNumber) return [{ fromVersion: row.version, fromName: row.name, migration, drop: false }];
    // A row under the file's own number that records another file: leave both alone (up refuses until it is sorted out).
    if (entryOf.get(migration)?.state === "mismatched") return [];
    const drop = ownRow.has(migration.key);
    ownRow.add(migration.key);
    return [{ fromVersion: row.version, fromName: row.name, migration, drop }];
  });
  if (moves.length === 0) return plan;
  await inMigrationTransaction(session, () => moveTrackingRows(session.db, moves));
  for (const move of moves) {
    options.log.info(`the row of ${move.fromVersion} (${move.fromName ?? "no name"}) is ${move.migration.fileName}'s (formerly:); ${move.drop ? "dropped, as it has a row of its own" : `recorded as ${move.migration.version}_${move.migration.name} now`}`, {
      event: "row_renumbered",
      from: move.fromVersion,
      to: move.migration.version,
    });
  }
  return (await readPlan(session.db, options.migrations)).plan;
}
