import { beforeEach, describe, expect, test } from "bun:test";
import { type TestDatabase, freshDatabases, tablesOf } from "../support/database.ts";
import { embeddedFrom } from "../support/embedded-module.ts";
import { rejection, up } from "../support/migrator.ts";

/**
 * The embedded set is parsed, checked and hashed at build time, and a no-op
 * start only compares it with the rows: every refusal `up` gives on parsed
 * files must still come from the precomputed one.
 */
let db: TestDatabase;
const freshDatabase = freshDatabases("precomputed");
beforeEach(async () => {
  db = await freshDatabase();
});

const FILES = {
  "001_a.sql": "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
  "002_b.sql": "-- migrate:up\ncreate table b (id int);\ncreate index b_id on b (id);\n",
  "003_c.sql": "-- migrate:up\nalter table b add column note text;\ncreate table c (id int);\n",
};

describe("up on a precomputed (embedded) set", () => {
  test("a second run is a no-op that takes no lock and writes nothing", async () => {
    const embedded = await embeddedFrom(FILES);
    expect((await up(db.url, embedded)).applied.map((applied) => applied.version)).toEqual(["001", "002", "003"]);
    const again = await up(db.url, embedded);
    expect(again.applied).toEqual([]);
    expect(again.plan.applied.length).toBe(3);
    expect(again.plan.latestApplied).toBe("003");
  });

  test("an applied file whose text changed since: CHECKSUM_MISMATCH", async () => {
    await up(db.url, await embeddedFrom(FILES));
    const edited = await embeddedFrom({ ...FILES, "002_b.sql": "-- migrate:up\ncreate table b (id bigint);\ncreate index b_id on b (id);\n" });
    const error = await rejection(up(db.url, edited));
    expect(error.code).toBe("CHECKSUM_MISMATCH");
    expect(error.message).toContain("002");
  });

  test("a row this build does not know: UNKNOWN_MIGRATIONS with --on-unknown fail, a warning otherwise", async () => {
    await up(db.url, await embeddedFrom(FILES));
    const older = await embeddedFrom({ "001_a.sql": FILES["001_a.sql"], "002_b.sql": FILES["002_b.sql"] });
    expect((await rejection(up(db.url, older, { onUnknown: "fail" }))).code).toBe("UNKNOWN_MIGRATIONS");
    expect((await up(db.url, older)).plan.unknown.map((entry) => entry.version)).toEqual(["003"]);
  });

  test("a row that holds the version under another name: MIGRATION_MISMATCHED", async () => {
    await up(db.url, await embeddedFrom(FILES));
    const renamed = await embeddedFrom({ "001_a.sql": FILES["001_a.sql"], "002_other.sql": FILES["002_b.sql"], "003_c.sql": FILES["003_c.sql"] });
    expect((await rejection(up(db.url, renamed))).code).toBe("MIGRATION_MISMATCHED");
  });

  test("rows that claim a table that is gone: SCHEMA_INCOMPLETE from the build's table facts, naming every migration to run again", async () => {
    await up(db.url, await embeddedFrom(FILES));
    await db.sql`drop table b`;
    const error = await rejection(up(db.url, await embeddedFrom(FILES)));
    expect(error.code).toBe("SCHEMA_INCOMPLETE");
    expect(error.message).toContain("b (created by 002_b.sql)");
    // 002 created b and 003 changed it: both must run again to rebuild it.
    expect(error.message).toContain("(002, 003;");
  });

  test("a renumbered file (formerly:) takes over its old row on the first writing run", async () => {
    await up(db.url, await embeddedFrom({ "001_a.sql": FILES["001_a.sql"] }));
    // As an imported legacy folder's row: no checksum, since the renumbered file's text has its formerly: marker.
    await db.sql`update schema_migrations set checksum = null`;
    const renumbered = await embeddedFrom({ "005_a.sql": "-- migrate:up formerly:001_a\ncreate table a (id int);\n", "006_d.sql": "create table d (id int);\n" });
    const result = await up(db.url, renumbered);
    expect(result.applied.map((applied) => applied.version)).toEqual(["006"]);
    const rows = await db.sql<{ version: string }[]>`select version from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(["005", "006"]);
    expect(await tablesOf(db.sql)).toEqual(["a", "d", "schema_migrations"]);
  });
});

describe("what the fast paths must read as the long way does (attack on issue 14)", () => {
  test("a hand-written version ending in a no-break space is still the file's: not applied again", async () => {
    const once = await embeddedFrom({ "005_a.sql": "-- migrate:up\ncreate table if not exists counter (n int);\ninsert into counter values (1);\n" });
    await up(db.url, once);
    await db.sql.unsafe("update schema_migrations set version = '5' || chr(160)");
    expect((await up(db.url, once)).applied).toEqual([]);
    expect(await db.sql`select * from counter`).toHaveLength(1);
  });

  test("applied_at reads the same whatever extra_float_digits, and 'infinity' reads as no time instead of failing", async () => {
    await up(db.url, await embeddedFrom(FILES));
    await db.sql.unsafe("update schema_migrations set applied_at = '2026-06-01 12:34:56.789+00' where version = '001'; update schema_migrations set applied_at = 'infinity' where version = '002'");
    const database = (await db.sql<{ name: string }[]>`select current_database() as name`)[0]?.name ?? "";
    await db.sql.unsafe(`alter database "${database}" set extra_float_digits = -10`);
    const { plan } = await up(db.url, await embeddedFrom(FILES));
    const at = (version: string) => plan.entries.find((entry) => entry.version === version)?.row?.appliedAt ?? null;
    expect(at("001")?.toISOString()).toBe("2026-06-01T12:34:56.789Z");
    expect(at("002")).toBeNull();
  });
});
