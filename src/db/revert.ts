import { type SqlSource, type StepProgress, migrationFailure, outcomes, serverPosition } from "../core/failure-report.ts";
import { interruptedError } from "../core/interrupt.ts";
import { blankTransactionControl } from "../core/sql-lexer.ts";
import { registeredSecrets } from "../log.ts";
import { isConnectionFailure } from "./connection.ts";
import { type MigrationSession, inMigrationTransaction, runCancellable } from "./session.ts";
import { forgetRow } from "./tracking.ts";

/** One step of down: the SQL that undoes a migration, and where it was read from. */
export interface RevertStep {
  readonly key: string;
  readonly sql: string;
  readonly source: SqlSource;
  readonly sourceOffset: number;
}

/** Undoes one applied migration: its down SQL and the removal of its row, in one transaction. */
export async function revertMigration(session: MigrationSession, step: RevertStep, progress: StepProgress): Promise<number> {
  if (session.signal?.aborted) throw interruptedError(session.signal);
  const { text } = blankTransactionControl(step.sql);
  try {
    return await inMigrationTransaction(session, async () => {
      const started = performance.now();
      await runCancellable(session, text);
      await forgetRow(session.db, step.key);
      return Math.round(performance.now() - started);
    });
  } catch (error) {
    if (session.signal?.aborted) throw interruptedError(session.signal);
    throw migrationFailure(error, {
      source: step.source,
      queryOffset: step.sourceOffset,
      position: serverPosition(error),
      outcome: outcomes.rollbackStepUndone(),
      progress,
      connectionLost: isConnectionFailure(error),
      secrets: registeredSecrets(),
    });
  }
}
