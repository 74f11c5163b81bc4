/**
 * The markdown report: machine, versions, the exact command, one table per
 * workload (median / min / max wall time, median peak RSS, ratio to the
 * workload's floor and to dbmate), the targets of issue 14 checked against
 * the run's own medians, binary sizes.
 */
import type { GuardResult } from "./checksum-guard.ts";
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

/** What the size target of issue 14 compares: the binary with the large set embedded, the bare runtime, the set's SQL text. */
export interface SizeCheck {
  readonly count: number;
  /** dist/st44-migrate (the eight seed migrations): the runner's own code on top of the runtime. */
  readonly seedBytes: number;
  readonly embeddedBytes: number;
  readonly bareBytes: number;
  readonly sqlBytes: number;
}

export interface ReportInput {
  readonly date: string;
  readonly command: string;
  readonly durationS: number;
  readonly machine: Machine & { readonly load?: string };
  readonly versions: readonly (readonly [string, string])[];
  /** Each workload's id and one-line definition, in the order of the tables. */
  readonly definitions: readonly (readonly [string, string])[];
  readonly method: readonly string[];
  readonly workloads: readonly WorkloadResult[];
  readonly sizes: readonly SizeRow[];
  readonly sizeCheck: SizeCheck | null;
  /** Each measured build shown a changed migration after the rounds (bench/lib/checksum-guard.ts). */
  readonly guards: readonly GuardResult[];
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

export interface Target {
  readonly text: string;
  readonly value: string;
  readonly met: boolean | null;
}

/** Issue 14's limits, in one place so the report and the test agree on them. */
export const LIMITS = {
  toDbmate: 1.0,
  w2ToBunFloor: 1.05,
  largeMs: 150,
  embeddedToDir: 1.0,
  rssMiB: 64,
  sizeOverBareAndSql: 1.1,
  toServerFloor: 1.3,
} as const;

function medianRow(workload: WorkloadResult | undefined, runnerId: string): Summary | null {
  return workload?.rows.find((row) => row.runnerId === runnerId)?.summary ?? null;
}

/** The targets of issue 14, checked against this run's medians (null: not measured in this run). */
export function targets(workloads: readonly WorkloadResult[], sizeCheck: SizeCheck | null, guards: readonly GuardResult[] = []): Target[] {
  const result: Target[] = [];
  if (guards.length > 0) {
    const passed = guards.filter((guard) => guard.ok).length;
    result.push({ text: "checksums still verified: every measured build refuses a changed migration (`up`) and reports it (`status --json`)", value: `${passed} of ${guards.length} checks`, met: passed === guards.length });
  }
  const byId = new Map(workloads.map((workload) => [workload.id, workload]));
  const atMost = (value: number | null, limit: number): boolean | null => (value === null ? null : value <= limit);
  for (const workload of workloads) {
    const toDbmate = ratio(workload, "st44-migrate", "dbmate");
    result.push({ text: `${workload.id} at or below ${LIMITS.toDbmate.toFixed(1)}× dbmate`, value: formatRatio(toDbmate), met: atMost(toDbmate, LIMITS.toDbmate) });
  }
  const w2 = byId.get("W2");
  if (w2) {
    const toFloor = ratio(w2, "st44-migrate", "bun-floor");
    result.push({ text: `W2 at or below ${LIMITS.w2ToBunFloor}× the postgres.js Bun floor`, value: formatRatio(toFloor), met: atMost(toFloor, LIMITS.w2ToBunFloor) });
  }
  for (const id of ["W7", "W8"]) {
    const workload = byId.get(id);
    if (!workload) continue;
    const ms = medianRow(workload, "st44-migrate")?.medianMs ?? null;
    result.push({ text: `${id} at or below ${LIMITS.largeMs} ms (median)`, value: ms === null ? "n/a" : `${formatMs(ms)} ms`, met: atMost(ms, LIMITS.largeMs) });
  }
  const w6 = byId.get("W6");
  if (w6) {
    const embeddedToDir = ratio(w6, "st44-migrate", "st44-migrate-dir");
    result.push({ text: "W6 embedded no slower than `--dir` (the same binary and files, same rounds)", value: formatRatio(embeddedToDir), met: atMost(embeddedToDir, LIMITS.embeddedToDir) });
    const rss = medianRow(w6, "st44-migrate")?.maxRssMiB ?? null;
    result.push({ text: `W6 peak RSS below ${LIMITS.rssMiB} MiB (largest of the runs)`, value: rss === null ? "n/a" : `${rss.toFixed(1)} MiB`, met: rss === null ? null : rss < LIMITS.rssMiB });
  }
  if (sizeCheck) {
    const toBareAndSql = sizeCheck.embeddedBytes / (sizeCheck.bareBytes + sizeCheck.sqlBytes);
    const overRuntime = (sizeCheck.embeddedBytes - sizeCheck.bareBytes) / sizeCheck.sqlBytes;
    const overSeedBuild = (sizeCheck.embeddedBytes - sizeCheck.seedBytes) / sizeCheck.sqlBytes;
    result.push({
      text: `binary with ${sizeCheck.count.toLocaleString("en-US")} embedded within ${Math.round((LIMITS.sizeOverBareAndSql - 1) * 100)}% of the bare runtime plus the SQL text (binary / (runtime + SQL); (binary - runtime) / SQL is ${overRuntime.toFixed(1)}×, (binary - dist/st44-migrate) / SQL ${overSeedBuild.toFixed(1)}×)`,
      value: formatRatio(toBareAndSql),
      met: toBareAndSql <= LIMITS.sizeOverBareAndSql,
    });
  }
  for (const id of ["W1", "W3"]) {
    const workload = byId.get(id);
    if (!workload) continue;
    const toFloor = ratio(workload, "st44-migrate", "server-floor");
    result.push({ text: `${id} at or below ${LIMITS.toServerFloor}× the server floor`, value: formatRatio(toFloor), met: atMost(toFloor, LIMITS.toServerFloor) });
  }
  return result;
}

export function renderReport(input: ReportInput): string {
  const lines: string[] = [];
  lines.push(`## Run of ${input.date}`, "");
  lines.push("Re-run it (on a fresh clone: `npm install` first; the bench builds dist/st44-migrate when it is missing or older than src/):", "");
  lines.push("```sh", input.command, "```", "");
  lines.push(`The whole run took ${Math.round(input.durationS)} s.`, "");

  if (input.definitions.length > 0) {
    lines.push("### Workloads", "", "| id | what is timed |", "|---|---|");
    for (const [id, definition] of input.definitions) lines.push(`| ${id} | ${definition} |`);
    lines.push("");
  }

  const checked = targets(input.workloads, input.sizeCheck, input.guards);
  if (checked.length > 0) {
    lines.push("### Targets of issue 14", "", "Computed by the bench from this run (bench/lib/report.ts).", "", "| target | st44-migrate in this run | met |", "|---|--:|:-:|");
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

  if (input.guards.length > 0) {
    lines.push("### Checksums still verified", "", "After the timed rounds, untimed: one migration of each set changed, then put back (bench/lib/checksum-guard.ts).", "");
    lines.push("| build | change | command | seen | as required |", "|---|---|---|---|:-:|");
    for (const guard of input.guards) lines.push(`| ${guard.label} | ${guard.change} | \`${guard.command}\` | ${guard.seen.replaceAll("|", "\\|")} | ${guard.ok ? "yes" : "**no**"} |`);
    lines.push("");
  }

  if (input.sizes.length > 0) {
    lines.push("### Binary size", "", "| tool | what | MiB |", "|---|---|--:|");
    for (const size of input.sizes) lines.push(`| ${size.label} | ${size.what} | ${size.bytes === null ? "n/a" : (size.bytes / 1024 / 1024).toFixed(size.bytes < 10 * 1024 * 1024 ? 2 : 1)} |`);
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
  return `# Benchmarks\n\nHow long st44-migrate takes on a container start, when applying migrations and at 10,000 migrations, against the tools a user would pick instead (issues 6 and 14).\n\n${block}\n`;
}
