/** The import's report, as a person reads it at the end of the command. */
import type { ImportReport, ReportLine } from "./convert.ts";

export function formatImportReport(report: ImportReport, source: string, out: string): string {
  const lines = [`imported ${source} -> ${out}: ${report.written.length} migration file(s) written`];
  const section = (title: string, entries: readonly string[], empty = "none") => {
    lines.push("", `${title} (${entries.length}):`, ...(entries.length === 0 ? [`  ${empty}`] : entries.map((entry) => `  ${entry}`)));
  };
  section("down parts merged", report.merged.map((entry) => `${entry.fileName} <- ${entry.downSource}`));
  section("renumbered", report.renumbered.map((entry) => `${entry.source} -> ${entry.fileName} (formerly:${entry.formerly})`));
  section("skipped", report.skipped.map((entry) => `${entry.path}: ${entry.reason}`));
  section("needs a human", report.needsHuman.map(describe));
  section("notes (left as they are; they work under the runner)", report.notes.map(describe));
  return `${lines.join("\n")}\n`;
}

function describe(entry: ReportLine): string {
  return `${entry.path}${entry.line === null ? "" : ` line ${entry.line}`}: ${entry.reason}`;
}

/** The report as JSON (--json): the same categories, for scripts. */
export function importReportDocument(report: ImportReport, source: string, out: string): Record<string, unknown> {
  return {
    source,
    out,
    written: report.written.map(({ fileName, source: from, downSource, formerly }) => ({ file: fileName, source: from, down_source: downSource, formerly })),
    merged: report.merged.map((entry) => ({ file: entry.fileName, down_source: entry.downSource })),
    renumbered: report.renumbered.map((entry) => ({ source: entry.source, file: entry.fileName, formerly: entry.formerly })),
    skipped: report.skipped,
    needs_human: report.needsHuman,
    notes: report.notes,
  };
}
