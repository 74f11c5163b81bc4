/**
 * Where the time of a no-op start goes: small probe programs compiled like
 * st44-migrate (--compile --bytecode --format=esm --minify), each adding one
 * thing, run interleaved with st44-migrate's own commands against one
 * PostgreSQL. The differences between rows are the cost of each step.
 *
 *   bun bench/startup.ts [--reps N] [--url URL] [--binary PATH]
 *
 * --binary compares another build of st44-migrate (default dist/st44-migrate;
 * built when missing). Prints a markdown table; writes nothing.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureTime, settleBinaries } from "./lib/environment.ts";
import { type Sample, createMeasurer, summarize } from "./lib/measure.ts";
import { formatMs } from "./lib/report.ts";
import { openServer } from "./lib/server.ts";

const root = join(import.meta.dir, "..");
const bun = process.execPath;
const log = (line: string) => process.stderr.write(`[startup] ${line}\n`);
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { reps: { type: "string", default: "21" }, url: { type: "string" }, binary: { type: "string" } },
});
const reps = Math.max(1, Number(flags.reps) || 21);

/** Probe programs: the source, and what the step from the previous row adds. */
const probes: Record<string, string> = {
  "empty": `if (process.env.NEVER) console.log(1);\n`,
  "citty": `import { defineCommand } from "citty";\nif (process.env.NEVER) console.log(defineCommand);\n`,
  "consola-core": `import { createConsola } from "consola/core";\nif (process.env.NEVER) console.log(createConsola);\n`,
  "consola": `import { createConsola } from "consola";\nif (process.env.NEVER) console.log(createConsola);\n`,
  "postgres-import": `import postgres from "postgres";\nif (process.env.NEVER) console.log(postgres);\n`,
  "process-stderr": `const stream = process.stderr;\nif (process.env.NEVER) console.log(stream);\nprocess.exit(0);\n`,
  "floor-no-end": `import postgres from "postgres";\nconst sql = postgres(process.env.DATABASE_URL!, { max: 1, fetch_types: false, onnotice: () => {} });\nawait sql.unsafe("select 1");\nprocess.exit(0);\n`,
};

