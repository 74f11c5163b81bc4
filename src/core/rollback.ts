import { MigrateError } from "./errors.ts";
import { CONCURRENT_STATEMENT } from "./lint.ts";
import type { Plan, PlanEntry } from "./plan.ts";
import { printable } from "./printable.ts";
import { scanSql } from "./sql-lexer.ts";
import { compareVersions, isVersion, versionKey } from "./version.ts";

export type RollbackTarget =
  | { readonly kind: "to"; readonly version: string }
  | { readonly kind: "steps"; readonly steps: number }
  | { readonly kind: "to-known" }
  | { readonly kind: "all" };

/** What the tracking table holds for one row beyond what the plan reads. */
export interface StoredRow {
  /** The down part stored when the migration was applied; null when none was (older builds, legacy rows). */
  readonly downSql: string | null;
  /** applied_at exactly as the server writes it (microseconds and offset): with the checksum, which row this is. */
  readonly appliedAt: string | null;
}

/** Which row a step undoes: a step runs only while this row is still there, unchanged. */
export interface RowIdentity {
  readonly key: string;
  readonly appliedAt: string | null;
  readonly checksum: string | null;
}

/** Why the down SQL of a step comes from where it does, when that is not the plain case. */
export type SourceReason =
  /** The file matches the row: its down part is the one that was applied. */
  | "matches"
  /** The file was edited after it was applied: what was applied (the stored down SQL) is the truth. */
  | "file-changed"
  /** This build has no file for it (a newer release applied it). */
  | "unknown-to-build"
  /** A row written before checksums were recorded: the file cannot be compared with what was applied. */
  | "unverified";

export interface RollbackStep {
  readonly entry: PlanEntry;
  /** Where the down SQL comes from: this build's file, or the text stored when it was applied. */
  readonly source: "file" | "stored";
  readonly reason: SourceReason;
  readonly sql: string;
  /**
   * false: statement by statement, outside a transaction. From the file's
   * down marker (`-- migrate:down transaction:false`); for stored down SQL,
   * whose marker was not stored, when a statement is one PostgreSQL refuses
   * inside a transaction (CONCURRENTLY), since in one it could only fail.
   */
  readonly transaction: boolean;
  readonly row: RowIdentity;
  /** For error positions: the text the SQL lives in and its offset there. */
  readonly sourceText: string;
  readonly sourceOffset: number;
  readonly sourceName: string;
}

function refusesTransaction(sql: string): boolean {
  return scanSql(sql).statements.some((statement) => CONCURRENT_STATEMENT.test(sql.slice(statement.start, statement.end)));
}

/** "000, 001, 011" from entries, escaped (row versions come from the database). */
function versionList(entries: readonly PlanEntry[]): string {
  return entries.length === 0 ? "none" : entries.map((entry) => printable(entry.version)).join(", ");
}

/**
 * The migrations newer than `version`. VERSION must be written as a migration
 * of this build or a row writes it: `--to 005` with no 005, or `--to 01` (001
 * by number) typed for 011, would undo far more than meant.
 */
function newerThan(plan: Plan, applied: readonly PlanEntry[], version: string): PlanEntry[] {
  if (!isVersion(version)) {
    throw new MigrateError("USAGE", `--to takes a version number (for example 014), not "${printable(version)}".`);
  }
  const wanted = version.trim();
  const spellings = (entry: PlanEntry) => [entry.version, entry.row?.version.trim()];
  const exact = plan.entries.find((entry) => spellings(entry).includes(wanted));
  if (!exact) {
    const sameNumber = plan.entries.find((entry) => entry.key === versionKey(wanted));
    const known = plan.entries.filter((entry) => entry.row === null);
    const hint = sameNumber
      ? `--to ${wanted} is version ${printable(sameNumber.version)} by number; write it as --to ${printable(sameNumber.version)} if that is the one to keep.`
      : `There is no migration ${wanted}.`;
    throw new MigrateError(
      "USAGE",
      `--to ${wanted} names no migration that is applied or known to this build. ${hint} Applied: ${versionList([...applied].reverse())}; known but not applied: ${versionList(known)}. --to keeps VERSION and everything older; --all undoes everything. Nothing was rolled back.`,
    );
  }
  return applied.filter((entry) => compareVersions(entry.version, exact.version) > 0);
}

function chooseEntries(plan: Plan, target: RollbackTarget): PlanEntry[] {
  const applied = [...plan.applied].sort((a, b) => compareVersions(b.version, a.version));
  switch (target.kind) {
    case "to":
      return newerThan(plan, applied, target.version);
    case "steps":
      return applied.slice(0, target.steps);
    case "to-known":
      return applied.filter((entry) => entry.state === "unknown");
    case "all":
      return applied;
  }
}

