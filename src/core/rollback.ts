import { MigrateError } from "./errors.ts";
import type { Plan, PlanEntry } from "./plan.ts";
import { compareVersions, isVersion } from "./version.ts";

export type RollbackTarget =
  | { readonly kind: "to"; readonly version: string }
  | { readonly kind: "steps"; readonly steps: number }
  | { readonly kind: "to-known" }
  | { readonly kind: "all" };

export interface RollbackStep {
  readonly entry: PlanEntry;
  /** Where the down SQL comes from: this build's file, or the text stored when it was applied. */
  readonly source: "file" | "stored";
  readonly sql: string;
  /** For error positions: the text the SQL lives in and its offset there. */
  readonly sourceText: string;
  readonly sourceOffset: number;
  readonly sourceName: string;
}

/**
 * Chooses what `down` undoes, newest first, and where each down part comes
 * from. Refuses as a whole, before anything runs, when one of them has no
 * down part. `storedDown` maps a row's version to its stored down SQL.
 */
export function planRollback(plan: Plan, target: RollbackTarget, storedDown: ReadonlyMap<string, string | null>): RollbackStep[] {
  const applied = [...plan.applied].sort((a, b) => compareVersions(b.version, a.version));
  let chosen: PlanEntry[];
  switch (target.kind) {
    case "to":
      if (!isVersion(target.version)) {
        throw new MigrateError("USAGE", `--to takes a version number (for example 014), not "${target.version}".`);
      }
      chosen = applied.filter((entry) => compareVersions(entry.version, target.version) > 0);
      break;
    case "steps":
      chosen = applied.slice(0, target.steps);
      break;
    case "to-known":
      chosen = applied.filter((entry) => entry.state === "unknown");
      break;
    case "all":
      chosen = applied;
      break;
  }
  const steps: RollbackStep[] = [];
  const missing: string[] = [];
  for (const entry of chosen) {
    const migration = entry.migration;
    if (migration && migration.down !== null) {
      const downOffset = migration.text.length - migration.down.length;
      steps.push({ entry, source: "file", sql: migration.down, sourceText: migration.text, sourceOffset: downOffset, sourceName: migration.fileName });
      continue;
    }
    const stored = storedDown.get(entry.version) ?? null;
    if (stored !== null) {
      steps.push({ entry, source: "stored", sql: stored, sourceText: stored, sourceOffset: 0, sourceName: `${entry.version}_${entry.name} (down SQL stored in schema_migrations)` });
      continue;
    }
    missing.push(`${entry.version} (${entry.name})`);
  }
  if (missing.length > 0) {
    throw new MigrateError(
      "NO_DOWN_MIGRATION",
      `Cannot roll back ${missing.join(", ")}: no down part in this build's files nor stored in schema_migrations. Nothing was rolled back. Add a "-- migrate:down" part to the file and deploy it, or undo the change by hand with a new migration.`,
    );
  }
  return steps;
}
