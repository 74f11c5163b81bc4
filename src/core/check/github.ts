/**
 * `check --format github`: one workflow command per finding, which GitHub
 * shows on the file's line in the pull request, and a markdown summary for
 * $GITHUB_STEP_SUMMARY: a table per migration.
 */
import type { CheckFinding } from "./finding.ts";
import { type CheckReport, describeLocks, describeRewrites, summaryLine } from "./report.ts";

/** The data of a workflow command: %, CR and LF escaped (GitHub's toolkit escapes exactly these). */
function escapeData(text: string): string {
  return text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}

/** A property value additionally escapes : and , which separate properties. */
function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

/** `pathOf` turns a file name into its path from the repository's root, which GitHub needs to place the annotation. */
export function renderAnnotations(report: CheckReport, pathOf: (fileName: string) => string): string {
  const findings: CheckFinding[] = [...report.findings, ...report.migrations.flatMap((migration) => migration.findings)];
  const lines = findings.map((finding) => {
    const properties = [`file=${escapeProperty(pathOf(finding.fileName))}`];
    if (finding.line !== null) properties.push(`line=${finding.line}`);
    properties.push(`title=${escapeProperty(`st44-migrate check: ${finding.rule}`)}`);
    return `::${finding.severity} ${properties.join(",")}::${escapeData(`${finding.message} Fix: ${finding.fix}`)}`;
  });
  lines.push(summaryLine(report));
  return `${lines.join("\n")}\n`;
}

/** Table cells: a pipe would end the cell, a newline the row. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

export function renderStepSummary(report: CheckReport): string {
  const lines = [
    "## st44-migrate check",
    "",
    `${summaryLine(report)}. New: ${report.migrations.map((migration) => `\`${migration.fileName}\``).join(", ") || "none"} (${cell(report.selection)}). From empty: ${report.fromEmpty}; schema.snapshot: ${report.snapshot}.`,
  ];
  for (const finding of report.findings) lines.push("", `- **${finding.severity}** \`${finding.rule}\`: ${cell(finding.message)} Fix: ${cell(finding.fix)}`);
  for (const migration of report.migrations) {
    const locks = describeLocks(migration);
    const rewrites = describeRewrites(migration);
    const findings = migration.findings.map((finding) => `**${finding.severity}** \`${finding.rule}\`${finding.line === null ? "" : ` (line ${finding.line})`}: ${finding.message}`);
    const allowed = migration.allowed.map(({ finding, reason }) => `allowed \`${finding.rule}\`: ${reason}`);
    lines.push(
      "",
      `### \`${migration.fileName}\`${migration.transaction ? "" : " (transaction:false)"}`,
      "",
      "| check | result |",
      "|---|---|",
      `| locks | ${cell(locks.join("; "))} |`,
      `| rewrite | ${cell(rewrites.join("; ") || "none")} |`,
      `| round trip | ${migration.roundTrip} |`,
      `| findings | ${cell([...findings, ...allowed, ...migration.notes.map((note) => `note: ${note}`)].join("<br>") || "none")} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}
