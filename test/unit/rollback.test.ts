import { describe, expect, test } from "bun:test";
import { buildMigrationSet } from "../../src/core/migration-set.ts";
import { planMigrations } from "../../src/core/plan.ts";
import { planRollback } from "../../src/core/rollback.ts";

const set = (files: Record<string, string>) => buildMigrationSet(Object.entries(files).map(([fileName, text]) => ({ fileName, text })));
const withDown = (sql: string) => `-- migrate:up\n${sql}\n-- migrate:down\nselect 1;\n`;

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
