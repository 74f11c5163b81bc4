import type { Migration } from "./migration-set.ts";
import { compareVersionKeys, compareVersions, versionKey } from "./version.ts";

/** A row of the tracking table, as the database holds it. */
export interface AppliedRow {
  readonly version: string;
  readonly name: string;
  readonly appliedAt: Date;
  /** null for rows written by hand-applied files before the runner existed. */
  readonly checksum: string | null;
  readonly durationMs: number | null;
  readonly hasDown: boolean;
}

export type MigrationState = "applied" | "pending" | "changed" | "unknown";

export interface PlanEntry {
  readonly version: string;
  readonly key: string;
  readonly name: string;
  readonly state: MigrationState;
  readonly migration: Migration | null;
  readonly row: AppliedRow | null;
}

export interface Plan {
  /** Every version known to the files or the database, in version order. */
  readonly entries: readonly PlanEntry[];
  readonly pending: readonly Migration[];
  readonly changed: readonly PlanEntry[];
  readonly unknown: readonly PlanEntry[];
  readonly applied: readonly PlanEntry[];
  /** Highest applied version (as written in its row), or null. */
  readonly latestApplied: string | null;
  /** Highest version this migration set knows, or null. */
  readonly latestKnown: string | null;
  /** Pending migrations older than the latest applied one (applied anyway, like dbmate). */
  readonly outOfOrder: readonly Migration[];
}

/**
 * Compares the files with the tracking table. Legacy rows have no checksum:
 * they are trusted as applied (we cannot know what text produced them).
 */
export function planMigrations(migrations: readonly Migration[], rows: readonly AppliedRow[]): Plan {
  const rowsByKey = new Map<string, AppliedRow>();
  for (const row of rows) rowsByKey.set(versionKey(row.version), row);
  const knownKeys = new Set(migrations.map((migration) => migration.key));

  const entries: PlanEntry[] = [];
  for (const migration of migrations) {
    const row = rowsByKey.get(migration.key) ?? null;
    const state: MigrationState =
      row === null ? "pending" : row.checksum !== null && row.checksum !== migration.checksum ? "changed" : "applied";
    entries.push({ version: migration.version, key: migration.key, name: migration.name, state, migration, row });
  }
  for (const [key, row] of rowsByKey) {
    if (!knownKeys.has(key)) {
      entries.push({ version: row.version, key, name: row.name, state: "unknown", migration: null, row });
    }
  }
  entries.sort((a, b) => compareVersionKeys(a.key, b.key));

  const applied = entries.filter((entry) => entry.row !== null);
  const latestAppliedEntry = applied.at(-1);
  const latestApplied = latestAppliedEntry ? latestAppliedEntry.version : null;
  const pending = entries.flatMap((entry) => (entry.state === "pending" && entry.migration ? [entry.migration] : []));
  return {
    entries,
    pending,
    changed: entries.filter((entry) => entry.state === "changed"),
    unknown: entries.filter((entry) => entry.state === "unknown"),
    applied,
    latestApplied,
    latestKnown: migrations.at(-1)?.version ?? null,
    outOfOrder:
      latestApplied === null ? [] : pending.filter((migration) => compareVersions(migration.version, latestApplied) < 0),
  };
}
