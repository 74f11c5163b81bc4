import { MigrateError } from "./errors.ts";
import type { Plan, PlanEntry } from "./plan.ts";
import { printable } from "./printable.ts";
import type { SchemaDifference, SchemaDrift } from "./schema/compare.ts";

/**
 * "What is wrong with this database, for this build", decided once: up, plan,
 * run, status, verify and the health check all read the same findings.
 */
export type FindingKind = "changed" | "mismatched" | "unknown" | "pending" | "out-of-order" | "missing-table" | SchemaFindingKind;

/** Drift against the expected schema snapshot: one finding per object missing, changed (or invalid) and extra. */
export type SchemaFindingKind = "schema-missing" | "schema-changed" | "schema-extra";

export const SCHEMA_FINDING_KINDS: readonly SchemaFindingKind[] = ["schema-missing", "schema-changed", "schema-extra"];

/** error: the database cannot be trusted by this build; warning: it works, but someone should look. */
export type Severity = "error" | "warning";

export interface Finding {
  readonly kind: FindingKind;
  /** The version or table the finding is about. */
  readonly subject: string;
  readonly severity: Severity;
  /** One line, with the fix. */
  readonly message: string;
}

const short = (checksum: string | null | undefined) => (checksum ? `${checksum.slice(0, 12)}…` : "?");

/** The findings of a plan: changed, unknown, pending and out-of-order migrations, in that order. */
export function planFindings(plan: Plan): Finding[] {
  return [
    ...plan.changed.map((entry) => ({
      kind: "changed" as const,
      subject: entry.version,
      severity: "error" as const,
      message: `${entry.migration?.fileName ?? entry.version}: applied with checksum ${short(entry.row?.checksum)}, the file now has ${short(entry.migration?.checksum)} (restore the file, or st44-migrate repair --accept ${entry.version} if the edit is harmless)`,
    })),
    ...plan.mismatched.map((entry) => ({
      kind: "mismatched" as const,
      subject: entry.version,
      severity: "error" as const,
      message: `${entry.migration?.fileName ?? entry.version}: schema_migrations records version ${printable(entry.row?.version ?? entry.version)} as "${printable(entry.row?.name ?? "")}", another file (st44-migrate repair --accept ${entry.version} if it is this file renamed)`,
    })),
    ...plan.unknown.map((entry) => ({
      kind: "unknown" as const,
      subject: entry.version,
      severity: "warning" as const,
      message: `${printable(entry.version)} (${printable(entry.name)}): applied, but this build does not know it (${entry.row?.hasDown ? "can be rolled back with down --to-known" : "has no stored down SQL"})`,
    })),
    ...plan.pending.map((migration) => ({
      kind: "pending" as const,
      subject: migration.version,
      severity: "error" as const,
      message: `${migration.fileName}: not applied (st44-migrate up)`,
    })),
    ...plan.outOfOrder.map((migration) => ({
      kind: "out-of-order" as const,
      subject: migration.version,
      severity: "warning" as const,
      message: `${migration.fileName} is older than the latest applied migration (${plan.latestApplied}); applying it out of order`,
    })),
  ];
}

export function missingTableFindings(tables: readonly string[]): Finding[] {
  return tables.map((name) => ({
    kind: "missing-table" as const,
    subject: name,
    severity: "error" as const,
    message: `table ${name}: the migrations create it but it does not exist`,
  }));
}

/**
 * The findings of a schema comparison, each difference's ready line as its
 * message (`missing column users.first_name`). Missing and changed objects
 * are errors (the application's queries may fail on them); an extra object is
 * a warning (nothing this build relies on is gone). Subject: `column users.first_name`.
 */
export function schemaDriftFindings(drift: SchemaDrift): Finding[] {
  const finding = (kind: SchemaFindingKind, severity: Severity) => (difference: SchemaDifference): Finding => ({
    kind,
    subject: `${difference.objectKind} ${difference.name}`,
    severity,
    message: difference.line,
  });
  return [
    ...drift.missing.map(finding("schema-missing", "error")),
    ...drift.changed.map(finding("schema-changed", "error")),
    ...drift.extra.map(finding("schema-extra", "warning")),
  ];
}

/** What makes verify fail: every finding but an extra schema object, which fails only with --strict. */
export function verifyFailures(findings: readonly Finding[], strict: boolean): Finding[] {
  return findings.filter((finding) => strict || finding.kind !== "schema-extra");
}

export function ofKind(findings: readonly Finding[], kind: FindingKind): Finding[] {
  return findings.filter((finding) => finding.kind === kind);
}

/** The refusal for applied migrations whose files were edited (up, plan, run and status --exit-code alike). */
export function checksumMismatchError(changed: readonly PlanEntry[]): MigrateError {
  return new MigrateError(
    "CHECKSUM_MISMATCH",
    `${changed.length} applied migration(s) differ from the files of this build: ${changed.map((entry) => entry.migration?.fileName ?? entry.version).join(", ")}. An applied migration must not be edited: restore the file as it was applied and put the change in a new migration. If the edit is harmless (a comment, line endings), accept it with st44-migrate repair --accept VERSION. Nothing was applied.`,
    { details: changed.map((entry) => `  ${entry.version}: database ${entry.row?.checksum ?? "?"} != file ${entry.migration?.checksum ?? "?"}`) },
  );
}

