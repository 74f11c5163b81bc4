import { beforeEach, describe, expect, test } from "bun:test";
import { type TestDatabase, freshDatabases, reserveConnection, tablesOf } from "../support/database.ts";
import { createAndReadTracking } from "../../src/db/tracking.ts";
import { migrationsFrom, recordingLogger, rejection, seedMigrations, up } from "../support/migrator.ts";

const SEED_TABLES = ["children", "household_members", "households", "schema_migrations", "task_assignments", "task_completions", "tasks", "users"];

let db: TestDatabase;
const freshDatabase = freshDatabases("up");
beforeEach(async () => {
  db = await freshDatabase();
});


describe("up on the seed migrations", () => {
  test("creates every table, records eight rows with checksums, and a second run is a no-op", async () => {
    const seed = await seedMigrations();
    const first = await up(db.url, seed);
    expect(first.applied.map((migration) => migration.version)).toEqual(["000", "001", "011", "012", "013", "014", "015", "016"]);
    expect(await tablesOf(db.sql)).toEqual(SEED_TABLES);
    const rows = await db.sql<{ version: string; checksum: string; down_sql: string | null }[]>`
      select version, checksum, down_sql from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(["000", "001", "011", "012", "013", "014", "015", "016"]);
    expect(rows.map((row) => row.checksum)).toEqual(seed.map((migration) => migration.checksum));
    expect(rows[1]?.down_sql).toContain("DROP TABLE IF EXISTS users");

    const log = recordingLogger();
    const second = await up(db.url, seed, { log });
    expect(second.applied).toEqual([]);
    expect(second.plan.pending).toEqual([]);
    expect(log.lines.filter((line) => line.level === "success")).toEqual([]);
  });

  test("registration (user, household, admin membership in one transaction) succeeds after up", async () => {
    await up(db.url, await seedMigrations());
    const result = await db.sql.begin(async (tx) => {
      const [user] = await tx`insert into users (email, password_hash) values ('parent@example.com', 'hash') returning id`;
      const [household] = await tx`insert into households (name) values ('Home') returning id`;
      await tx`insert into household_members (household_id, user_id, role) values (${household!.id}, ${user!.id}, 'admin')`;
      return tx`select role from household_members`;
    });
    expect(result.map((row) => row.role)).toEqual(["admin"]);
  });
});

describe("the tracking table", () => {
  test("adopts a legacy three-column table in place: keeps every row, treats them as applied, adds columns", async () => {
    // The table as hand-applied files made it, with rows that were written without zero padding.
    await db.sql.unsafe(`
      create table schema_migrations (version varchar(10) primary key, name varchar(255) not null, applied_at timestamptz not null default now());
      create index idx_schema_migrations_applied_at on schema_migrations(applied_at);
      create table already_there (id int);
      -- What 001 and 046 created by hand: had either run again, its CREATE TABLE would fail.
      create table a (id int);
      create table hand_patch (id int);
      insert into schema_migrations (version, name, applied_at) values ('000', 'create_migrations_table', '2025-12-14'), ('1', 'create_a', '2025-12-14'), ('46', 'hand_patch', '2025-12-15');
    `);
    const migrations = migrationsFrom({
      "000_create_migrations_table.sql": "select 1;",
      "001_create_a.sql": "create table a (id int);",
      "046_hand_patch.sql": "create table hand_patch (id int);",
      "047_new.sql": "create table new_one (id int);",
    });
    const result = await up(db.url, migrations);
    expect(result.applied.map((migration) => migration.version)).toEqual(["047"]);
    const tables = await tablesOf(db.sql);
    expect(tables).toContain("new_one");
    const rows = await db.sql<{ version: string; applied_at: Date; checksum: string | null }[]>`
      select version, applied_at, checksum from schema_migrations order by applied_at, version`;
    expect(rows.map((row) => row.version)).toEqual(["000", "1", "46", "047"]);
    expect(rows[0]?.applied_at.toISOString()).toBe(new Date("2025-12-14").toISOString());
    expect(rows.slice(0, 3).every((row) => row.checksum === null)).toBe(true);
    const [width] = await db.sql`select character_maximum_length as n from information_schema.columns where table_name = 'schema_migrations' and column_name = 'version'`;
    expect(width?.n).toBe(255);
    const columns = await db.sql`select column_name from information_schema.columns where table_name = 'schema_migrations' order by column_name`;
    expect(columns.map((column) => column.column_name)).toEqual(["applied_at", "applied_by", "checksum", "down_sql", "duration_ms", "history", "name", "runner", "version"]);
  });

  test("creating and reading in one round trip: creates the table when missing, reads another runner's rows, and falls back for a legacy table", async () => {
    const connection = await reserveConnection(db.sql);
    try {
      const created = await createAndReadTracking(connection);
      expect(created).toEqual({ kind: "ready", rows: [] });
      expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
      // Another runner applied something while this one waited for the lock: create is a no-op, the read sees it.
      await db.sql.unsafe("insert into schema_migrations (version, name, checksum) values ('001', 'a', repeat('0', 64))");
      const again = await createAndReadTracking(connection);
      expect(again.kind).toBe("ready");
      expect(again.rows.map((row) => row.version)).toEqual(["001"]);
      // A hand-made three-column table that appeared meanwhile: read as legacy, for the caller to adopt.
      await db.sql.unsafe(`drop table schema_migrations;
        create table schema_migrations (version varchar(10) primary key, name varchar(255) not null, applied_at timestamptz not null default now());
        insert into schema_migrations (version, name) values ('7', 'hand');`);
      const legacy = await createAndReadTracking(connection);
      expect(legacy.kind).toBe("legacy");
      expect(legacy.rows.map((row) => row.version)).toEqual(["7"]);
      // Nothing was left open on the connection.
      const [state] = await connection.unsafe<{ open: boolean }[]>("select now() <> statement_timestamp() as open");
      expect(state?.open).toBe(false);
    } finally {
      connection.release();
    }
  });

  test("a table that is not a tracking table is refused with advice, and nothing is applied", async () => {
    await db.sql.unsafe("create table schema_migrations (id serial primary key, filename text)");
    const error = await rejection(up(db.url, migrationsFrom({ "001_a.sql": "create table a (id int);" })));
    expect(error.code).toBe("TRACKING_TABLE_INVALID");
    expect(error.message).toContain("RENAME");
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
  });
});

describe("atomicity", () => {
  test("a failing migration is rolled back whole, earlier ones stay, later ones do not run; the error points at the line", async () => {
    const migrations = migrationsFrom({
      "001_ok.sql": "create table ok (id int);",
      "002_broken.sql": "-- migrate:up\ncreate table half (id int);\ninsert into half values (1);\nselect 1 frm half;\n-- migrate:down\ndrop table half;\n",
      "003_later.sql": "create table later (id int);",
    });
    const error = await rejection(up(db.url, migrations));
    expect(error.code).toBe("MIGRATION_FAILED");
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain("002_broken.sql failed at line 4, column 14");
    expect(error.message).toContain("SQLSTATE 42601");
    expect(error.message).toContain("1 migration(s) before it in this run were applied and 1 after it were not run");
    expect(error.details).toContain("  4 | select 1 frm half;");
    expect(error.details).toContain("    |              ^");
    expect(await tablesOf(db.sql)).toEqual(["ok", "schema_migrations"]);
    const rows = await db.sql`select version from schema_migrations`;
    expect(rows.map((row) => row.version)).toEqual(["001"]);
  });

  test("a runtime error without a position (division by zero) is still reported with the server's message and rolled back", async () => {
    const migrations = migrationsFrom({ "001_div.sql": "create table d (id int);\nselect 1/0;" });
    const error = await rejection(up(db.url, migrations));
    expect(error.message).toContain("division by zero");
    expect(error.message).toContain("SQLSTATE 22012");
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
  });

  test("a division by zero in the file is the file's error, not taken for the runner's guard", async () => {
    const migrations = migrationsFrom({ "001_div.sql": "create table d (id int);\nselect 1/0;" });
    const error = await rejection(up(db.url, migrations));
    expect(error.code).toBe("MIGRATION_FAILED");
  });

  test("a last statement left unfinished points at the end of the file's up part, not into what the runner sends after it", async () => {
    const migrations = migrationsFrom({
      "001_open.sql": "-- migrate:up\ncreate table open (\n  id int\n-- migrate:down\ndrop table open;\n",
    });
    const error = await rejection(up(db.url, migrations));
    expect(error.code).toBe("MIGRATION_FAILED");
    expect(error.message).toContain("001_open.sql failed at line 3, column 9");
    expect(error.details).toContain("  --> 001_open.sql:3:9");
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
  });

  test("a file that ends the runner's transaction itself (ROLLBACK) is not recorded, and the report says what may be committed", async () => {
    const migrations = migrationsFrom({
      "001_rolls_back.sql": "create table before_rollback (id int);\nrollback;\ncreate table after_rollback (id int);\n",
      "002_later.sql": "create table later (id int);",
    });
    const error = await rejection(up(db.url, migrations));
    expect(error.code).toBe("MIGRATION_ENDED_TRANSACTION");
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain("part of it may already be committed and it was not recorded");
    // What came after the ROLLBACK ran in the query's implicit transaction, which the failed guard rolled back.
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
    expect((await db.sql`select version from schema_migrations`).length).toBe(0);
  });

  test("detail and hint of the server are part of the report", async () => {
    const migrations = migrationsFrom({
      "001_t.sql": "create table t (id int primary key); insert into t values (1);",
      "002_dup.sql": "insert into t values (1);",
    });
    const error = await rejection(up(db.url, migrations));
    expect(error.details.some((line) => line.includes("detail: Key (id)=(1) already exists."))).toBe(true);
  });
});

describe("files the one-query apply must take as they are", () => {
  test("an empty up part, a last line comment without a newline, only a comment, no final semicolon: each applied and recorded", async () => {
    const migrations = migrationsFrom({
      "001_empty.sql": "-- migrate:up\n\n-- migrate:down\n",
      "002_comment_end.sql": "-- migrate:up\ncreate table c1 (id int); -- done",
      "003_only_comment.sql": "-- migrate:up\n/* nothing to do */\n-- migrate:down\nselect 1;\n",
      "004_no_semicolon.sql": "-- migrate:up\ncreate table c2 (id int)\n",
    });
    const result = await up(db.url, migrations);
    expect(result.applied.map((migration) => migration.version)).toEqual(["001", "002", "003", "004"]);
    expect(await tablesOf(db.sql)).toEqual(["c1", "c2", "schema_migrations"]);
    const rows = await db.sql<{ version: string; checksum: string; duration_ms: number }[]>`select version, checksum, duration_ms from schema_migrations order by version`;
    expect(rows.map((row) => row.checksum)).toEqual(migrations.map((migration) => migration.checksum));
    expect(rows.every((row) => row.duration_ms >= 0)).toBe(true);
  });
});

describe("legacy files with their own transaction control", () => {
  test("BEGIN/COMMIT and a hand-written tracking row: applied atomically and recorded once", async () => {
    const migrations = migrationsFrom({
      "000_create_migrations_table.sql":
        "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(10) PRIMARY KEY, name varchar(255) NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());",
      "005_legacy.sql":
        "BEGIN;\nCREATE TABLE legacy (id int);\nINSERT INTO schema_migrations (version, name) VALUES ('5', 'legacy') ON CONFLICT DO NOTHING;\nCOMMIT;\n",
    });
    await up(db.url, migrations);
    const rows = await db.sql`select version, checksum from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(["000", "005"]);
    expect(rows[1]?.checksum).toBe(migrations[1]!.checksum);
    expect(await tablesOf(db.sql)).toContain("legacy");
  });

  test("17.18: begin as a name (a function begin(), a column begin) does not hide the file's COMMIT: applied in our transaction and recorded", async () => {
    const migrations = migrationsFrom({
      "005_legacy.sql":
        "BEGIN;\nCREATE FUNCTION begin() RETURNS int LANGUAGE sql RETURN 1;\nCREATE TABLE spans (begin int, b int);\nINSERT INTO spans (begin) SELECT begin();\nCOMMIT;\n",
    });
    const result = await up(db.url, migrations);
    expect(result.applied.map((migration) => migration.version)).toEqual(["005"]);
    const rows = await db.sql`select version from schema_migrations`;
    expect(rows.map((row) => row.version)).toEqual(["005"]);
    const [span] = await db.sql`select begin from spans`;
    expect(span?.begin).toBe(1);
  });

  test("a failing legacy file leaves nothing behind, even what came before its error", async () => {
    const migrations = migrationsFrom({
      "005_legacy.sql": "BEGIN;\nCREATE TABLE legacy (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE legacy_two (id int);\nSELECT broken syntax here;\nCOMMIT;\n",
    });
    const error = await rejection(up(db.url, migrations));
    expect(error.message).toContain("line 6");
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
  });
});

