/**
 * The conformance suite every apply strategy must pass (as golang-migrate
 * runs one suite over every driver): the one-query apply under the session
 * lock, the stepwise apply under a transaction-level lock (behind a pooler),
 * and statement by statement (transaction:false). Each case states what a
 * user may rely on whichever path their migration takes.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { LockMode } from "../../src/db/lock.ts";
import { type TestDatabase, freshDatabases } from "../support/database.ts";
import { migrationsFrom, rejection, up } from "../support/migrator.ts";

interface Strategy {
  readonly name: string;
  readonly lockMode: LockMode;
  /** The up marker that selects the path. */
  readonly marker: string;
  readonly transactional: boolean;
}

const STRATEGIES: readonly Strategy[] = [
  { name: "one query under the session lock", lockMode: "session", marker: "-- migrate:up", transactional: true },
  { name: "stepwise under a transaction-level lock", lockMode: "transaction", marker: "-- migrate:up", transactional: true },
  { name: "statement by statement (transaction:false)", lockMode: "session", marker: "-- migrate:up transaction:false", transactional: false },
];

let db: TestDatabase;
const freshDatabase = freshDatabases("conform");
beforeEach(async () => {
  db = await freshDatabase();
});


for (const strategy of STRATEGIES) {
  describe(`apply strategy: ${strategy.name}`, () => {
    const file = (body: string, down = "drop table if exists t;") => `${strategy.marker}\n${body}\n-- migrate:down\n${down}\n`;

    test("applies once and records the row: checksum, duration, runner and the down SQL", async () => {
      const migrations = migrationsFrom({ "001_t.sql": file("create table t (id int);\ninsert into t values (1);") });
      const first = await up(db.url, migrations, { lockMode: strategy.lockMode });
      expect(first.applied.map((applied) => applied.version)).toEqual(["001"]);
      const rows = await db.sql<{ version: string; checksum: string; duration_ms: number | null; runner: string; down_sql: string }[]>`
        select version, checksum, duration_ms, runner, down_sql from schema_migrations`;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ version: "001", checksum: migrations[0]?.checksum, down_sql: "drop table if exists t;\n" });
      expect(rows[0]?.duration_ms).toBeGreaterThanOrEqual(0);
      expect(rows[0]?.runner).toStartWith("st44-migrate ");
      const second = await up(db.url, migrations, { lockMode: strategy.lockMode });
      expect(second.applied).toEqual([]);
      expect(await db.sql`select * from t`).toHaveLength(1);
    });

    test("a failing statement is reported at its line and column, and the migration is not recorded", async () => {
      const migrations = migrationsFrom({ "001_t.sql": file("create table t (id int);\nselect 1 from no_such_table;") });
      const error = await rejection(up(db.url, migrations, { lockMode: strategy.lockMode }));
      expect(error.code).toBe("MIGRATION_FAILED");
      expect(error.message).toContain("001_t.sql failed at line 3, column 15");
      expect(error.details[0]).toBe("  --> 001_t.sql:3:15");
      expect(await db.sql`select * from schema_migrations`).toHaveLength(0);
      const [kept] = await db.sql<{ exists: boolean }[]>`select to_regclass('t') is not null as exists`;
      // Only statement by statement keeps what ran before the failing statement.
      expect(kept?.exists).toBe(!strategy.transactional);
    });

    test("a legacy file that registers itself ('46' for 046) ends with exactly one row, ours", async () => {
      const migrations = migrationsFrom({
        "046_legacy.sql": file("create table t (id int);\ninsert into schema_migrations (version, name) values ('46', 'legacy');"),
      });
      await db.sql`create table schema_migrations (version varchar(255) primary key, name varchar(255) not null, applied_at timestamptz not null default now())`;
      await up(db.url, migrations, { lockMode: strategy.lockMode });
      const rows = await db.sql<{ version: string; checksum: string | null }[]>`select version, checksum from schema_migrations`;
      expect([...rows]).toEqual([{ version: "046", checksum: migrations[0]!.checksum }]);
    });

    test("12.1: a file that runs RESET ALL (or SET SESSION AUTHORIZATION DEFAULT) is applied once and recorded", async () => {
      const migrations = migrationsFrom({
        "001_reset.sql": file("create table t (id int);\nreset all;\nset session authorization default;\ninsert into t values (1);"),
      });
      const first = await up(db.url, migrations, { lockMode: strategy.lockMode });
      expect(first.applied.map((applied) => applied.version)).toEqual(["001"]);
      expect(await db.sql`select version from schema_migrations`).toHaveLength(1);
      const second = await up(db.url, migrations, { lockMode: strategy.lockMode });
      expect(second.applied).toEqual([]);
      expect(await db.sql`select * from t`).toHaveLength(1);
    });

    test("12.5: COPY ... TO STDOUT is applied and recorded, and an error after it is still reported", async () => {
      const migrations = migrationsFrom({
        "001_copy.sql": file("create table t (id int);\ninsert into t select generate_series(1, 20000);\ncopy t to stdout;\ncreate table after_copy (id int);"),
      });
      const result = await up(db.url, migrations, { lockMode: strategy.lockMode });
      expect(result.applied.map((applied) => applied.version)).toEqual(["001"]);
      expect(await db.sql`select version from schema_migrations`).toHaveLength(1);
      expect([...(await db.sql`select to_regclass('after_copy') as t`)]).toEqual([{ t: "after_copy" }]);

      const failing = migrationsFrom({
        "001_copy.sql": file("create table t (id int);\ninsert into t select generate_series(1, 20000);\ncopy t to stdout;\ncreate table after_copy (id int);"),
        "002_copy_then_fail.sql": file("copy (select 1) to stdout;\nselect 1 from no_such_table;", "select 1;"),
      });
      const error = await rejection(up(db.url, failing, { lockMode: strategy.lockMode }));
      expect(error.code).toBe("MIGRATION_FAILED");
      expect(error.message).toContain("002_copy_then_fail.sql failed at line 3, column 15");
      expect([...(await db.sql`select version from schema_migrations order by 1`)]).toEqual([{ version: "001" }]);
    });

    test("12.6: the stored down SQL is the file's, byte for byte, also after a migration turned standard_conforming_strings off", async () => {
      const down = "select E'C:\\\\temp', 'it''s', 'a\\b';";
      const migrations = migrationsFrom({
        "001_off.sql": file("set standard_conforming_strings = off;", down),
        "002_next.sql": file("create table t (id int);", down),
      });
      await up(db.url, migrations, { lockMode: strategy.lockMode });
      const rows = await db.sql<{ version: string; down_sql: string }[]>`select version, down_sql from schema_migrations order by version`;
      expect([...rows]).toEqual([
        { version: "001", down_sql: migrations[0]!.down! },
        { version: "002", down_sql: migrations[1]!.down! },
      ]);
      expect(migrations[0]!.down).toBe(`${down}\n`);
    });

    test("17.12: an error that quotes the SQL after the failing spot shows only the file's SQL, never the runner's own", async () => {
      // With standard_conforming_strings off, 'C:\' does not end where the splitter thinks: the server reads on.
      const migrations = migrationsFrom({
        "001_off.sql": file("set standard_conforming_strings = off;", "select 1;"),
        "002_path.sql": file("create table t (id int);\nselect 'C:\\';\nselect 2;", "select 1;"),
      });
      const error = await rejection(up(db.url, migrations, { lockMode: strategy.lockMode }));
      expect(error.code).toBe("MIGRATION_FAILED");
      expect(error.message).toContain("Migration 002_path.sql failed");
      const shown = `${error.message}\n${error.details.join("\n")}`;
      for (const runnerText of ["schema_migrations", "st44_guard", "insert into", "savepoint", "commit"]) expect(shown).not.toContain(runnerText);
      // What the server quotes ("at or near ...") is text of the file, not a token of the runner's statements.
      const near = /at or near "([^"]*)"/.exec(error.message)?.[1];
      if (near !== undefined) expect(migrations[1]!.up).toContain(near);
    });

    test("the statements run with the run's lock_timeout", async () => {
      const migrations = migrationsFrom({ "001_t.sql": file("create table t as select current_setting('lock_timeout') as value;") });
      await up(db.url, migrations, { lockMode: strategy.lockMode, lockTimeoutMs: 4321 });
      const [row] = await db.sql<{ value: string }[]>`select value from t`;
      expect(row?.value).toBe("4321ms");
    });
  });
}

describe("apply strategy: statement by statement (transaction:false) only", () => {
  test("17.11: a statement that fails without a server position is pointed at (file, line, column, caret)", async () => {
    const migrations = migrationsFrom({ "001_t.sql": "-- migrate:up transaction:false\ncreate table t (id int);\n\n  select 1/0;\n" });
    const error = await rejection(up(db.url, migrations));
    expect(error.message).toContain("001_t.sql failed in the statement at line 4, column 3: division by zero");
    expect(error.details.slice(0, 3)).toEqual(["  --> 001_t.sql:4:3", "  4 |   select 1/0;", "    |   ^"]);
  });
});