function changedWithoutStoredDown(entry: PlanEntry): string {
  const applied = entry.row?.checksum?.slice(0, 12) ?? "?";
  const now = entry.migration?.checksum.slice(0, 12) ?? "?";
  return `${printable(entry.version)} (${printable(entry.name)}: ${entry.migration?.fileName ?? "its file"} has checksum ${now}…, the applied text had ${applied}…)`;
}

/**
 * Chooses what `down` undoes, newest first, and where each down part comes
 * from: what was applied is the truth. The file's down part when the file is
 * the one that was applied; the down SQL stored at apply time when the file
 * changed since or this build does not have it. Refuses as a whole, before
 * anything runs, when one of them has no down part, or only an edited one.
 * `stored` maps a row's version key to what the tracking table holds for it.
 */
export function planRollback(plan: Plan, target: RollbackTarget, stored: ReadonlyMap<string, StoredRow>): RollbackStep[] {
  const steps: RollbackStep[] = [];
  const missing: string[] = [];
  const changed: string[] = [];
  for (const entry of chooseEntries(plan, target)) {
    const migration = entry.migration;
    const row = stored.get(entry.key);
    const identity: RowIdentity = { key: entry.key, appliedAt: row?.appliedAt ?? null, checksum: entry.row?.checksum ?? null };
    const storedDown = row?.downSql ?? null;
    const reason: SourceReason = migration === null ? "unknown-to-build" : entry.state === "changed" ? "file-changed" : entry.row?.checksum == null ? "unverified" : "matches";
    // A legacy row cannot be compared with the file, and usually has nothing stored: the file's part is all there is.
    const fileDown = reason === "matches" || (reason === "unverified" && storedDown === null) ? (migration?.down ?? null) : null;
    if (migration && fileDown !== null) {
      const downOffset = migration.text.length - fileDown.length;
      const transaction = migration.downOptions?.transaction ?? true;
      steps.push({ entry, source: "file", reason, sql: fileDown, transaction, row: identity, sourceText: migration.text, sourceOffset: downOffset, sourceName: migration.fileName });
      continue;
    }
    if (storedDown !== null) {
      const sourceName = `${printable(entry.version)}_${printable(entry.name)} (down SQL stored in schema_migrations)`;
      steps.push({ entry, source: "stored", reason, sql: storedDown, transaction: !refusesTransaction(storedDown), row: identity, sourceText: storedDown, sourceOffset: 0, sourceName });
      continue;
    }
    if (reason === "file-changed") changed.push(changedWithoutStoredDown(entry));
    else missing.push(`${printable(entry.version)} (${printable(entry.name)})`);
  }
  if (changed.length > 0) {
    throw new MigrateError(
      "CHECKSUM_MISMATCH",
      `Cannot roll back ${changed.join(", ")}: the file was edited after it was applied and no down SQL was stored then, so the down part that matches what was applied is unknown. Nothing was rolled back. Restore the file as it was applied, or, if the edit was deliberate and its down part is right for what was applied, accept it with st44-migrate repair --accept VERSION, then run down again.`,
    );
  }
  if (missing.length > 0) {
    throw new MigrateError(
      "NO_DOWN_MIGRATION",
      `Cannot roll back ${missing.join(", ")}: no down part in this build's files nor stored in schema_migrations. Nothing was rolled back. Add a "-- migrate:down" part to the file and deploy it, or undo the change by hand with a new migration.`,
    );
  }
  return steps;
}

const SOURCE_WORDS: Readonly<Record<SourceReason, string>> = {
  matches: "",
  "file-changed": " (the file was edited after it was applied; its down part is not used)",
  "unknown-to-build": " (this build has no file for it)",
  unverified: " (applied before checksums were recorded: the file cannot be checked against what was applied)",
};

/**
 * One line naming what a step undoes, as the tracking table has it (version,
 * name, applied_at) and where its down SQL comes from; escaped, since names
 * come from the database.
 */
export function describeStep(step: RollbackStep): string {
  const { entry } = step;
  const at = entry.row?.appliedAt;
  const applied = at instanceof Date && !Number.isNaN(at.getTime()) ? `applied ${at.toISOString()}` : "applied at an unknown time";
  const from = step.source === "file" ? `down SQL from ${printable(step.sourceName)}` : "down SQL stored in schema_migrations when it was applied";
  const how = step.transaction ? "" : ", run statement by statement outside a transaction";
  return `${printable(entry.version)} ${printable(entry.name)}, ${applied}; ${from}${SOURCE_WORDS[step.reason]}${how}`;
}

/** What a confirmation covers: the steps, as described, in order. */
export function sameSteps(confirmed: readonly RollbackStep[], now: readonly RollbackStep[]): boolean {
  const signature = (step: RollbackStep) => JSON.stringify([step.row, step.entry.name, step.source, step.sql, step.transaction]);
  return confirmed.length === now.length && confirmed.every((step, index) => signature(step) === signature(now[index] as RollbackStep));
}
