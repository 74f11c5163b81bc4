/**
 * The markdown report: machine, versions, the exact command, one table per
 * workload (median / min / max wall time, median peak RSS, ratio to the
 * workload's floor and to dbmate), the targets of issue 6, binary sizes.
 */
import type { Machine } from "./environment.ts";
import type { Summary } from "./measure.ts";

export interface RowResult {
  readonly runnerId: string;
  readonly label: string;
  readonly kind: "tool" | "floor";
  readonly summary: Summary | null;
  readonly error: string | null;
}

export interface WorkloadResult {
  readonly id: string;
  readonly title: string;
  readonly reps: number;
  /** The runner whose median is the "× floor" denominator. */
  readonly floorId: string;
  readonly floorLabel: string;
  readonly rows: readonly RowResult[];
  readonly notes: readonly string[];
}

export interface SizeRow {
  readonly label: string;
  readonly what: string;
  readonly bytes: number | null;
}

export interface ReportInput {
  readonly date: string;
  readonly command: string;
  readonly durationS: number;
  readonly machine: Machine & { readonly load?: string };
  readonly versions: readonly (readonly [string, string])[];
  readonly method: readonly string[];
  readonly workloads: readonly WorkloadResult[];
  readonly sizes: readonly SizeRow[];
  readonly notes: readonly string[];
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toLocaleString("en-US");
}

export function formatRatio(value: number | null): string {
  return value === null || !Number.isFinite(value) ? "n/a" : `${value.toFixed(2)}×`;
}

function formatMiB(value: number | null): string {
  return value === null ? "n/a" : value.toFixed(1);
}

function medianOf(workload: WorkloadResult, runnerId: string): number | null {
  const row = workload.rows.find((candidate) => candidate.runnerId === runnerId);
  return row?.summary ? row.summary.medianMs : null;
}

export function ratio(workload: WorkloadResult, runnerId: string, denominatorId: string): number | null {
  const numerator = medianOf(workload, runnerId);
  const denominator = medianOf(workload, denominatorId);
  return numerator === null || denominator === null || denominator === 0 ? null : numerator / denominator;
}

function workloadTable(workload: WorkloadResult): string {
  const lines = [
    `### ${workload.id}: ${workload.title}`,
    "",
    `${workload.reps} run(s) per row, interleaved. Floor: ${workload.floorLabel}.`,
    "",
    "| tool | runs | median ms | min ms | max ms | peak RSS MiB (median) | × floor | × dbmate |",
    "|---|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const row of workload.rows) {
    const label = row.kind === "floor" ? `*${row.label}*` : `**${row.label}**`;
    if (!row.summary) {
      lines.push(`| ${label} | 0 | failed: ${(row.error ?? "no runs").replaceAll("|", "\\|").slice(0, 160)} | | | | | |`);
      continue;
    }
    const { summary } = row;
    lines.push(
      `| ${label} | ${summary.runs} | ${formatMs(summary.medianMs)} | ${formatMs(summary.minMs)} | ${formatMs(summary.maxMs)} | ${formatMiB(summary.medianRssMiB)} | ${formatRatio(ratio(workload, row.runnerId, workload.floorId))} | ${formatRatio(ratio(workload, row.runnerId, "dbmate"))} |`,
    );
  }
  for (const note of workload.notes) lines.push("", note);
  return lines.join("\n");
}

interface Target {
  readonly text: string;
  readonly value: string;
  readonly met: boolean | null;
}

