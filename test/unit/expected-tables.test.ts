import { describe, expect, test } from "bun:test";
import { candidateTablesOf, expectedTables, tablesTouchedBy } from "../../src/core/expected-tables.ts";
import { mulberry32, randomText } from "./helpers.ts";
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

describe("candidateTablesOf (the scan-free first check of a start)", () => {
  const superset = (ups: readonly string[]) => {
    const migrations = set(Object.fromEntries(ups.map((up, index) => [`${String(index + 1).padStart(3, "0")}_m.sql`, up])));
    const candidates = candidateTablesOf(migrations);
    return { expected: expectedTables(migrations), candidates, missingFromCandidates: expectedTables(migrations).filter((name) => !candidates.has(name)) };
  };

  test("holds every table the lexer finds, and names the scan would not (a comment, a table dropped later) may be more", () => {
    const { expected, candidates, missingFromCandidates } = superset([
      'create table users (id int);\n-- create table never_made (id int);\nCREATE TABLE "Quoted" (id int);\ncreate table app.kept (id int);',
      "create table old (id int); alter table old rename to renamed; alter table app.kept rename to kept2; create table gone (id int); drop table gone;",
    ]);
    expect(missingFromCandidates).toEqual([]);
    expect(expected).toEqual(['"Quoted"', "app.kept2", "renamed", "users"]);
    expect([...candidates].sort()).toEqual(['"Quoted"', "app.kept", "app.kept2", "gone", "never_made", "old", "renamed", "users"]);
  });

  test("on 5,000 random up parts: never misses a table the lexer finds", () => {
    let found = 0;
    const random = mulberry32(1414);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const name = () => pick(["", "", "public.", "app.", '"App".']) + pick(["t", "u", "T2", '"Q"', '"a""b"', '"x\ny"', "v$1"]);
    const statement = () =>
      pick([
        () => `${pick(["create", "CREATE", "Create"])} ${pick(["", "temp ", "unlogged ", "global temporary "])}table ${pick(["", "if not exists "])}${name()} (id int)`,
        () => `alter table ${pick(["", "if exists ", "only "])}${name()} rename to ${pick(["r", "R", '"R r"'])}`,
        () => `drop table ${pick(["", "if exists "])}${name()}, ${name()}`,
        () => `-- ${pick(["create table ", "alter table "])}${name()}\n`,
        () => `/* create table ${name()} */ select 1`,
        () => `select 'create table ${name()}'`,
        () => `create function f() returns int language sql begin atomic select 1; end`,
        () => `do $$ begin create table ${name()} (id int); end $$`,
        () => pick(["set search_path = app", "select 1", "", "(", "'", '"', "$$", "/*"]),
      ])();
    for (let round = 0; round < 5_000; round++) {
      const up = () => Array.from({ length: 1 + Math.floor(random() * 6) }, statement).join(pick([";\n", "; ", ";", "\n;\n"]));
      const ups = [up(), up()];
      let result: ReturnType<typeof superset>;
      try {
        result = superset(ups);
      } catch {
        continue; // a text the set refuses (a marker lookalike, a refused statement) is never checked
      }
      if (result.missingFromCandidates.length > 0) throw new Error(`${JSON.stringify(ups)}: the lexer finds ${JSON.stringify(result.missingFromCandidates)}, the candidates lack them`);
      found += result.expected.length;
    }
    // The texts are made so that the lexer finds tables in many of them: the comparison is not of empty sets.
    expect(found).toBeGreaterThan(1_000);
  });
});
