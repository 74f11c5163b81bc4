/**
 * `st44-migrate check` stopped by a signal, as a user's Ctrl-C or CI's
 * cancel stops it: the statement it is running is ended, the databases it
 * made on --url are dropped, and it exits 130 (SIGINT) or 143 (SIGTERM).
 * Spawned from the source (bun src/bin.ts), so the signal reaches the CLI.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client } from "../support/database.ts";

const ROOT = join(import.meta.dir, "../..");
const serverUrl = () => process.env.TEST_DATABASE_URL ?? "";
const admin = client(serverUrl());
afterAll(() => admin.end());

/** The seed set plus a migration whose statement sleeps for an hour. */
function slowFolder(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "st44-check-interrupt-")), "migrations");
  cpSync(join(ROOT, "migrations"), dir, { recursive: true });
  writeFileSync(join(dir, "017_sleep.sql"), "-- migrate:up\nSELECT pg_sleep(3600);\n-- migrate:down\nSELECT 1;\n");
  return dir;
}

/** The st44_check_* databases where a backend runs the sleep, once there is one. */
async function sleepingIn(deadline: number): Promise<string[]> {
  while (Date.now() < deadline) {
    const rows = await admin<{ datname: string }[]>`select datname from pg_stat_activity where datname like 'st44\_check\_%' and query like '%pg_sleep(3600)%' and state = 'active'`;
    if (rows.length > 0) return rows.map((row) => row.datname);
    await Bun.sleep(100);
  }
  throw new Error("the check never got to the sleeping statement");
}

describe("check stopped by a signal", () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    test(`${signal} while a statement runs: the backend is ended, its databases dropped, exit ${code}`, async () => {
      const child = Bun.spawn([process.execPath, join(ROOT, "src/bin.ts"), "check", "--url", serverUrl(), "--dir", slowFolder()], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: "1" },
        stdout: "pipe",
        stderr: "pipe",
        stdin: "ignore",
      });
      const killer = setTimeout(() => child.kill("SIGKILL"), 50_000);
      try {
        const databases = await sleepingIn(Date.now() + 40_000);
        child.kill(signal);
        const [stderr, exit] = await Promise.all([new Response(child.stderr).text(), child.exited]);
        expect(exit).toBe(code);
        expect(stderr).toContain("[INTERRUPTED]");
        const left = await admin<{ datname: string }[]>`select datname from pg_database where datname in ${admin(databases)}`;
        expect(left.map((row) => row.datname)).toEqual([]);
        const sleeping = await admin`select pid from pg_stat_activity where query like '%pg_sleep(3600)%' and datname in ${admin(databases)}`;
        expect(sleeping.length).toBe(0);
      } finally {
        clearTimeout(killer);
        child.kill("SIGKILL");
      }
    }, 60_000);
  }
});
