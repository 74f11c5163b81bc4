import { randomUUID } from "node:crypto";
import { MigrateError } from "../core/errors.ts";
import { type StepProgress, assertTerminated, migrationFailure, outcomes, serverPosition } from "../core/failure-report.ts";
import { interruptedError } from "../core/interrupt.ts";
import type { Migration } from "../core/migration-set.ts";
import { blankTransactionControl } from "../core/sql-lexer.ts";
import { type BlockerWatch, NO_WATCH, watchBlockers } from "./blockers.ts";
import { registeredSecrets } from "../log.ts";
import { isConnectionFailure, lastRowSet } from "./connection.ts";
import { takeTransactionLock } from "./lock.ts";
import { composeOneQuery } from "./one-query.ts";
import { type MigrationSession, beginSql, rollbackAfter, runCancellable } from "./session.ts";
import { applyStatementByStatement } from "./apply-statements.ts";
import { isRecorded, recordAppliedSql, rowWasRecorded } from "./tracking.ts";

/**
 * Applies one migration and returns its duration in ms, or null when another
 * runner applied it first (transaction mode). A transactional migration runs
 * with its tracking row in one transaction: applied entirely or not at all.
 */
export async function applyMigration(session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number | null> {
  if (session.signal?.aborted) throw interruptedError(session.signal);
  return migration.options.transaction
    ? applyInTransaction(session, migration, progress)
    : applyStatementByStatement(session, migration, progress);
}

/**
 * The guard: a transaction-local setting that vanishes with a COMMIT or
 * ROLLBACK the file ran itself, so the tracking row is written only inside
 * the transaction the runner opened.
 */
const GUARD_SETTING = "st44_migrate.guard";
const STARTED_SETTING = "st44_migrate.started";

/** BEGIN with the run's settings, the guard and the start time; its last row holds the backend's pid. */
function beginWithGuardSql(session: MigrationSession, guard: string): string {
  return `${beginSql(session)}; select set_config('${GUARD_SETTING}', '${guard}', true), set_config('${STARTED_SETTING}', clock_timestamp()::text, true), pg_backend_pid() as pid`;
}

/** The tracking row's statements and COMMIT, ending the migration's transaction. */
function finishSql(session: MigrationSession, migration: Migration, guard: string): string {
  const guardHolds = `current_setting('${GUARD_SETTING}', true) = '${guard}'`;
  return [...recordAppliedSql(migration, session.runner, guardHolds, STARTED_SETTING), "commit"].join(";\n");
}

function endedTransaction(migration: Migration): MigrateError {
  return new MigrateError(
    "MIGRATION_ENDED_TRANSACTION",
    `${migration.fileName} ended the runner's transaction itself (a COMMIT or ROLLBACK the runner could not remove, for example inside a procedure call), so part of it may already be committed and it was not recorded. Check the schema by hand, remove the transaction control from the file, and if the file needs statements outside a transaction put "-- migrate:up transaction:false" on its up marker.`,
  );
}

/** How a transactional migration reached the server: what came back, and where an error points in the file. */
interface Sent {
  readonly results: unknown;
}

class SendFailure {
  constructor(
    readonly error: unknown,
    /** The server's position mapped into the up part; null when it points elsewhere. */
    readonly position: number | null,
  ) {}
}

/**
 * Session mode: one round trip. BEGIN with this run's settings, the file, the
 * tracking row and COMMIT as one simple-protocol query. The server stops at
 * the first error and leaves the transaction aborted (rolled back by the
 * caller). One message, not several queued ones: postgres.js 3.4.9 crashes on
 * a queued write when the server ends the connection (a TypeError from a
 * timer). assertTerminated made sure the file closes every quote and comment
 * it opens, so the finish cannot end up inside one.
 */
async function sendInOneQuery(session: MigrationSession, migration: Migration, text: string, guard: string, watch: (pid: number) => void): Promise<Sent> {
  const query = composeOneQuery(`${beginWithGuardSql(session, guard)};\n`, text, finishSql(session, migration, guard));
  watch(session.backendPid);
  try {
    return { results: await runCancellable(session, query.text) };
  } catch (error) {
    throw new SendFailure(error, query.positionInFile(serverPosition(error)));
  }
}

/**
 * Transaction mode (behind a pooler): the transaction-level lock and the
 * re-check of the row come between BEGIN and the file, so each step is its
 * own query. "skipped" when another runner recorded the migration meanwhile.
 */
async function sendStepwise(session: MigrationSession, migration: Migration, text: string, guard: string, watch: (pid: number) => void): Promise<Sent | "skipped"> {
  const { db } = session;
  try {
    const began = await db.unsafe(beginWithGuardSql(session, guard));
    watch(lastRowSet<{ pid: number }>(began)[0]?.pid ?? 0);
    await takeTransactionLock(db, session.lockWaitMs, session.lockTimeoutMs);
    if (await isRecorded(db, migration.key)) return "skipped";
  } catch (error) {
    throw new SendFailure(error, null);
  }
  try {
    await runCancellable(session, text);
  } catch (error) {
    throw new SendFailure(error, serverPosition(error));
  }
  try {
    return { results: await db.unsafe(finishSql(session, migration, guard)) };
  } catch (error) {
    throw new SendFailure(error, null);
  }
}

async function applyInTransaction(session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number | null> {
  // A legacy file's own BEGIN/COMMIT would end our transaction early; blank them.
  const { text, unterminated } = blankTransactionControl(migration.up);
  assertTerminated(migration, unterminated, registeredSecrets());
  const guard = randomUUID();
  let watch: BlockerWatch = NO_WATCH;
  const startWatching = (pid: number): void => {
    watch = watchBlockers(session.pool, pid, migration.fileName, session.log);
  };
  const started = performance.now();
  try {
    const sent =
      session.lockMode === "transaction"
        ? await sendStepwise(session, migration, text, guard, startWatching)
        : await sendInOneQuery(session, migration, text, guard, startWatching);
    watch.stop();
    if (sent === "skipped") {
      await session.db.unsafe("rollback");
      session.log.info(`${migration.fileName} was applied by another runner meanwhile; skipped`, { event: "migration_skipped", version: migration.version });
      return null;
    }
    // The row of RETURNING: none when the guard was gone.
    if (!rowWasRecorded(sent.results)) throw endedTransaction(migration);
    return Math.round(performance.now() - started);
  } catch (thrown) {
    const blockers = watch.stop();
    const { error, position } = thrown instanceof SendFailure ? thrown : new SendFailure(thrown, null);
    await rollbackAfter(session, error);
    if (session.signal?.aborted) throw interruptedError(session.signal);
    throw migrationFailure(error, {
      source: migration,
      queryOffset: migration.upOffset,
      position,
      outcome: outcomes.rolledBack(migration.fileName),
      progress,
      connectionLost: isConnectionFailure(error),
      secrets: registeredSecrets(),
      blockers,
    });
  }
}
