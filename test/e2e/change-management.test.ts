/** Rollback, plan, verify and create as an operator runs them: the compiled binary against real PostgreSQL. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestDatabase, freshDatabases, tablesOf } from "../support/database.ts";
import { BINARY, runBinary } from "../support/cli.ts";

const freshDatabase = freshDatabases("e2echange");

describe("rolling back a deploy", () => {
  test("an older build (ST44_EMBEDDED_UNTIL) rolls back a newer build's migrations with the down SQL stored when they were applied", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    expect((await runBinary(["up"], { env })).code).toBe(0);
    const older = { ...env, ST44_EMBEDDED_UNTIL: "013" };

    const status = await runBinary(["status", "--json"], { env: older });
    expect(JSON.parse(status.stdout).unknown).toEqual(["014", "015", "016"]);
    const verify = await runBinary(["verify"], { env: older });
    expect(verify.code).toBe(4);
    expect(verify.stdout).toContain("014 (create_tasks_table): applied, but this build does not know it (can be rolled back with down --to-known)");

    const refused = await runBinary(["down", "--to-known"], { env: older });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("[CONFIRMATION_REQUIRED]");
    expect(await tablesOf(db.sql)).toContain("tasks");

    const rolledBack = await runBinary(["down", "--to-known", "--yes"], { env: older });
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.stderr).toContain("rolled back 016_create_task_completions_table");
    expect(rolledBack.stderr).toContain("(down SQL stored in schema_migrations)");
    expect(await tablesOf(db.sql)).toEqual(["children", "household_members", "households", "schema_migrations", "users"]);
    expect((await runBinary(["verify"], { env: older })).code).toBe(0);
    // The newer build can roll forward again.
    expect((await runBinary(["up"], { env })).code).toBe(0);
    expect(await tablesOf(db.sql)).toContain("task_completions");
  });

  test("down --steps and --to need --yes without a terminal, and exactly one target", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    await runBinary(["up"], { env });
    const both = await runBinary(["down", "--steps", "1", "--to", "013", "--yes"], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("exactly one of --to VERSION");
    const steps = await runBinary(["down", "--steps", "1", "--yes"], { env });
    expect(steps.code).toBe(0);
    expect(await tablesOf(db.sql)).not.toContain("task_completions");
    const to = await runBinary(["down", "--to", "013", "--yes"], { env });
    expect(to.code).toBe(0);
    expect(to.stderr).toContain("latest applied is now 013");
  });
});

describe("down refuses what it cannot do as meant", () => {
  test("--to a version that does not exist, or matches one only by number, is a usage error naming the versions; nothing is rolled back", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    expect((await runBinary(["up"], { env })).code).toBe(0);
    const absent = await runBinary(["down", "--to", "005", "--yes"], { env });
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain("[USAGE] --to 005 names no migration that is applied or known to this build. There is no migration 005.");
    expect(absent.stderr).toContain("Applied: 000, 001, 011, 012, 013, 014, 015, 016");
    const typo = await runBinary(["down", "--to", "01", "--yes"], { env });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("--to 01 is version 001 by number; write it as --to 001");
    expect(await tablesOf(db.sql)).toContain("task_completions");
    expect(await tablesOf(db.sql)).toContain("households");
  });

  test("a migration file edited after it was applied is rolled back with the down SQL stored when it was applied", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-down-edited-"));
    const file = join(dir, "001_notes.sql");
    writeFileSync(file, "-- migrate:up\ncreate table notes (id int);\n-- migrate:down\ndrop table notes;\n");
    const env = { DATABASE_URL: db.url, MIGRATIONS_DIR: dir };
    expect((await runBinary(["up"], { env })).code).toBe(0);
    writeFileSync(file, "-- migrate:up\ncreate table notes (id int);\n-- migrate:down\ndrop table notes;\ncreate table edited_down_ran (id int);\n");
    const refused = await runBinary(["down", "--steps", "1"], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("down SQL stored in schema_migrations when it was applied (the file was edited after it was applied; its down part is not used)");
    const down = await runBinary(["down", "--steps", "1", "--yes"], { env });
    expect(down.code).toBe(0);
    expect(down.stderr).toContain("rolled back 001_notes");
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
  });
});

describe("down on a terminal", () => {
  // script(1) gives the binary a terminal and passes our stdin to it, as an operator types.
  const onTerminal = (db: TestDatabase, answer: string) =>
    Bun.spawnSync(["script", "-qec", `${BINARY} down --steps 1 --log-format plain`, "/dev/null"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DATABASE_URL: db.url, NO_COLOR: "1" },
      stdin: new TextEncoder().encode(`${answer}\n`),
    });

  test("asks before rolling back: anything but yes leaves the database as it was, yes rolls back", async () => {
    const db = await freshDatabase();
    expect((await runBinary(["up"], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const declined = onTerminal(db, "no");
    expect(declined.exitCode).toBe(2);
    // The prompt names the applied row (version, name, applied_at) and where its down SQL comes from.
    expect(declined.stdout.toString()).toMatch(
      /Roll back 1 migration\(s\), newest first:\r?\n  016 create_task_completions_table, applied \d{4}-\d\d-\d\dT[\d:.]+Z; down SQL from 016_create_task_completions_table\.sql\r?\n/,
    );
    expect(declined.stdout.toString()).toContain("[CONFIRMATION_REQUIRED] Not confirmed; nothing was rolled back.");
    expect(await tablesOf(db.sql)).toContain("task_completions");
    const confirmed = onTerminal(db, "yes");
    expect(confirmed.exitCode).toBe(0);
    expect(confirmed.stdout.toString()).toContain("latest applied is now 015");
    expect(await tablesOf(db.sql)).not.toContain("task_completions");
  });
});

describe("plan", () => {
  test("shows what up would apply, with the SQL, and writes nothing (not even the tracking table)", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    const plan = await runBinary(["plan"], { env });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("8 migration(s) would be applied to");
    expect(plan.stdout).toContain("-- 001_create_users_table.sql (in one transaction with its tracking row)");
    expect(plan.stdout).toContain("CREATE OR REPLACE FUNCTION update_updated_at_column()");
    const json = await runBinary(["up", "--dry-run", "--json"], { env });
    expect(json.code).toBe(2); // --json is plan's flag, not up's
    const document = JSON.parse((await runBinary(["plan", "--json"], { env })).stdout);
    expect(document.pending.map((migration: { version: string }) => migration.version)).toEqual(["000", "001", "011", "012", "013", "014", "015", "016"]);
    expect(document.pending[0].transaction).toBe(true);
    expect((await runBinary(["up", "--dry-run"], { env })).stdout).toContain("8 migration(s) would be applied");
    expect(await tablesOf(db.sql)).toEqual([]);
  });
});

describe("create", () => {
  test("writes the next free version with both markers; a bad name is a usage error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-create-"));
    writeFileSync(join(dir, "000_a.sql"), "select 1;\n");
    writeFileSync(join(dir, "016_b.sql"), "select 1;\n");
    const created = await runBinary(["create", "add_task_notes", "--dir", dir]);
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toBe(join(dir, "017_add_task_notes.sql"));
    const text = readFileSync(join(dir, "017_add_task_notes.sql"), "utf8");
    expect(text).toContain("-- migrate:up\n");
    expect(text).toContain("-- migrate:down\n");
    const bad = await runBinary(["create", "Add Notes", "--dir", dir]);
    expect(bad.code).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(["000_a.sql", "016_b.sql", "017_add_task_notes.sql"]);
  });
});