const scratch = mkdtempSync(join(tmpdir(), "st44-startup-"));
// The probes import citty, consola and postgres from the project's node_modules.
symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"));
const server = await openServer({ url: flags.url, log });
try {
  const source = flags.binary ?? join(root, "dist/st44-migrate");
  if (!existsSync(source)) {
    if (flags.binary !== undefined) throw new Error(`--binary ${flags.binary}: no such file`);
    log("building dist/st44-migrate");
    if (spawnSync(bun, [join(root, "scripts/build.ts")], { cwd: root, stdio: "inherit" }).status !== 0) throw new Error("build failed");
  }
  // A private copy, as in bench/run.ts: dist/ may be rebuilt meanwhile.
  const binary = join(scratch, "st44-migrate");
  copyFileSync(source, binary);
  chmodSync(binary, 0o755);
  const compiled: Record<string, string> = {};
  const sources = { ...probes, floor: null };
  for (const [name, source] of Object.entries(sources)) {
    const entry = source === null ? join(root, "bench/floor.ts") : join(scratch, `${name}.ts`);
    if (source !== null) writeFileSync(entry, source);
    const outfile = join(scratch, `probe-${name}`);
    const result = spawnSync(bun, ["build", "--compile", "--bytecode", "--format=esm", "--minify", entry, "--outfile", outfile], { cwd: root, encoding: "utf8" });
    if (result.status !== 0 || /failed to generate bytecode/i.test(result.stderr)) throw new Error(`compiling ${name}: ${result.stderr}`);
    compiled[name] = outfile;
  }

  settleBinaries([binary, ...Object.values(compiled)]);
  const database = `startup_${randomBytes(3).toString("hex")}`;
  await server.createDatabase(database);
  const url = server.urlFor(database);
  const preferUrl = url.replace(/[?&]sslmode=disable/, "");
  const time = ensureTime({ install: false, log });
  const measurer = createMeasurer(time.path, scratch);
  const cwd = join(scratch, "cwd");
  mkdirSync(cwd);
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", DATABASE_URL: url, NO_COLOR: "1" };
  measurer.run([binary, "up"], { env, cwd });

  const rows: { label: string; argv: string[]; env?: Record<string, string>; meaning: string }[] = [
    { label: "/bin/true", argv: ["/bin/true"], meaning: "spawning a process from the bench (and /usr/bin/time)" },
    { label: "Bun: empty program", argv: [compiled.empty!], meaning: "the Bun runtime starting and exiting" },
    { label: "Bun: import citty", argv: [compiled.citty!], meaning: "citty (node:util parseArgs)" },
    { label: "Bun: import consola/core", argv: [compiled["consola-core"]!], meaning: "consola without its reporters (what st44-migrate loads)" },
    { label: "Bun: import consola", argv: [compiled.consola!], meaning: "consola's main entry, which st44-migrate no longer loads: node:tty, node:readline, node:util inspect, `new Intl.Segmenter()` and the default instance with process.stdout/stderr, all at load" },
    { label: "Bun: touch process.stderr, exit", argv: [compiled["process-stderr"]!], meaning: "creating the process.stderr stream (node:stream and fs streams); st44-migrate writes with writeSync instead" },
    { label: "Bun: import postgres", argv: [compiled["postgres-import"]!], meaning: "postgres.js and node:net, tls, crypto, stream, os, perf_hooks" },
    { label: "Bun floor without sql.end()", argv: [compiled["floor-no-end"]!], meaning: "+ connect, log in, select 1" },
    { label: "Bun floor (bench/floor.ts)", argv: [compiled.floor!], meaning: "+ sql.end(): Terminate, wait for the server to close" },
    { label: "st44-migrate --version", argv: [binary, "--version"], meaning: "st44-migrate's start-up without any command" },
    { label: "st44-migrate version", argv: [binary, "version"], meaning: "+ loading one command (citty) and printing" },
    { label: "st44-migrate up (no-op)", argv: [binary, "up"], meaning: "W2: + connect, read schema_migrations, plan, one log line, Terminate (not waiting for the server to close)" },
    { label: "st44-migrate up, LOG_FORMAT=json", argv: [binary, "up"], env: { LOG_FORMAT: "json" }, meaning: "the JSON log reporter instead of plain" },
    { label: "st44-migrate up, sslmode=prefer", argv: [binary, "up"], env: { DATABASE_URL: preferUrl }, meaning: "the default sslmode (prefer) against a server without TLS: one SSLRequest round trip more" },
    { label: "st44-migrate status (no-op)", argv: [binary, "status"], meaning: "status: the same read, and a table on stdout" },
  ];
  const samples = rows.map(() => [] as Sample[]);
  for (let rep = 0; rep < reps; rep++) {
    for (let offset = 0; offset < rows.length; offset++) {
      const index = (offset + rep) % rows.length;
      const row = rows[index]!;
      samples[index]!.push(measurer.run(row.argv, { env: { ...env, ...row.env }, cwd }));
    }
    if ((rep + 1) % 5 === 0) log(`round ${rep + 1}/${reps}`);
  }
  const lines = [
    `${reps} interleaved runs per row; wall time from spawn to exit, as in bench/run.ts.`,
    "",
    "| probe | median ms | min ms | peak RSS MiB | what the step adds |",
    "|---|--:|--:|--:|---|",
  ];
  rows.forEach((row, index) => {
    const summary = summarize(samples[index]!);
    lines.push(`| ${row.label} | ${formatMs(summary.medianMs)} | ${formatMs(summary.minMs)} | ${summary.medianRssMiB === null ? "n/a" : summary.medianRssMiB.toFixed(1)} | ${row.meaning} |`);
  });
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
}
