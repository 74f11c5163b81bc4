import type { Plan } from "../core/plan.ts";
import { type RollbackStep, type RollbackTarget, planRollback } from "../core/rollback.ts";
import { revertMigration } from "../db/revert.ts";
import { readStoredDown } from "../db/tracking.ts";
import type { AppliedMigration, MigratorOptions } from "./options.ts";
import { readPlan } from "./read-plan.ts";
import { underMigrationLock } from "./under-lock.ts";

export interface DownResult {
  readonly reverted: readonly (AppliedMigration & { readonly source: RollbackStep["source"] })[];
  readonly plan: Plan;
}

/**
 * `down`: undoes applied migrations newest first, each in its own transaction
 * with its row removed. `confirm` sees the steps before anything runs and may
 * refuse (it throws). Down SQL comes from this build's files, else from the
 * tracking table (migrations applied by a newer release).
 */
export async function migrateDown(options: MigratorOptions, target: RollbackTarget, confirm: (steps: readonly RollbackStep[]) => Promise<void>): Promise<DownResult> {
  return underMigrationLock(options, async ({ session, plan }) => {
    const steps = planRollback(plan, target, await readStoredDown(session.db));
    if (steps.length === 0) return { reverted: [], plan };
    await confirm(steps);
    const reverted: (AppliedMigration & { source: RollbackStep["source"] })[] = [];
    for (const [index, step] of steps.entries()) {
      const durationMs = await revertMigration(
        session,
        { key: step.entry.key, sql: step.sql, source: { fileName: step.sourceName, text: step.sourceText }, sourceOffset: step.sourceOffset },
        { before: index, after: steps.length - index - 1 },
      );
      reverted.push({ version: step.entry.version, name: step.entry.name, durationMs, source: step.source });
      options.log.success(`rolled back ${step.entry.version}_${step.entry.name} in ${durationMs} ms${step.source === "stored" ? " (down SQL stored in schema_migrations)" : ""}`, {
        event: "migration_reverted",
        version: step.entry.version,
        source: step.source,
        duration_ms: durationMs,
      });
    }
    return { reverted, plan: (await readPlan(session.db, options.migrations)).plan };
  });
}
