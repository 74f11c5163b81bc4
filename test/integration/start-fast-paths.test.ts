/**
 * The shortcuts of a no-op start (issue 14), each held against the long way:
 * `up` and `run` read only version, name and checksum before the lock, which
 * must say what the full read says for every shape of table; the schema
 * question is asked while the plan is made (for a --dir set about every table
 * its files could create, falling back to the lexer scan of every file when
 * one is missing; for an embedded set about the build's tables), and a
 * refusal leaves nothing running.
 */
import { beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Sql } from "../../src/db/connection.ts";
import { type TrackingState, readTracking } from "../../src/db/tracking.ts";
import { migrateUp } from "../../src/migrator.ts";
import { startCandidateCheck } from "../../src/operations/read-plan.ts";
import { runBinary } from "../support/cli.ts";
import { type TestDatabase, freshDatabases } from "../support/database.ts";
import { migrationsFrom, migratorOptions, runnerClient, up } from "../support/migrator.ts";

let db: TestDatabase;
let sql: Sql;
const freshDatabase = freshDatabases("identities");
beforeEach(async () => {
  db = await freshDatabase();
  sql = runnerClient(db.url);
});

const RUNNER_TABLE = `create table schema_migrations (version varchar(255) primary key, name varchar(255) not null,
  applied_at timestamptz not null default now(), checksum char(64), duration_ms integer, applied_by text default current_user,
  runner text, down_sql text, history jsonb not null default '[]'::jsonb)`;

const SHAPES: Record<string, string> = {
  "the runner's table": `${RUNNER_TABLE}; insert into schema_migrations (version, name, checksum, down_sql) values ('001', 'a', repeat('a', 64), 'drop table a'), ('002', 'b', null, null)`,
  "an older build's table (no history column)": `${RUNNER_TABLE}; alter table schema_migrations drop column history; insert into schema_migrations (version, name, checksum) values ('001', 'a', repeat('b', 64))`,
  "an older build's table (no down_sql column)": `${RUNNER_TABLE}; alter table schema_migrations drop column down_sql; insert into schema_migrations (version, name, checksum) values ('001', 'a', repeat('c', 64))`,
  "a hand-made table (version, name, applied_at)": `create table schema_migrations (version text primary key, name text, applied_at timestamptz default now()); insert into schema_migrations values ('7', 'x', now())`,
  "dbmate's table": `create table schema_migrations (version varchar(128) primary key); insert into schema_migrations values ('001'), (' 2 ')`,
  "golang-migrate's table": `create table schema_migrations (version bigint primary key, dirty boolean not null); insert into schema_migrations values (3, false)`,
  "no table": `select 1`,
};

const identities = (state: Awaited<ReturnType<typeof readTracking>>) => ({
  kind: state.kind,
  rows: state.rows.map((row) => [row.version, row.name, row.checksum]).sort(),
  ...("upTo" in state ? { upTo: state.upTo } : {}),
  ...("madeBy" in state ? { madeBy: state.madeBy } : {}),
});

