import { describe, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { lintMigrations } from "../../src/core/lint.ts";
import { buildMigrationSet, nextMigrationFileName } from "../../src/core/migration-set.ts";
import { planMigrations } from "../../src/core/plan.ts";
import { planRollback } from "../../src/core/rollback.ts";

const set = (files: Record<string, string>) => buildMigrationSet(Object.entries(files).map(([fileName, text]) => ({ fileName, text })));
const withDown = (sql: string) => `-- migrate:up\n${sql}\n-- migrate:down\nselect 1;\n`;

describe("lintMigrations", () => {
  test("a clean set has no findings", () => {
    expect(lintMigrations(set({ "001_a.sql": withDown("create table a (id int);") }), ["001"])).toEqual([]);
  });
  test("own BEGIN/COMMIT, CONCURRENTLY in a transaction, no down part", () => {
    const findings = lintMigrations(
      set({
        "001_tx.sql": withDown("BEGIN;\ncreate table a (id int);\nCOMMIT;"),
        "002_cic.sql": withDown("create unique index concurrently a_id on a (id);"),
        "003_nodown.sql": "create table c (id int);",
        "004_ok.sql": "-- migrate:up transaction:false\ncreate index concurrently a2 on a (id);\n-- migrate:down\ndrop index a2;\n",
      }),
      null,
    );
    expect(findings.map((finding) => [finding.fileName, finding.rule])).toEqual([
      ["001_tx.sql", "transaction-control"],
      ["002_cic.sql", "concurrently-in-transaction"],
      ["003_nodown.sql", "no-down"],
    ]);
  });
  test("BEGIN inside a function body is not transaction control", () => {
    const findings = lintMigrations(set({ "001_f.sql": withDown("create function f() returns int language plpgsql as $$ begin return 1; end; $$;") }), null);
    expect(findings).toEqual([]);
  });
  test("a new file below the released maximum is out of order; released files are not", () => {
    const migrations = set({ "001_a.sql": withDown("select 1;"), "005_new.sql": withDown("select 1;"), "010_b.sql": withDown("select 1;") });
    const findings = lintMigrations(migrations, ["001", "010"]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ fileName: "005_new.sql", rule: "out-of-order" });
    expect(findings[0]?.message).toContain("Renumber it above 010");
    expect(lintMigrations(migrations, null)).toEqual([]);
  });
});

describe("nextMigrationFileName", () => {
  test("one above the highest, padded like the others", () => {
    expect(nextMigrationFileName(["000_a.sql", "016_b.sql", "011_c.sql"], "add_notes")).toBe("017_add_notes.sql");
    expect(nextMigrationFileName([], "first")).toBe("000_first.sql");
    expect(nextMigrationFileName(["20240101120000_x.sql"], "y")).toBe("20240101120001_y.sql");
  });
  test("names that are not snake_case are refused", () => {
    for (const name of ["Add Notes", "../x", "ünïcode", "-x", ""]) {
      expect(() => nextMigrationFileName([], name)).toThrow(MigrateError);
    }
  });
});

describe("planRollback", () => {
  const migrations = set({ "001_a.sql": withDown("create table a (id int);"), "002_b.sql": "create table b (id int);", "003_c.sql": withDown("select 1;") });
  const row = (version: string, name: string) => ({ version, name, appliedAt: new Date(0), checksum: null, durationMs: null, hasDown: false });
  const plan = planMigrations(migrations, [row("001", "a"), row("002", "b"), row("003", "c"), row("004", "d")]);

  test("--steps takes the newest first and refuses as a whole when one has no down part anywhere", () => {
    expect(() => planRollback(plan, { kind: "steps", steps: 3 }, new Map())).toThrow(/Cannot roll back 004 \(d\), 002 \(b\): no down part/);
    const steps = planRollback(plan, { kind: "steps", steps: 3 }, new Map([["004", "drop table d;"], ["002", "drop table b;"]]));
    expect(steps.map((step) => [step.entry.version, step.source])).toEqual([["004", "stored"], ["003", "file"], ["002", "stored"]]);
  });
  test("--to keeps VERSION and older; --to-known only the unknown ones", () => {
    const stored = new Map([["004", "drop table d;"]]);
    expect(planRollback(plan, { kind: "to", version: "3" }, stored).map((step) => step.entry.version)).toEqual(["004"]);
    expect(planRollback(plan, { kind: "to-known" }, stored).map((step) => step.entry.version)).toEqual(["004"]);
  });
  test("the file's down part is located in the file for error positions", () => {
    const [step] = planRollback(plan, { kind: "to", version: "002" }, new Map([["004", "x"]])).slice(-1);
    expect(step?.entry.version).toBe("003");
    expect(step?.sourceText.slice(step.sourceOffset)).toBe("select 1;\n");
  });
});
