import { MigrateError } from "../core/errors.ts";
import type { Plan } from "../core/plan.ts";
import { printable } from "../core/printable.ts";
import { type RollbackStep, type RollbackTarget, describeStep, planRollback, sameSteps } from "../core/rollback.ts";
import { revertMigration, statementsNeedSessionLock } from "../db/revert.ts";
import { readStoredDown } from "../db/tracking.ts";
import type { Queryable } from "../db/connection.ts";
import type { AppliedMigration, MigratorOptions, ReadState } from "./options.ts";
import { readPlan, waitAndReadPlan } from "./read-plan.ts";
import { underMigrationLock } from "./under-lock.ts";

export interface DownResult {
  readonly reverted: readonly (AppliedMigration & { readonly source: RollbackStep["source"] })[];
  readonly plan: Plan;
}

async function planFrom(db: Queryable, state: ReadState, target: RollbackTarget): Promise<RollbackStep[]> {
  return planRollback(state.plan, target, await readStoredDown(db, state.tracking.kind));
}

function changedSinceConfirmed(confirmed: readonly RollbackStep[], now: readonly RollbackStep[]): MigrateError {
  const list = (steps: readonly RollbackStep[]) => (steps.length === 0 ? "nothing" : steps.map(describeStep).join("; "));
  return new MigrateError(
    "CONFIRMATION_REQUIRED",
    `What down would roll back changed after it was confirmed (another runner migrated meanwhile): confirmed ${list(confirmed)}; now ${list(now)}. Nothing was rolled back. Run st44-migrate status, then down again to confirm what is there now.`,
  );
}

/**
 * `down`: undoes applied migrations newest first, each in its own transaction
 * with its row removed. `confirm` sees the steps before anything runs and may
 * refuse (it throws); it is asked before the migration lock is taken, so a
 * prompt left open blocks no deploy. Under the lock the steps are planned
 * again and must be those confirmed. Down SQL comes from this build's files
 * when they match what was applied, else from the tracking table.
 */
export async function migrateDown(options: MigratorOptions, target: RollbackTarget, confirm: (steps: readonly RollbackStep[]) => Promise<void>): Promise<DownResult> {
  const first = await waitAndReadPlan(options);
  const confirmed = await planFrom(options.sql, first, target);
  if (confirmed.length === 0) return { reverted: [], plan: first.plan };
  await confirm(confirmed);
  return underMigrationLock(
    options,
    async ({ session, plan }) => {
      const steps = await planFrom(session.db, { plan, tracking: { kind: "ready", rows: [] } }, target);
      if (!sameSteps(confirmed, steps)) throw changedSinceConfirmed(confirmed, steps);
      const outside = steps.filter((step) => !step.transaction);
      if (session.lockMode === "transaction" && outside.length > 0) {
        throw statementsNeedSessionLock(outside.map((step) => `${step.entry.version}_${step.entry.name}`));
      }
      const reverted: (AppliedMigration & { source: RollbackStep["source"] })[] = [];
      for (const [index, step] of steps.entries()) {
        const label = `${step.entry.version}_${step.entry.name}`;
        const durationMs = await revertMigration(
          session,
          { label, row: step.row, sql: step.sql, transaction: step.transaction, source: { fileName: step.sourceName, text: step.sourceText }, sourceOffset: step.sourceOffset },
          { before: index, after: steps.length - index - 1 },
        );
        if (durationMs === null) continue;
        reverted.push({ version: step.entry.version, name: step.entry.name, durationMs, source: step.source });
        options.log.success(`rolled back ${printable(label)} in ${durationMs} ms${step.source === "stored" ? " (down SQL stored in schema_migrations)" : ""}`, {
          event: "migration_reverted",
          version: step.entry.version,
          source: step.source,
          duration_ms: durationMs,
        });
      }
      return { reverted, plan: (await readPlan(session.db, options.migrations)).plan };
    },
    first,
  );
}