describe("the identities read says what the full read says", () => {
  for (const [shape, setup] of Object.entries(SHAPES)) {
    test(shape, async () => {
      try {
        await db.sql.unsafe(setup);
        const full = await readTracking(sql, "full");
        const light = await readTracking(sql, "identities");
        expect(identities(light)).toEqual(identities(full));
        if (shape.startsWith("the runner's")) expect(full.rows.length).toBe(2);
      } finally {
        await sql.end();
      }
    });
  }

  // Attack on issue 14: the identities read did not cast applied_at, so a no-op up and run accepted a table the full read refuses.
  for (const [type, value] of [["integer", "1"], ["boolean", "true"], ["text", "'garbage'"], ["text", "'2026-01-02 03:04:05+00'"]] as const) {
    test(`applied_at of type ${type} holding ${value}: both reads fail, or both read it, alike`, async () => {
      try {
        await db.sql.unsafe(`create table schema_migrations (version text primary key, name text, applied_at ${type}, checksum text, duration_ms int, down_sql text, history jsonb);
          insert into schema_migrations (version, name, applied_at, checksum) values ('001', 'a', ${value}, repeat('d', 64))`);
        const outcome = (promise: Promise<Awaited<ReturnType<typeof readTracking>>>) =>
          promise.then((state) => ["read", identities(state)], (error: { code?: string; message?: string }) => ["failed", error.code, error.message]);
        const full = await outcome(readTracking(sql, "full"));
        expect(await outcome(readTracking(sql, "identities"))).toEqual(full);
        expect(full[0]).toBe(value.startsWith("'2026") ? "read" : "failed");
      } finally {
        await sql.end();
      }
    });
  }

  // Attack on issue 14: a 42P01 was taken for "no table", but it can come from inside a schema_migrations that exists.
  test("a schema_migrations view whose function reads a dropped table: both reads fail with that error, neither says missing", async () => {
    try {
      await db.sql.unsafe(`create table gone (version text, name text, applied_at timestamptz, checksum text, duration_ms int, down_sql text, history jsonb);
        create function rows_of_gone() returns table (version text, name text, applied_at timestamptz, checksum text, duration_ms int, down_sql text, history jsonb)
          language plpgsql as $$ begin return query select * from gone; end $$;
        create view schema_migrations as select * from rows_of_gone();
        drop table gone;`);
      for (const depth of ["full", "identities"] as const) {
        const failure = await readTracking(sql, depth).then((state) => state.kind, (error: { code?: string; message?: string }) => [error.code, error.message]);
        expect(failure).toEqual(["42P01", 'relation "gone" does not exist']);
      }
    } finally {
      await sql.end();
    }
  });

  test("a table another tool made, without a version column, is refused by both with the same error", async () => {
    try {
      await db.sql.unsafe(`create table schema_migrations (id serial, migration text)`);
      const failure = (promise: Promise<unknown>) => promise.then(() => null, (error: { code?: string; message?: string }) => [error.code, error.message]);
      const full = await failure(readTracking(sql, "full"));
      expect(full?.[0]).toBe("TRACKING_TABLE_INVALID");
      expect(await failure(readTracking(sql, "identities"))).toEqual(full);
    } finally {
      await sql.end();
    }
  });
});

describe("the binary's no-op up on an older build's table", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "st44-identities-"));
    writeFileSync(join(dir, "001_a.sql"), "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n");
  });

  test("still adopts it (adds the missing columns) though nothing is pending", async () => {
    await sql.end();
    const first = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(first.code).toBe(0);
    await db.sql.unsafe("alter table schema_migrations drop column history");
    const again = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("adopting the existing schema_migrations table (1 applied migrations kept)");
    const [column] = await db.sql<{ n: number }[]>`select count(*)::int as n from information_schema.columns where table_name = 'schema_migrations' and column_name = 'history'`;
    expect(column?.n).toBe(1);
  });
});

