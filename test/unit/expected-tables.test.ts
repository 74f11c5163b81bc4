import { describe, expect, test } from "bun:test";
import { expectedTables, tablesTouchedBy } from "../../src/core/expected-tables.ts";
import { buildMigrationSet } from "../../src/core/migration-set.ts";

const set = (files: Record<string, string>) => buildMigrationSet(Object.entries(files).map(([fileName, text]) => ({ fileName, text })));

describe("expectedTables", () => {
  test("tables created in order, with drops and renames applied, sorted", () => {
    const tables = expectedTables(
      set({
        "001_a.sql": "create table users (id int);\nCREATE TABLE IF NOT EXISTS Households (id int);\ncreate unlogged table cache (k text);",
        "002_b.sql": "create table old_tasks (id int);\nalter table old_tasks rename to tasks;\ndrop table cache;",
      }),
    );
    expect(tables).toEqual(["households", "tasks", "users"]);
  });
  test("quoted names keep their case and stay quoted (as to_regclass reads them); schema-qualified names keep the schema through a rename", () => {
    const tables = expectedTables(set({ "001_a.sql": 'create table "Mixed" (id int);\ncreate table "Weird.Name" (id int);\ncreate table app.t1 (id int);\nalter table app.t1 rename to t2;' }));
    expect(tables).toEqual(['"Mixed"', '"Weird.Name"', "app.t2"]);
  });
  test("public. is the bare name: created qualified, dropped bare, it is gone", () => {
    expect(expectedTables(set({ "001_a.sql": "create table public.q (id int);\ndrop table q;\ncreate table r (id int);" }))).toEqual(["r"]);
  });
  test("a migration that sets search_path creates its unqualified tables where only its session knew: not expected", () => {
    expect(expectedTables(set({ "001_a.sql": "set search_path = app2;\ncreate table t4 (id int);\ncreate table app3.t5 (id int);" }))).toEqual(["app3.t5"]);
  });
  test("temporary tables are not expected, and a statement in a comment or string creates nothing", () => {
    const tables = expectedTables(
      set({ "001_a.sql": "create temp table scratch (id int);\n-- create table commented (id int);\nselect 'create table quoted (id int)';\ncreate table real_one (id int);" }),
    );
    expect(tables).toEqual(["real_one"]);
  });
  test("drop of several tables at once removes each", () => {
    const tables = expectedTables(set({ "001_a.sql": "create table a (id int); create table b (id int); create table c (id int);\ndrop table if exists a, b;" }));
    expect(tables).toEqual(["c"]);
  });
});

describe("tablesTouchedBy", () => {
  test("the tables a migration creates or changes: ALTER TABLE, an index or trigger on it, a comment on it", () => {
    const [migration] = set({
      "020_x.sql": [
        "create table if not exists a (id int);",
        "alter table only public.b rename column due_date to date;",
        "create unique index concurrently if not exists i on c (id);",
        "create index on d (id);",
        "create or replace trigger t before insert on e for each row execute function f();",
        "comment on table f is 'x';",
        "comment on column g.id is 'y';",
        "select * from h;",
        "update k set id = 1;",
      ].join("\n"),
    });
    expect([...(migration ? tablesTouchedBy(migration) : [])].sort()).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
  });
});
