import { describe, expect, test } from "bun:test";
import { lintMigrations } from "../../src/core/lint.ts";
import { buildMigrationSet } from "../../src/core/migration-set.ts";

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