describe("the binary's no-op up --dir checks the schema without scanning every file when it can", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "st44-candidates-"));
    writeFileSync(join(dir, "001_a.sql"), "-- migrate:up\ncreate table a (id int);\n-- create table only_in_a_comment (id int);\n-- migrate:down\ndrop table a;\n");
    writeFileSync(join(dir, "002_b.sql"), "-- migrate:up\ncreate table b (id int);\ncreate table scratch (id int);\ndrop table scratch;\n-- migrate:down\ndrop table b;\n");
    writeFileSync(join(dir, "003_c.sql"), "-- migrate:up\ncreate table c (id int);\n-- migrate:down\ndrop table c;\n");
  });

  test("names that never existed (a comment, a table dropped later) send it to the full scan, which finds nothing missing", async () => {
    await sql.end();
    expect((await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const again = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("nothing to do: 3 migrations applied");
  });

  test("a table dropped by hand is still found, with every candidate present but one", async () => {
    await sql.end();
    expect((await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    await db.sql.unsafe("drop table c");
    const refused = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("[SCHEMA_INCOMPLETE]");
    expect(refused.stderr).toContain("003_c.sql");
  });
});

describe("the scan-free schema check never fails where the scan passes (attack on issue 14)", () => {
  test("a name only a comment holds, which the query cannot carry (a lone surrogate, through the library), goes the long way", async () => {
    await sql.end();
    const migrations = migrationsFrom({ "001_a.sql": '-- migrate:up\ncreate table a (id int);\n-- create table "\ud800"\n' });
    expect((await up(db.url, migrations)).applied.length).toBe(1);
    expect((await up(db.url, migrations)).applied).toEqual([]);
  });

  test("asked beside the tracking read: it never rejects (an unreachable server gives null) and names what is missing", async () => {
    await sql.end();
    const migrations = migrationsFrom({ "001_a.sql": "create table a (id int);", "002_b.sql": "create table b (id int);\n-- create table c (id int);" });
    await db.sql.unsafe("create table a (id int)");
    const reachable = runnerClient(db.url);
    const unreachable = runnerClient(db.url.replace(/:(\d+)\//, ":1/"));
    try {
      const recorded: TrackingState = { kind: "ready", rows: [{ version: "1", name: "a", appliedAt: null, checksum: null, durationMs: null, hasDown: false }] };
      expect(startCandidateCheck({ sql: reachable }, [], recorded)).toBeNull();
      // Nothing recorded yet (a fresh database): nothing is expected, and no question is sent.
      expect(startCandidateCheck({ sql: reachable }, migrations, { kind: "missing", rows: [] })).toBeNull();
      const asked = startCandidateCheck({ sql: reachable }, migrations, recorded);
      expect(asked?.exact).toBe(false);
      expect([...((await asked?.missing) ?? ["failed"])].sort()).toEqual(["b", "c"]);
      expect(await startCandidateCheck({ sql: unreachable }, migrations, recorded)?.missing).toBeNull();
    } finally {
      await reachable.end();
      await unreachable.end({ timeout: 0 });
    }
  });

  test("through the binary: tables of pending migrations, missing as they must be, do not send the start the long way or refuse it", async () => {
    await sql.end();
    const dir = mkdtempSync(join(tmpdir(), "st44-pending-"));
    writeFileSync(join(dir, "001_a.sql"), "-- migrate:up\ncreate table a (id int);\n");
    expect((await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    writeFileSync(join(dir, "002_b.sql"), "-- migrate:up\ncreate table b (id int);\n");
    const applied = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain("applied 002_b.sql");
  });
});

describe("the embedded set's schema question, asked with the build's tables beside the tracking read", () => {
  test("all applied and present: a no-op; a table dropped by hand: SCHEMA_INCOMPLETE naming it and its migration", async () => {
    await sql.end();
    expect((await runBinary(["up"], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const again = await runBinary(["up"], { env: { DATABASE_URL: db.url } });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("nothing to do: 8 migrations applied");
    await db.sql.unsafe("drop table task_completions");
    const refused = await runBinary(["up"], { env: { DATABASE_URL: db.url } });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("[SCHEMA_INCOMPLETE]");
    expect(refused.stderr).toContain("016_create_task_completions_table.sql");
  });

  test("with migrations pending the answer is for another set of tables: the long way decides, and they are applied", async () => {
    await sql.end();
    expect((await runBinary(["up"], { env: { DATABASE_URL: db.url, ST44_EMBEDDED_UNTIL: "013" } })).code).toBe(0);
    const rest = await runBinary(["up"], { env: { DATABASE_URL: db.url } });
    expect(rest.code).toBe(0);
    expect(rest.stderr).toContain("applied 016_create_task_completions_table.sql");
  });
});

describe("a refusal leaves nothing running (attack on issue 14)", () => {
  test("CHECKSUM_MISMATCH: the schema question sent beside the plan is answered before up returns", async () => {
    await sql.end();
    const migrations = migrationsFrom({ "001_a.sql": "-- migrate:up\ncreate table a (id int);\n", "002_b.sql": "-- migrate:up\ncreate table b (id int);\n" });
    await up(db.url, migrations);
    await db.sql.unsafe("update schema_migrations set checksum = repeat('f', 64) where version = '001'");
    const client = runnerClient(db.url);
    const running = new Set<Promise<unknown>>();
    const sent: string[] = [];
    const watched = new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "unsafe") return typeof value === "function" ? value.bind(target) : value;
        return (text: string, ...rest: unknown[]) => {
          sent.push(text);
          const query = (value as (...args: unknown[]) => Promise<unknown>).call(target, text, ...rest);
          const settled = Promise.resolve(query).finally(() => running.delete(settled)).catch(() => {});
          running.add(settled);
          return query;
        };
      },
    });
    try {
      const refused = await migrateUp(migratorOptions(db.url, watched, migrations)).then(() => null, (error: { code?: string }) => error.code);
      expect(refused).toBe("CHECKSUM_MISMATCH");
      expect(sent.some((text) => text.includes("json_array_elements_text"))).toBe(true);
      expect(running.size).toBe(0);
    } finally {
      await client.end();
    }
  });
});
