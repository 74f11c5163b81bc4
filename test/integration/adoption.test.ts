/**
 * Adopting what other tools and hands left: dbmate's and golang-migrate's
 * tables, rows that record another file under a version, rows that claim a
 * schema that is not there, and the hand corrections (mark-applied, forget,
 * baseline) that sort them out (issue 11 items 2-4, issue 17 item 1).
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MigrateError } from "../../src/core/errors.ts";
import { baselineTo, forgetMigration, markApplied, migrateDown, readPlan } from "../../src/migrator.ts";
import { MIGRATION_LOCK_KEY } from "../../src/db/lock.ts";
import { runBinary } from "../support/cli.ts";
import { type TestDatabase, freshDatabases, tablesOf } from "../support/database.ts";
import { migrationsFrom, rejection, runnerClient, up, withOptions } from "../support/migrator.ts";

let db: TestDatabase;
const freshDatabase = freshDatabases("adopt");
beforeEach(async () => {
  db = await freshDatabase();
});


const threeTables = () =>
  migrationsFrom({
    "001_a.sql": "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
    "002_b.sql": "-- migrate:up\ncreate table b (id int);\n-- migrate:down\ndrop table b;\n",
    "003_c.sql": "-- migrate:up\ncreate table c (id int);\n-- migrate:down\ndrop table c;\n",
  });
const agree = async () => {};

describe("dbmate's schema_migrations (version only)", () => {
  test("is adopted in place: its versions count as applied, only the rest runs, its rows keep no invented name or time", async () => {
    await db.sql.unsafe(`create table schema_migrations (version varchar(128) primary key);
      insert into schema_migrations values ('001'), ('002'); create table a (id int); create table b (id int);`);
    const result = await up(db.url, threeTables());
    expect(result.applied.map((applied) => applied.version)).toEqual(["003"]);
    const rows = await db.sql<{ version: string; name: string | null; applied_at: Date | null; checksum: string | null }[]>`
      select version, name, applied_at, checksum from schema_migrations order by version`;
    expect(rows.map((row) => [row.version, row.name, row.applied_at === null])).toEqual([
      ["001", null, true],
      ["002", null, true],
      ["003", "c", false],
    ]);
    const again = await up(db.url, threeTables());
    expect(again.applied).toEqual([]);
  });
});

describe("golang-migrate's schema_migrations (version, dirty)", () => {
  test("its one version stands for every migration up to it; its table is kept under another name", async () => {
    await db.sql.unsafe(`create table schema_migrations (version bigint not null primary key, dirty boolean not null);
      insert into schema_migrations values (2, false); create table a (id int); create table b (id int);`);
    const sql = runnerClient(db.url);
    try {
      const { plan } = await readPlan(sql, threeTables());
      expect(plan.entries.map((entry) => [entry.version, entry.state])).toEqual([
        ["001", "applied"],
        ["002", "applied"],
        ["003", "pending"],
      ]);
    } finally {
      await sql.end();
    }
    const result = await up(db.url, threeTables());
    expect(result.applied.map((applied) => applied.version)).toEqual(["003"]);
    expect(await tablesOf(db.sql)).toContain("schema_migrations_golang_migrate");
    const [kept] = await db.sql`select version, dirty from schema_migrations_golang_migrate`;
    expect(kept).toEqual({ version: "2", dirty: false });
    const rows = await db.sql<{ version: string; history: { action: string; from: string }[] }[]>`select version, history from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(["001", "002", "003"]);
    expect(rows[0]?.history[0]).toMatchObject({ action: "adopted", from: "golang-migrate" });
  });

  test("dirty = true is refused with the fix, and nothing is changed", async () => {
    await db.sql.unsafe(`create table schema_migrations (version bigint not null primary key, dirty boolean not null); insert into schema_migrations values (2, true);`);
    const error = await rejection(up(db.url, threeTables()));
    expect(error.code).toBe("TRACKING_TABLE_DIRTY");
    expect(error.exitCode).toBe(4);
    expect(error.message).toContain("SET dirty = false");
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
  });
});

describe("a row under a migration's version with another file's name", () => {
  const legacyTable = `create table schema_migrations (version varchar(10) primary key, name varchar(255) not null, applied_at timestamptz not null default now());
    create table users (id int); insert into schema_migrations (version, name) values ('040', 'add_single_task_type');`;

  test("is never taken as that migration: up refuses (exit 4), names the row and the fix, writes nothing", async () => {
    await db.sql.unsafe(legacyTable);
    const migrations = migrationsFrom({ "040_add_user_name_fields.sql": "alter table users add column first_name text;" });
    const error = await rejection(up(db.url, migrations));
    expect(error.code).toBe("MIGRATION_MISMATCHED");
    expect(error.exitCode).toBe(4);
    expect(error.message).toContain('version 040 recorded as "add_single_task_type"');
    expect(error.message).toContain("formerly:");
    const columns = await db.sql`select column_name from information_schema.columns where table_name = 'users'`;
    expect(columns.map((column) => column.column_name)).toEqual(["id"]);
  });

  test("a renumbered file that records its old identity claims the row; the other file is applied", async () => {
    await db.sql.unsafe(legacyTable);
    const migrations = migrationsFrom({
      "040_add_user_name_fields.sql": "alter table users add column first_name text;",
      "041_add_single_task_type.sql": "-- migrate:up formerly:040_add_single_task_type\ncreate table tasks (id int);\n",
    });
    await db.sql`create table tasks (id int)`;
    const result = await up(db.url, migrations);
    expect(result.applied.map((applied) => applied.version)).toEqual(["040"]);
    expect(result.plan.entries.map((entry) => [entry.version, entry.state])).toEqual([
      ["040", "applied"],
      ["041", "applied"],
    ]);
    // The old row now stands under the renumbered file's version, its history saying where it came from.
    const rows = await db.sql<{ version: string; name: string; history: { action: string; from_version: string }[] }[]>`select version, name, history from schema_migrations order by version`;
    expect(rows.map((row) => [row.version, row.name])).toEqual([
      ["040", "add_user_name_fields"],
      ["041", "add_single_task_type"],
    ]);
    expect(rows[1]?.history.at(-1)).toMatchObject({ action: "renumbered", from_version: "040" });
  });
});

describe("rows that claim a schema that is not there", () => {
  test("up refuses (SCHEMA_INCOMPLETE) naming the table and the migration; forget lets up apply it again", async () => {
    await up(db.url, threeTables());
    await db.sql`drop table b`;
    const error = await rejection(up(db.url, threeTables()));
    expect(error.code).toBe("SCHEMA_INCOMPLETE");
    expect(error.message).toContain("b (created by 002_b.sql)");
    await withOptions(db.url, threeTables(), (options) => forgetMigration(options, "002", agree));
    const result = await up(db.url, threeTables());
    expect(result.applied.map((applied) => applied.version)).toEqual(["002"]);
    expect(await tablesOf(db.sql)).toContain("b");
  });
});

describe("mark-applied and forget", () => {
  test("mark-applied records one pending migration in the middle without running it, after asking", async () => {
    await up(db.url, threeTables().slice(0, 1));
    await db.sql`create table b (id int)`;
    const questions: string[] = [];
    const marked = await withOptions(db.url, threeTables(), (options) => markApplied(options, "2", async (question) => void questions.push(question)));
    expect(marked.fileName).toBe("002_b.sql");
    expect(questions[0]).toContain("Record 002_b.sql as applied WITHOUT running it?");
    const [row] = await db.sql<{ history: { action: string }[] }[]>`select history from schema_migrations where version = '002'`;
    expect(row?.history[0]?.action).toBe("mark-applied");
    const result = await up(db.url, threeTables());
    expect(result.applied.map((applied) => applied.version)).toEqual(["003"]);
  });

  test("refuses a version that is not pending, and one whose tables do not exist; a refused question writes nothing", async () => {
    await up(db.url, threeTables().slice(0, 1));
    const applied = await rejection(withOptions(db.url, threeTables(), (options) => markApplied(options, "001", agree)));
    expect(applied.code).toBe("MARK_REFUSED");
    const missing = await rejection(withOptions(db.url, threeTables(), (options) => markApplied(options, "002", agree)));
    expect(missing.code).toBe("MARK_REFUSED");
    expect(missing.message).toContain("b (created by 002_b.sql)");
    await db.sql`create table b (id int)`;
    const declined = await rejection(
      withOptions(db.url, threeTables(), (options) =>
        markApplied(options, "002", async () => {
          throw new MigrateError("CONFIRMATION_REQUIRED", "no");
        }),
      ),
    );
    expect(declined.code).toBe("CONFIRMATION_REQUIRED");
    expect(await db.sql`select 1 from schema_migrations where version = '002'`).toHaveLength(0);
  });

  test("neither asks while holding the migration lock", async () => {
    await up(db.url, threeTables().slice(0, 1));
    await db.sql`create table b (id int)`;
    const locksWhileAsked: number[] = [];
    const askAndLook = async () => {
      const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
      locksWhileAsked.push(row?.n ?? -1);
    };
    await withOptions(db.url, threeTables(), (options) => markApplied(options, "002", askAndLook));
    await withOptions(db.url, threeTables(), (options) => forgetMigration(options, "002", askAndLook));
    expect(locksWhileAsked).toEqual([0, 0]);
  });
});

describe("baseline", () => {
  test("refuses a VERSION that is not a migration, and migrations whose tables are missing; --force asks", async () => {
    const typo = await rejection(withOptions(db.url, threeTables(), (options) => baselineTo(options, "999")));
    expect(typo.code).toBe("BASELINE_REFUSED");
    expect(typo.message).toContain("this build has no migration 999");
    const missing = await rejection(withOptions(db.url, threeTables(), (options) => baselineTo(options, "002")));
    expect(missing.code).toBe("BASELINE_REFUSED");
    expect(missing.message).toContain("a (created by 001_a.sql), b (created by 002_b.sql)");
    expect(await tablesOf(db.sql)).toEqual([]);
    const asked: string[] = [];
    const marked = await withOptions(db.url, threeTables(), (options) => baselineTo(options, "002", { force: true, confirm: async (question) => void asked.push(question) }));
    expect(marked.map((migration) => migration.version)).toEqual(["001", "002"]);
    expect(asked).toHaveLength(1);
    const [row] = await db.sql<{ history: { action: string; forced?: boolean }[] }[]>`select history from schema_migrations where version = '001'`;
    expect(row?.history[0]).toMatchObject({ action: "baseline", forced: true });
  });
});

describe("the binary on a legacy table whose rows have no name or time", () => {
  test("status and status --json show them instead of crashing", async () => {
    await db.sql.unsafe(`create table schema_migrations (version varchar(10) primary key, name varchar(255), applied_at timestamptz);
      insert into schema_migrations values ('001', null, null), ('002', 'b', null); create table a (id int); create table b (id int);`);
    const dir = mkdtempSync(join(tmpdir(), "st44-nulls-"));
    writeFileSync(join(dir, "001_a.sql"), "create table a (id int);\n");
    writeFileSync(join(dir, "002_b.sql"), "create table b (id int);\n");
    const table = await runBinary(["status", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^001 +a +applied +unknown/m);
    const json = await runBinary(["status", "--json", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout) as { migrations: { version: string; applied_at: string | null }[] };
    expect(document.migrations.map((migration) => [migration.version, migration.applied_at])).toEqual([
      ["001", null],
      ["002", null],
    ]);
  });
});

describe("baseline racing another runner behind a pooler (transaction-level locks)", () => {
  test("a migration recorded by the other runner after baseline planned is kept, not duplicated (12.21)", async () => {
    const migrations = migrationsFrom({
      "001_a.sql": "create table if not exists a (id int);",
      "002_b.sql": "create table if not exists b (id int);",
    });
    await up(db.url, []);
    await db.sql`create table a (id int)`;
    await db.sql`create table b (id int)`;
    // The other runner: holds the transaction-level migration lock while it records 001.
    const other = await db.sql.reserve();
    try {
      await other.unsafe(`begin; select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}); insert into schema_migrations (version, name) values ('001', 'a')`);
      const baseline = withOptions(db.url, migrations, (options) => baselineTo(options, "002"), { lockMode: "transaction" });
      await new Promise((resolve) => setTimeout(resolve, 700));
      await other.unsafe("commit");
      const marked = await baseline;
      expect(marked.map((migration) => migration.version)).toEqual(["002"]);
    } finally {
      other.release();
    }
    const rows = await db.sql<{ version: string; runner: string | null }[]>`select version, runner from schema_migrations order by version`;
    expect(rows.map((row) => [row.version, row.runner === null])).toEqual([
      ["001", true],
      ["002", false],
    ]);
  });
});

describe("adopting a legacy table while the application reads it (12.9)", () => {
  test("the ALTER TABLE waits no longer than --lock-timeout, and says so", async () => {
    await db.sql.unsafe(`create table schema_migrations (version varchar(10) primary key, name varchar(255) not null, applied_at timestamptz not null default now());
      create table a (id int); insert into schema_migrations (version, name) values ('001', 'a');`);
    const reader = await db.sql.reserve();
    try {
      await reader.unsafe("begin; select * from schema_migrations");
      const started = performance.now();
      const error = await rejection(up(db.url, threeTables(), { lockTimeoutMs: 1000, lockMode: "session" }));
      const waited = performance.now() - started;
      expect(error.code).toBe("LOCK_TIMEOUT");
      expect(error.message).toContain("raise --lock-timeout");
      expect(waited).toBeLessThan(8000);
    } finally {
      await reader.unsafe("rollback");
      reader.release();
    }
    const columns = await db.sql`select column_name from information_schema.columns where table_name = 'schema_migrations'`;
    expect(columns).toHaveLength(3);
  });
});

describe("what the attack on adoption found", () => {
  test("a file renamed in place (formerly: with its own version) keeps its row and is never applied again", async () => {
    await db.sql.unsafe(`create table schema_migrations (version varchar(10) primary key, name varchar(255) not null, applied_at timestamptz not null default now());
      insert into schema_migrations (version, name) values ('001', 'a'), ('002', 'old_b'); create table a (id int); insert into a values (2); create table b (id int);`);
    const migrations = migrationsFrom({
      "001_a.sql": "create table a (id int);",
      "002_b.sql": "-- migrate:up formerly:002_old_b\ncreate table if not exists b (id int); insert into a values (2);\n",
      "003_c.sql": "create table c (id int);",
    });
    const result = await up(db.url, migrations);
    expect(result.applied.map((applied) => applied.version)).toEqual(["003"]);
    expect(await db.sql`select * from a`).toHaveLength(1);
    const [row] = await db.sql<{ name: string }[]>`select name from schema_migrations where version = '002'`;
    expect(row?.name).toBe("b");
  });

  test("forget touches only the row it names, not a former identity's row of another file", async () => {
    await db.sql.unsafe(`create table schema_migrations (version varchar(10) primary key, name varchar(255) not null, applied_at timestamptz not null default now());
      insert into schema_migrations (version, name) values ('001', 'a'), ('040', 'single_task'), ('041', 'bogus'); create table a (id int); create table st (id int);`);
    const migrations = migrationsFrom({
      "001_a.sql": "create table a (id int);",
      "040_user_names.sql": "create table if not exists un (id int);",
      "041_single_task.sql": "-- migrate:up formerly:040_single_task\ncreate table if not exists st (id int);\n",
    });
    await withOptions(db.url, migrations, (options) => forgetMigration(options, "041", agree));
    const rows = await db.sql<{ version: string; name: string }[]>`select version, name from schema_migrations order by version`;
    expect(rows.map((row) => `${row.version}_${row.name}`)).toEqual(["001_a", "040_single_task"]);
  });

  test("forget of a version whose row a renumbered file claims names that file, and removes nothing", async () => {
    await db.sql.unsafe(`create table schema_migrations (version varchar(10) primary key, name varchar(255) not null, applied_at timestamptz not null default now());
      insert into schema_migrations (version, name) values ('001', 'a'), ('040', 'single_task'); create table a (id int); create table st (id int);`);
    const migrations = migrationsFrom({
      "001_a.sql": "create table a (id int);",
      "040_user_names.sql": "create table if not exists un (id int);",
      "041_single_task.sql": "-- migrate:up formerly:040_single_task\ncreate table if not exists st (id int);\n",
    });
    const error = await rejection(withOptions(db.url, migrations, (options) => forgetMigration(options, "040", agree)));
    expect(error.code).toBe("MARK_REFUSED");
    expect(error.message).toContain('the row of version 040 ("single_task") belongs to 041_single_task.sql');
    expect(error.message).toContain("run st44-migrate forget 041");
    const rows = await db.sql<{ version: string }[]>`select version from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(["001", "040"]);
  });

  test("quoted, dotted and public.-qualified table names that exist are not reported missing", async () => {
    const migrations = migrationsFrom({
      "001_a.sql": 'create table "Users" (id int); create schema app; create table app.things (id int); create table "Weird.Name" (id int); create table public.qualified (id int);',
      "002_b.sql": "drop table qualified;",
    });
    await up(db.url, migrations);
    const again = await up(db.url, migrations);
    expect(again.applied).toEqual([]);
  });

  test("an int version column (a hand-made table) is read and rolled back without a cast error", async () => {
    await db.sql.unsafe(`create table schema_migrations (version int primary key, name text not null, applied_at timestamptz not null default now());
      insert into schema_migrations (version, name) values (1, 'a'); create table a (id int);`);
    const sql = runnerClient(db.url);
    try {
      const { plan } = await readPlan(sql, threeTables());
      expect(plan.entries.map((entry) => [entry.version, entry.state])).toEqual([
        ["001", "applied"],
        ["002", "pending"],
        ["003", "pending"],
      ]);
    } finally {
      await sql.end();
    }
    const down = await withOptions(db.url, threeTables().slice(0, 1), (options) => migrateDown(options, { kind: "steps", steps: 1 }, agree));
    expect(down.reverted.map((reverted) => reverted.version)).toEqual(["001"]);
    expect(await tablesOf(db.sql)).not.toContain("a");
  });

  test("a (version, name) table is adopted; adopted rows get no invented applied_by; a row that is not a number is never the latest and can be forgotten", async () => {
    await db.sql.unsafe(`create table schema_migrations (version varchar(20) primary key, name text not null);
      insert into schema_migrations values ('001', 'a'), ('TEMPLATE', 'TEMPLATE'); create table a (id int);`);
    const result = await up(db.url, threeTables());
    expect(result.applied.map((applied) => applied.version)).toEqual(["002", "003"]);
    expect(result.plan.latestApplied).toBe("003");
    const [adopted] = await db.sql<{ applied_by: string | null }[]>`select applied_by from schema_migrations where version = '001'`;
    expect(adopted?.applied_by).toBeNull();
    await withOptions(db.url, threeTables(), (options) => forgetMigration(options, "TEMPLATE", agree));
    expect(await db.sql`select 1 from schema_migrations where version = 'TEMPLATE'`).toHaveLength(0);
  });

  test("a hand-made schema without a tracking table can be baselined: the runner's own table is not a missing one", async () => {
    const migrations = migrationsFrom({
      "000_create_migrations_table.sql": "create table if not exists schema_migrations (version varchar(255) primary key, name varchar(255) not null, applied_at timestamptz not null default now());",
      "001_a.sql": "create table a (id int);",
    });
    await db.sql`create table a (id int)`;
    const marked = await withOptions(db.url, migrations, (options) => baselineTo(options, "001"));
    expect(marked.map((migration) => migration.version)).toEqual(["000", "001"]);
  });

  test("golang-migrate's version beyond every file keeps no invented name, so a later file with that number matches it", async () => {
    await db.sql.unsafe(`create table schema_migrations (version bigint not null primary key, dirty boolean not null); insert into schema_migrations values (99, false); create table a (id int);`);
    await up(db.url, migrationsFrom({ "001_a.sql": "create table if not exists a (id int);" }));
    const later = await up(db.url, migrationsFrom({ "001_a.sql": "create table if not exists a (id int);", "099_z.sql": "select 1;" }));
    expect(later.applied).toEqual([]);
    expect(later.plan.entries.map((entry) => [entry.version, entry.state])).toEqual([
      ["001", "applied"],
      ["099", "applied"],
    ]);
  });
});
