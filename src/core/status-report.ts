import type { Plan } from "./plan.ts";
import { printable } from "./printable.ts";

/** Which versions are in which state: the `migrations` part of the health document, and the head of status --json. */
export function migrationSummary(plan: Plan) {
  return {
    applied: plan.applied.map((entry) => entry.version),
    pending: plan.pending.map((migration) => migration.version),
    latest: plan.latestApplied,
    expected_latest: plan.latestKnown,
    changed: plan.changed.map((entry) => entry.version),
    mismatched: plan.mismatched.map((entry) => entry.version),
    unknown: plan.unknown.map((entry) => entry.version),
  };
}

/** The machine-readable status (status --json). */
export function statusDocument(plan: Plan) {
  return {
    ...migrationSummary(plan),
    migrations: plan.entries.map((entry) => ({
      version: entry.version,
      name: entry.name,
      state: entry.state,
      applied_at: entry.row?.appliedAt?.toISOString() ?? null,
      duration_ms: entry.row?.durationMs ?? null,
      file: entry.migration?.fileName ?? null,
    })),
  };
}

/** A fixed-width table for people (status without --json). */
export function statusTable(plan: Plan): string {
  const header = ["VERSION", "NAME", "STATE", "APPLIED AT", "DURATION"];
  // Versions and names may come from the database: a newline or an escape sequence there must not reach the terminal.
  const rows = plan.entries.map((entry) => [
    printable(entry.version),
    printable(entry.name),
    entry.state,
    entry.row?.appliedAt ? entry.row.appliedAt.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : entry.row ? "unknown" : "-",
    entry.row?.durationMs == null ? "-" : `${entry.row.durationMs} ms`,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const format = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd();
  const count = (state: string) => plan.entries.filter((entry) => entry.state === state).length;
  const mismatched = plan.mismatched.length > 0 ? `, ${plan.mismatched.length} mismatched` : "";
  const summary = `${count("applied")} applied, ${plan.pending.length} pending, ${plan.changed.length} changed${mismatched}, ${plan.unknown.length} unknown; latest ${plan.latestApplied ?? "none"} of ${plan.latestKnown ?? "none"}`;
  return [format(header), ...rows.map(format), "", summary, ""].join("\n");
}
