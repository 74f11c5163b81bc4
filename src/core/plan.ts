import type { Migration } from "./migration-set.ts";
import { comparableName } from "./migration-name.ts";
import { compareVersionKeys, compareVersions, isVersion, versionKey } from "./version.ts";

/** A row of the tracking table, as the database holds it. */
export interface AppliedRow {
  readonly version: string;
  /** null where the tool that wrote the row kept no name (dbmate, golang-migrate, a hand-made table). */
  readonly name: string | null;
  /** null where the tool that wrote the row kept no time. */
  readonly appliedAt: Date | null;
  /** null for rows written by hand-applied files before the runner existed. */
  readonly checksum: string | null;
  readonly durationMs: number | null;
  readonly hasDown: boolean;
}

/**
 * "mismatched": a row holds this migration's version under another name, one
 * the file does not claim as a former identity: it records some other file
 * (two legacy files shared a number), so it is never taken as this one.
 */
export type MigrationState = "applied" | "pending" | "changed" | "unknown" | "mismatched";

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
  readonly mismatched: readonly PlanEntry[];
  readonly applied: readonly PlanEntry[];
  /** Highest applied version (as written in its row), or null. */
  readonly latestApplied: string | null;
  /** Highest version this migration set knows, or null. */
  readonly latestKnown: string | null;
  /** Pending migrations older than the latest applied one (applied anyway, like dbmate). */
  readonly outOfOrder: readonly Migration[];
  /**
   * Rows recorded under a former identity of a file (formerly:), which the
   * tracking table should hold under the file's own version: the first
   * writing run moves them (or drops them where the file has a row already).
   */
  readonly formerRows: readonly { readonly migration: Migration; readonly row: AppliedRow }[];
}

/** Whether a row may be taken as `migration`'s: no name recorded, or the file's own (the runner writes it exactly so). */
function sameIdentity(row: AppliedRow, name: string): boolean {
  return row.name === null || row.name === name || comparableName(row.name) === comparableName(name);
}

/** versionKey, without its regular expression for the usual row: digits with no leading zero and nothing to trim. */
/** A canonical version (digits, no leading zero: what the runner writes) is its own key; anything else goes the long way. */
const CANONICAL_VERSION = /^[1-9][0-9]*$/;
function keyOfVersion(version: string): string {
  return CANONICAL_VERSION.test(version) ? version : versionKey(version);
}

/**
 * Compares the files with the tracking table. Legacy rows have no checksum:
 * they are trusted as applied (we cannot know what text produced them). A
 * row is taken as a file's when it holds the file's version and name, or a
 * former identity the file records (`formerly:` on its up marker: a file
 * renumbered when a legacy folder was imported).
 *
 * One pass over the files and one over the rows: every start of `up` and
 * `status` runs it cold, over every migration.
 */
