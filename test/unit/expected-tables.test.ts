import { describe, expect, test } from "bun:test";
import { expectedTables } from "../../src/core/expected-tables.ts";
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
  test("quoted names keep their case; schema-qualified names keep the schema through a rename", () => {
    const tables = expectedTables(set({ "001_a.sql": 'create table "Mixed" (id int);\ncreate table app.t1 (id int);\nalter table app.t1 rename to t2;' }));
    expect(tables).toEqual(["Mixed", "app.t2"]);
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
