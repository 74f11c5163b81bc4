/**
 * The result of `st44-migrate check` and its text and JSON forms (the GitHub
 * form is github.ts). Pure: src/check/run.ts fills it in.
 */
import type { CheckFinding } from "./finding.ts";
import { MODE_NAMES, type StatementObservation } from "./measured.ts";
import type { AllowedFinding } from "./policy.ts";

export type RoundTrip = "ok" | "failed" | "no down part" | "not run";

export interface MigrationCheck {
  readonly fileName: string;
  readonly transaction: boolean;
  /** Statements that took a blocking lock, rewrote or indexed a table that existed before. */
  readonly observations: readonly StatementObservation[];
  readonly roundTrip: RoundTrip;
  readonly findings: readonly CheckFinding[];
  readonly allowed: readonly AllowedFinding[];
  /** What the run could not do or measure (a table it could not fill, locks of transaction:false). */
  readonly notes: readonly string[];
}

export interface CheckReport {
  /** How the new migrations were chosen, in words ("--since 014", "the last migration (default)"). */
  readonly selection: string;
  /** Where it ran: "a throwaway PostgreSQL 17.6" or "postgres://ci@localhost:5432/postgres". */
  readonly server: string;
  readonly fromEmpty: "ok" | "failed";
  readonly snapshot: "matches" | "differs" | "missing" | "not compared";
  readonly migrations: readonly MigrationCheck[];
  /** Findings about the whole set (from empty, the snapshot). */
  readonly findings: readonly CheckFinding[];
  readonly durationMs: number;
}

export function allFindings(report: CheckReport): CheckFinding[] {
  return [...report.findings, ...report.migrations.flatMap((migration) => migration.findings)];
}

export function errorCount(report: CheckReport): number {
  return allFindings(report).filter((finding) => finding.severity === "error").length;
}

/** "ACCESS EXCLUSIVE on public.users (line 4)" for each lock; one line saying so when there are none or they could not be read. */
export function describeLocks(migration: MigrationCheck): string[] {
  const locks = migration.observations.flatMap((statement) => statement.locks.map((lock) => `${MODE_NAMES[lock.mode]} on ${lock.table} (line ${statement.line})`));
  if (locks.length > 0) return locks;
  return [migration.transaction ? "none blocking on existing tables" : "not measured (transaction:false)"];
}

export function describeRewrites(migration: MigrationCheck): string[] {
  return migration.observations.flatMap((statement) => statement.rewritten.map((table) => `${table} (line ${statement.line})`));
}

function where(finding: CheckFinding): string {
  return finding.line === null ? finding.fileName : `${finding.fileName}:${finding.line}`;
}

export function summaryLine(report: CheckReport): string {
  const findings = allFindings(report);
  const errors = findings.filter((finding) => finding.severity === "error").length;
  const warnings = findings.length - errors;
  const seconds = (report.durationMs / 1000).toFixed(1);
  const counted = `${report.migrations.length} new migration${report.migrations.length === 1 ? "" : "s"}`;
  return errors + warnings === 0
    ? `check: clean (${counted}, ${seconds} s)`
    : `check: ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"} (${counted}, ${seconds} s)`;
}

export function renderCheckText(report: CheckReport): string {
  const lines: string[] = [
    `new migrations: ${report.migrations.map((migration) => migration.fileName).join(", ") || "none"} (${report.selection})`,
    `ran on ${report.server}`,
    `from empty: ${report.fromEmpty === "ok" ? "the whole set applies" : "FAILED"}; schema.snapshot: ${report.snapshot}`,
  ];
  for (const finding of report.findings) lines.push(...findingLines(finding));
  for (const migration of report.migrations) {
    lines.push("", `${migration.fileName}${migration.transaction ? "" : " (transaction:false)"}`);
    const locks = describeLocks(migration);
    const rewrites = describeRewrites(migration);
    lines.push(`  round trip: ${migration.roundTrip}`);
    lines.push(`  locks: ${locks.join("; ")}`);
    lines.push(`  rewrites: ${rewrites.length === 0 ? "none" : rewrites.join("; ")}`);
    for (const note of migration.notes) lines.push(`  note: ${note}`);
    for (const finding of migration.findings) lines.push(...findingLines(finding).map((line) => `  ${line}`));
    for (const { finding, reason } of migration.allowed) lines.push(`  allowed ${finding.rule} at ${where(finding)}: ${reason}`);
  }
  lines.push("", summaryLine(report));
  return `${lines.join("\n")}\n`;
}

function findingLines(finding: CheckFinding): string[] {
  return [`${finding.severity} ${finding.rule} at ${where(finding)}: ${finding.message}`, `  fix: ${finding.fix}`];
}

const findingJson = (finding: CheckFinding) => ({
  rule: finding.rule,
  severity: finding.severity,
  file: finding.fileName,
  line: finding.line,
  message: finding.message,
  fix: finding.fix,
});

export function renderCheckJson(report: CheckReport): string {
  const document = {
    clean: allFindings(report).length === 0,
    errors: errorCount(report),
    selection: report.selection,
    server: report.server,
    from_empty: report.fromEmpty,
    snapshot: report.snapshot,
    duration_ms: report.durationMs,
    findings: report.findings.map(findingJson),
    migrations: report.migrations.map((migration) => ({
      file: migration.fileName,
      transaction: migration.transaction,
      round_trip: migration.roundTrip,
      statements: migration.observations.map((statement) => ({
        line: statement.line,
        statement: statement.excerpt,
        locks: statement.locks.map((lock) => ({ table: lock.table, mode: MODE_NAMES[lock.mode] })),
        rewritten: statement.rewritten,
        indexes: statement.indexes,
      })),
      findings: migration.findings.map(findingJson),
      allowed: migration.allowed.map(({ finding, reason }) => ({ ...findingJson(finding), reason })),
      notes: migration.notes,
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