export function planMigrations(migrations: readonly Migration[], rows: readonly AppliedRow[]): Plan {
  const paired = pairedByPosition(migrations, rows);
  const rowsByKey = new Map<string, AppliedRow>();
  if (!paired) for (const row of rows) rowsByKey.set(keyOfVersion(row.version), row);

  // Rows recorded under a former identity belong to the renumbered file, whatever file has that number now.
  const claimed = new Map<Migration, AppliedRow>();
  const formerRows: { migration: Migration; row: AppliedRow }[] = [];
  for (const migration of migrations) {
    if (migration.options.formerly.length === 0) continue;
    for (const former of migration.options.formerly) {
      const key = versionKey(former.version);
      const row = rowsByKey.get(key);
      if (!row || row.name === null || comparableName(row.name) !== comparableName(former.name)) continue;
      rowsByKey.delete(key);
      formerRows.push({ migration, row });
      if (!claimed.has(migration)) claimed.set(migration, row);
    }
  }

  const entries: PlanEntry[] = [];
  const knownKeys = new Set<string>();
  let ordered = true;
  let previousKey: string | null = null;
  for (let index = 0; index < migrations.length; index++) {
    const migration = migrations[index] as Migration;
    if (!paired) knownKeys.add(migration.key);
    if (previousKey !== null && compareVersionKeys(previousKey, migration.key) > 0) ordered = false;
    previousKey = migration.key;
    const own = paired ? (rows[index] as AppliedRow) : (rowsByKey.get(migration.key) ?? null);
    const row = own ?? (claimed.size === 0 ? null : (claimed.get(migration) ?? null));
    const state: MigrationState =
      row === null
        ? "pending"
        : own !== null && !sameIdentity(own, migration.name)
          ? "mismatched"
          : row.checksum !== null && row.checksum !== migration.checksum
            ? "changed"
            : "applied";
    entries.push({ version: migration.version, key: migration.key, name: migration.name, state, migration, row });
  }
  if (rowsByKey.size > 0) {
    for (const [key, row] of rowsByKey) {
      if (!knownKeys.has(key)) {
        entries.push({ version: row.version, key, name: row.name ?? "", state: "unknown", migration: null, row });
        ordered = false;
      }
    }
  }
  if (!ordered) entries.sort((a, b) => compareVersionKeys(a.key, b.key));

  const applied: PlanEntry[] = [];
  const pending: Migration[] = [];
  const changed: PlanEntry[] = [];
  const unknown: PlanEntry[] = [];
  const mismatched: PlanEntry[] = [];
  for (const entry of entries) {
    if (entry.row !== null && entry.state !== "mismatched") applied.push(entry);
    if (entry.state === "pending") {
      if (entry.migration) pending.push(entry.migration);
    } else if (entry.state === "changed") changed.push(entry);
    else if (entry.state === "unknown") unknown.push(entry);
    else if (entry.state === "mismatched") mismatched.push(entry);
  }
  // A row whose version is not a number (an old runner's 'TEMPLATE') is shown, never taken as the latest.
  let latestApplied: string | null = null;
  for (let index = applied.length - 1; index >= 0; index--) {
    const version = (applied[index] as PlanEntry).version;
    if (isVersion(version)) {
      latestApplied = version;
      break;
    }
  }
  return {
    entries,
    pending,
    changed,
    unknown,
    mismatched,
    applied,
    latestApplied,
    latestKnown: migrations.at(-1)?.version ?? null,
    outOfOrder:
      latestApplied === null || pending.length === 0 ? [] : pending.filter((migration) => compareVersions(migration.version, latestApplied) < 0),
    formerRows,
  };
}

/**
 * Whether row i is migration i's by version, for every i, and no file claims
 * another row (formerly:) or shares a version: the usual table, which the
 * runner filled in the files' order and the server hands back in it. Then
 * rows pair with files by position, with no map of the rows and no search
 * for rows no file has.
 */
function pairedByPosition(migrations: readonly Migration[], rows: readonly AppliedRow[]): boolean {
  if (rows.length !== migrations.length) return false;
  for (let index = 0; index < rows.length; index++) {
    const migration = migrations[index] as Migration;
    if (migration.options.formerly.length > 0 || keyOfVersion((rows[index] as AppliedRow).version) !== migration.key) return false;
    // Files in strictly rising versions (a set buildMigrationSet made always is): two files of one version go the map's way.
    if (index > 0 && compareVersionKeys((migrations[index - 1] as Migration).key, migration.key) >= 0) return false;
  }
  return true;
}

/**
 * The rows a high-water mark stands for (golang-migrate keeps only the
 * version reached): every migration up to it, with nothing else known, and
 * the version itself as an unknown row when no file has it.
 */
export function rowsUpTo(migrations: readonly Migration[], version: string | null): AppliedRow[] {
  if (version === null) return [];
  const limit = versionKey(version);
  const row = (rowVersion: string, name: string | null): AppliedRow => ({ version: rowVersion, name, appliedAt: null, checksum: null, durationMs: null, hasDown: false });
  const rows = migrations.filter((migration) => compareVersionKeys(migration.key, limit) <= 0).map((migration) => row(migration.version, migration.name));
  if (!migrations.some((migration) => migration.key === limit)) rows.push(row(version, null));
  return rows;
}
