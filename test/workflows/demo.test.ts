/**
 * `npm run demo` (scripts/demo.ts), as the quick start runs it: it passes,
 * and stopped with Ctrl-C or SIGTERM it leaves nothing in the temporary
 * directory (its throwaway PostgreSQL lives there).
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnWatched } from "../support/process.ts";

// The preload's setDefaultTimeout(60_000) reaches only the first file of a bun test run (Bun 1.4.5): set it here too.
setDefaultTimeout(120_000);

const ROOT = join(import.meta.dir, "../..");
const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A TMPDIR of the demo's own, so what it leaves is seen (and other runs' files are not). */
function ownTmpdir(): string {
  const dir = mkdtempSync(join(tmpdir(), "st44-demo-tmp-"));
  // As root the server runs as the `postgres` user, which must reach its data directory in here.
  chmodSync(dir, 0o755);
  scratch.push(dir);
  return dir;
}

function demo(tmp: string) {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), TMPDIR: tmp };
  delete env.TEST_DATABASE_URL;
  return spawnWatched([process.execPath, join(ROOT, "scripts/demo.ts")], { env, cwd: ROOT });
}

describe("scripts/demo.ts", () => {
  test("runs status, up, up, status against its own PostgreSQL, exits 0 and leaves the temporary directory empty", async () => {
    const tmp = ownTmpdir();
    const run = demo(tmp);
    const code = await run.exited;
    expect(code, `${run.stdout()}\n${run.stderr()}`).toBe(0);
    expect(run.stdout()).toContain("demo done");
    expect(run.stdout().match(/\(exit 0\)/g)?.length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(tmp)).toEqual([]);
  });

  for (const [signal, exitCode] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    test(`stopped by ${signal} once its PostgreSQL runs: exits ${exitCode} and removes the server's directory`, async () => {
      const tmp = ownTmpdir();
      const run = demo(tmp);
      await run.waitFor(/\$ st44-migrate status/, 60_000);
      expect(readdirSync(tmp).some((name) => name.startsWith("st44-pg-"))).toBe(true);
      run.child.kill(signal);
      const code = await run.exited;
      expect(code).toBe(exitCode);
      expect(readdirSync(tmp)).toEqual([]);
    });
  }
});