function unknownList(unknown: readonly PlanEntry[]): string {
  // Rows come from the database: what they hold is shown, never interpreted by a terminal or a log parser.
  return unknown.map((entry) => `${printable(entry.version)} (${printable(entry.name)})`).join(", ");
}

export function unknownMigrationsError(unknown: readonly PlanEntry[]): MigrateError {
  return new MigrateError(
    "UNKNOWN_MIGRATIONS",
    `The database has migrations this build does not know: ${unknownList(unknown)}. It was migrated by a newer release; deploy that release, or roll those migrations back with it, or pass --on-unknown warn to go on anyway. Nothing was applied.`,
  );
}

/** The warning logged when a run goes on despite unknown migrations. */
export function unknownMigrationsWarning(unknown: readonly PlanEntry[]): string {
  return `the database has migrations this build does not know: ${unknownList(unknown)} (a newer release migrated it; continuing)`;
}

/** The refusal for rows that record another file under a migration's version. */
export function mismatchedError(mismatched: readonly PlanEntry[]): MigrateError {
  const list = mismatched.map((entry) => `version ${printable(entry.row?.version ?? entry.version)} recorded as "${printable(entry.row?.name ?? "")}" (this build's file is ${entry.migration?.fileName ?? entry.version})`);
  return new MigrateError(
    "MIGRATION_MISMATCHED",
    `schema_migrations holds ${mismatched.length} row(s) under the version of a migration of this build but the name of another file: ${list.join("; ")}. Such a row was written for a different file (two legacy files shared a number), so it is not taken as this migration, and nothing was applied. If the file was renumbered when the folder was imported, record its old identity on its up marker (-- migrate:up formerly:VERSION_NAME); if it is the same migration under a new name, accept the name with st44-migrate repair --accept VERSION; otherwise check what the database holds and mark it with st44-migrate mark-applied or forget.`,
  );
}

/** Why writing must not start: an edited applied migration, or unknown ones when --on-unknown fail. Null when it may. */
export function refusalToApply(plan: Plan, onUnknown: "warn" | "fail"): MigrateError | null {
  if (plan.changed.length > 0) return checksumMismatchError(plan.changed);
  if (plan.mismatched.length > 0) return mismatchedError(plan.mismatched);
  if (plan.unknown.length > 0 && onUnknown === "fail") return unknownMigrationsError(plan.unknown);
  return null;
}

/**
 * One reason per kind of finding, for the health document: what makes it
 * unhealthy first, then what only degrades it.
 */
export function healthReasons(findings: readonly Finding[]): { unhealthy: string[]; degraded: string[] } {
  const versions = (kind: FindingKind) => ofKind(findings, kind).map((finding) => finding.subject);
  const unhealthy: string[] = [];
  const degraded: string[] = [];
  const pending = versions("pending");
  const changed = [...versions("changed"), ...versions("mismatched")];
  const missing = versions("missing-table");
  const unknown = versions("unknown");
  if (pending.length > 0) unhealthy.push(`${pending.length} migration(s) pending: ${pending.join(", ")}`);
  if (changed.length > 0) unhealthy.push(`applied migration(s) differ from this build: ${changed.join(", ")}`);
  if (missing.length > 0) unhealthy.push(`missing table(s): ${missing.join(", ")}`);
  if (unknown.length > 0) degraded.push(`the database has migration(s) this build does not know: ${unknown.join(", ")}`);
  return { unhealthy, degraded };
}

/**
 * The refusal for applied migrations whose tables do not exist: rows say the
 * schema is there and it is not (a legacy runner ran a rollback file as a
 * migration, or someone dropped the table). Starting the application on it
 * would be the outage again.
 */
export function schemaIncompleteError(missing: ReadonlyMap<string, string>, toRerun: readonly string[]): MigrateError {
  const list = [...missing].map(([table, fileName]) => `${printable(table)} (created by ${fileName})`);
  const forget = toRerun.map((version) => `st44-migrate forget ${version} --yes`).join("; ");
  return new MigrateError(
    "SCHEMA_INCOMPLETE",
    `The migrations recorded as applied create tables that do not exist: ${list.join(", ")}. The rows in schema_migrations say the schema is there and it is not, so nothing was applied and the application must not start on it. To rebuild them, remove the rows of every applied migration that created or changed those tables (${toRerun.join(", ")}; their SQL is not run) and run st44-migrate up again, which applies them in order: ${forget}. Check first that those files can run again (statements on tables that still exist may fail, IF NOT EXISTS helps), or restore the tables from a backup instead; st44-migrate verify lists every difference.`,
  );
}
