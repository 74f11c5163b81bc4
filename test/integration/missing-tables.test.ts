import { beforeEach, describe, expect, test } from "bun:test";
import { missingTables } from "../../src/db/tables.ts";
import { type TestDatabase, freshDatabases } from "../support/database.ts";

let db: TestDatabase;
const freshDatabase = freshDatabases("missingtables");
beforeEach(async () => {
  db = await freshDatabase();
});

describe("missingTables", () => {
  test("many plain names (compared with pg_class at once) give what to_regclass gives for each: search_path, views, other schemas, quoted names", async () => {
    const names = Array.from({ length: 150 }, (_, index) => `t_${index}`);
    await db.sql.unsafe(`
      ${names.slice(0, 148).map((name) => `create table ${name} (id int);`).join("\n")}
      create schema hidden; create table hidden.t_148 (id int);
      create view t_149_view as select 1 as one;
      create table "Quoted" (id int);
      create schema app; create table app.kept (id int);`);
    const asked = [...names, "t_149_view", '"Quoted"', '"Absent"', "app.kept", "app.gone", "pg_class"];
    const expected: string[] = [];
    for (const name of asked) {
      const [row] = await db.sql<{ found: string | null }[]>`select to_regclass(${name})::text as found`;
      if (row?.found === null) expected.push(name);
    }
    expect(expected.sort()).toEqual(['"Absent"', "app.gone", "t_148", "t_149"].sort());
    expect(await missingTables(db.sql, asked)).toEqual(expected.sort());
  });

  test("a schema on the search_path counts, one off it does not", async () => {
    const names = Array.from({ length: 120 }, (_, index) => `s_${index}`);
    await db.sql.unsafe(`create schema other; ${names.map((name) => `create table other.${name} (id int);`).join("\n")}`);
    const reserved = await db.sql.reserve();
    try {
      expect((await missingTables(reserved, names)).length).toBe(120);
      await reserved.unsafe("set search_path = public, other");
      expect(await missingTables(reserved, [...names, "s_missing"])).toEqual(["s_missing"]);
    } finally {
      reserved.release();
    }
  });

  test("schemas on the search_path whose names are mixed case or hold a dot (a role's own $user schema): no error, the right schema (attack on issue 14)", async () => {
    const names = Array.from({ length: 110 }, (_, index) => `m_${index}`);
    await db.sql.unsafe(`create schema "App"; create schema app; create schema "a.b"; ${names.map((name) => `create table "App".${name} (id int);`).join("\n")}`);
    const reserved = await db.sql.reserve();
    try {
      await reserved.unsafe(`set search_path = "App", "a.b", public`);
      expect(await missingTables(reserved, [...names, "m_missing"])).toEqual(["m_missing"]);
      // "App" is not app: with only app on the path, every one is missing, as to_regclass says.
      await reserved.unsafe("set search_path = app");
      expect((await missingTables(reserved, names)).length).toBe(110);
    } finally {
      reserved.release();
    }
  });
});