describe("refusals", () => {
  test("an applied migration whose file changed refuses the run before anything is applied", async () => {
    await up(db.url, migrationsFrom({ "001_a.sql": "create table a (id int);" }));
    const edited = migrationsFrom({ "001_a.sql": "create table a (id bigint);", "002_b.sql": "create table b (id int);" });
    const error = await rejection(up(db.url, edited));
    expect(error.code).toBe("CHECKSUM_MISMATCH");
    expect(error.exitCode).toBe(4);
    expect(error.message).toContain("001_a.sql");
    expect(await tablesOf(db.sql)).not.toContain("b");
  });

  test("line-ending changes are not edits", async () => {
    await up(db.url, migrationsFrom({ "001_a.sql": "create table a (id int);\nselect 1;\n" }));
    const result = await up(db.url, migrationsFrom({ "001_a.sql": "\ufeffcreate table a (id int);\r\nselect 1;\r\n" }));
    expect(result.applied).toEqual([]);
  });

  test("migrations unknown to this build warn by default and refuse with onUnknown=fail", async () => {
    await up(db.url, migrationsFrom({ "001_a.sql": "create table a (id int);", "002_b.sql": "create table b (id int);" }));
    const log = recordingLogger();
    await up(db.url, migrationsFrom({ "001_a.sql": "create table a (id int);" }), { log });
    expect(log.lines.some((line) => line.level === "warn" && line.message.includes("002 (b)"))).toBe(true);
    const error = await rejection(up(db.url, migrationsFrom({ "001_a.sql": "create table a (id int);" }), { onUnknown: "fail" }));
    expect(error.code).toBe("UNKNOWN_MIGRATIONS");
  });
});

describe("non-transactional migrations", () => {
  test("transaction:false runs statements one by one, so CREATE INDEX CONCURRENTLY works", async () => {
    const migrations = migrationsFrom({
      "001_t.sql": "create table t (id int, note text);",
      "002_index.sql": "-- migrate:up transaction:false\ncreate index concurrently if not exists t_note on t (note);\ncreate index concurrently if not exists t_id on t (id);\n-- migrate:down\ndrop index t_note; drop index t_id;\n",
    });
    await up(db.url, migrations);
    const indexes = await db.sql`select indexname from pg_indexes where tablename = 't' order by indexname`;
    expect(indexes.map((row) => row.indexname)).toEqual(["t_id", "t_note"]);
  });
});
