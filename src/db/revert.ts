import { MigrateError } from "../core/errors.ts";
import { type FailureOutcome, type SqlSource, type StepProgress, migrationFailure, outcomes, serverPosition } from "../core/failure-report.ts";
import { interruptedError } from "../core/interrupt.ts";
import { printable } from "../core/printable.ts";
import type { RowIdentity } from "../core/rollback.ts";
import { blankTransactionControl, scanSql } from "../core/sql-lexer.ts";
import { registeredSecrets } from "../log.ts";
import { isConnectionFailure } from "./connection-failures.ts";
import { lockTimeoutSql } from "./lock.ts";
import { type MigrationSession, inMigrationTransaction, rollbackAfter, runCancellable } from "./session.ts";
import { forgetRow, isRecorded } from "./tracking-rows.ts";

/** One step of down: the SQL that undoes a migration, where it was read from, and the row it removes. */
export interface RevertStep {
  /** "016_create_task_completions_table", for messages. */
  readonly label: string;
  readonly row: RowIdentity;
  readonly sql: string;
  /** false: statement by statement outside a transaction (`-- migrate:down transaction:false`). */
  readonly transaction: boolean;
  readonly source: SqlSource;
  readonly sourceOffset: number;
}

/** transaction:false: the statements before the failing one stay undone, and the row stays. */
const partlyUndone = (label: string): FailureOutcome => ({
  step: `the down part of ${label} runs outside a transaction (transaction:false), so the statements before the failing one stay undone while the migration stays recorded as applied; make them safe to repeat (IF EXISTS) before running down again`,
  before: "were rolled back before it",
  after: "after it were not",
});

/**
 * Undoes one applied migration; returns its duration in ms, or null when
 * another runner rolled it back first (behind a pooler, where steps are not
 * serialised by a session lock). A transactional step removes the row and
 * runs the down SQL in one transaction.
 */
export async function revertMigration(session: MigrationSession, step: RevertStep, progress: StepProgress): Promise<number | null> {
  if (session.signal?.aborted) throw interruptedError(session.signal);
  return step.transaction ? revertInTransaction(session, step, progress) : revertStatementByStatement(session, step, progress);
}

/** Raised inside the step's transaction to roll it back when its row is no longer the planned one. */
class RowGone {
  constructor(readonly reappliedMeanwhile: boolean) {}
}

async function revertInTransaction(session: MigrationSession, step: RevertStep, progress: StepProgress): Promise<number | null> {
  const { text } = blankTransactionControl(step.sql);
  try {
    return await inMigrationTransaction(session, async () => {
      const started = performance.now();
      // First, after the transaction-level lock: behind a pooler, another runner may have undone it since we planned.
      if (!(await forgetRow(session.db, step.row))) throw new RowGone(await isRecorded(session.db, step.row.key));
      await runCancellable(session, text);
      return Math.round(performance.now() - started);
    });
  } catch (error) {
    if (error instanceof RowGone) return changedMeanwhile(session, step, error);
    if (session.signal?.aborted) throw interruptedError(session.signal);
    throw failure(error, step, progress, outcomes.rollbackStepUndone());
  }
}

function changedMeanwhile(session: MigrationSession, step: RevertStep, gone: RowGone): null {
  if (gone.reappliedMeanwhile) {
    throw new MigrateError(
      "CONFIRMATION_REQUIRED",
      `${printable(step.label)} was rolled back and applied again by another runner while this one waited, so its row is not the one this run planned to undo. Nothing of it was rolled back. Run st44-migrate status, then down again if it should still go.`,
    );
  }
  session.log.info(`${printable(step.label)} was rolled back by another runner meanwhile; skipped`, { event: "migration_revert_skipped", key: step.row.key });
  return null;
}

/**
 * `-- migrate:down transaction:false`: each statement on its own (DROP INDEX
 * CONCURRENTLY refuses a transaction), then the row in a transaction of its
 * own. Needs the session lock, which also keeps the row as planned.
 */
async function revertStatementByStatement(session: MigrationSession, step: RevertStep, progress: StepProgress): Promise<number> {
  const { db } = session;
  if (session.lockMode === "transaction") throw statementsNeedSessionLock([step.label]);
  const { statements } = scanSql(step.sql);
  await db.unsafe(`${lockTimeoutSql(session.lockTimeoutMs, "session")}; set statement_timeout = ${Math.round(session.statementTimeoutMs)}`);
  const started = performance.now();
  for (const statement of statements) {
    try {
      await runCancellable(session, step.sql.slice(statement.start, statement.end));
    } catch (error) {
      if (session.signal?.aborted) throw interruptedError(session.signal);
      if (isConnectionFailure(error)) session.connection.lost = true;
      throw failure(error, step, progress, partlyUndone(printable(step.label)), statement.start);
    }
  }
  const durationMs = Math.round(performance.now() - started);
  await db.unsafe("begin");
  try {
    await forgetRow(db, step.row);
    await db.unsafe("commit");
  } catch (error) {
    await rollbackAfter(session, error);
    throw error;
  }
  return durationMs;
}

/** Refused before anything is undone: behind a pooler the statements could run on another connection than the lock's. */
export function statementsNeedSessionLock(labels: readonly string[]): MigrateError {
  return new MigrateError(
    "LOCK_MODE_UNSUPPORTED",
    `The down part of ${labels.map(printable).join(", ")} runs outside a transaction (transaction:false), which needs the session-level migration lock, and this connection goes through a pooler in transaction mode where session locks are unsafe. Nothing was rolled back. Run st44-migrate down against PostgreSQL directly (its own host and port, not PgBouncer's), or pass --lock-mode session if this connection is direct after all.`,
  );
}

function failure(error: unknown, step: RevertStep, progress: StepProgress, outcome: FailureOutcome, statementOffset = 0): MigrateError {
  return migrationFailure(error, {
    source: step.source,
    queryOffset: step.sourceOffset + statementOffset,
    position: serverPosition(error),
    outcome,
    progress,
    connectionLost: isConnectionFailure(error),
    secrets: registeredSecrets(),
  });
}