/** The targets of issue 6, checked against this run's medians. */
export function targets(workloads: readonly WorkloadResult[]): Target[] {
  const result: Target[] = [];
  const byId = new Map(workloads.map((workload) => [workload.id, workload]));
  const check = (value: number | null, limit: number, below = true): boolean | null =>
    value === null ? null : below ? value <= limit : value >= limit;
  const w2 = byId.get("W2");
  if (w2) {
    const toFloor = ratio(w2, "st44-migrate", w2.floorId);
    result.push({ text: `W2 no-op up within 1.2× of the --bytecode Bun floor`, value: formatRatio(toFloor), met: check(toFloor, 1.2) });
    const toDbmate = ratio(w2, "st44-migrate", "dbmate");
    result.push({ text: "W2 no-op up faster than dbmate up", value: formatRatio(toDbmate), met: toDbmate === null ? null : toDbmate < 1 });
    const rss = w2.rows.find((row) => row.runnerId === "st44-migrate")?.summary?.maxRssMiB ?? null;
    result.push({ text: "W2 peak RSS of a no-op start under 64 MiB (largest of the runs)", value: rss === null ? "n/a" : `${rss.toFixed(1)} MiB`, met: rss === null ? null : rss < 64 });
  }
  for (const id of ["W1", "W3"]) {
    const workload = byId.get(id);
    if (!workload) continue;
    const toFloor = ratio(workload, "st44-migrate", workload.floorId);
    result.push({ text: `${id} within 1.3× of the server floor`, value: formatRatio(toFloor), met: check(toFloor, 1.3) });
    const toDbmate = ratio(workload, "st44-migrate", "dbmate");
    result.push({ text: `${id} faster than dbmate`, value: formatRatio(toDbmate), met: toDbmate === null ? null : toDbmate < 1 });
  }
  return result;
}

export function renderReport(input: ReportInput): string {
  const lines: string[] = [];
  lines.push(`## Run of ${input.date}`, "");
  lines.push("Re-run it (on a fresh clone: `npm install` first; the bench builds dist/st44-migrate when it is missing or older than src/):", "");
  lines.push("```sh", input.command, "```", "");
  lines.push(`The whole run took ${Math.round(input.durationS)} s.`, "");

  const checked = targets(input.workloads);
  if (checked.length > 0) {
    lines.push("### Targets of issue 6", "", "| target | st44-migrate in this run | met |", "|---|--:|:-:|");
    for (const target of checked) lines.push(`| ${target.text} | ${target.value} | ${target.met === null ? "n/a" : target.met ? "yes" : "**no**"} |`);
    lines.push("");
  }

  lines.push("### Machine", "", "| | |", "|---|---|");
  lines.push(`| CPU | ${input.machine.cpu} |`, `| cores | ${input.machine.cores} |`, `| memory | ${input.machine.memory} |`);
  lines.push(`| OS | ${input.machine.os}, ${input.machine.kernel} |`);
  if (input.machine.load) lines.push(`| load average | ${input.machine.load} |`);
  lines.push("");

  lines.push("### Versions", "", "| | |", "|---|---|");
  for (const [name, version] of input.versions) lines.push(`| ${name} | ${version} |`);
  lines.push("");

  lines.push("### Method", "");
  for (const item of input.method) lines.push(`- ${item}`);
  lines.push("");

  for (const workload of input.workloads) lines.push(workloadTable(workload), "");

  if (input.sizes.length > 0) {
    lines.push("### Binary size", "", "| tool | what | MiB |", "|---|---|--:|");
    for (const size of input.sizes) lines.push(`| ${size.label} | ${size.what} | ${size.bytes === null ? "n/a" : (size.bytes / 1024 / 1024).toFixed(1)} |`);
    lines.push("");
  }

  if (input.notes.length > 0) {
    lines.push("### Notes", "");
    for (const note of input.notes) lines.push(`- ${note}`);
    lines.push("");
  }
  return lines.join("\n");
}

export const BEGIN_MARKER = "<!-- bench:begin (written by `bun run bench`; edit outside these markers) -->";
export const END_MARKER = "<!-- bench:end -->";

/** Puts the generated section between the markers, keeping what is written around them. */
export function spliceReport(existing: string | null, section: string): string {
  const block = `${BEGIN_MARKER}\n\n${section.trimEnd()}\n\n${END_MARKER}`;
  if (existing !== null) {
    const begin = existing.indexOf("<!-- bench:begin");
    const end = existing.indexOf(END_MARKER);
    if (begin !== -1 && end > begin) return `${existing.slice(0, begin)}${block}${existing.slice(end + END_MARKER.length)}`;
  }
  return `# Benchmarks\n\nHow long st44-migrate takes on a container start and when applying migrations, against the tools a user would pick instead (issue 6).\n\n${block}\n`;
}
