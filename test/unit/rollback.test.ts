import { describe, expect, test } from "bun:test";
import { buildMigrationSet } from "../../src/core/migration-set.ts";
import { type AppliedRow, planMigrations } from "../../src/core/plan.ts";
import { type StoredRow, describeStep, planRollback, sameSteps } from "../../src/core/rollback.ts";
import { expectMigrateError } from "./helpers.ts";

const set = (files: Record<string, string>) => buildMigrationSet(Object.entries(files).map(([fileName, text]) => ({ fileName, text })));
const withDown = (sql: string) => `-- migrate:up\n${sql}\n-- migrate:down\nselect 1;\n`;
/** Stored down SQL by version key, as readStoredDown gives it. */
const storedDown = (entries: Record<string, string | null>) =>
  new Map<string, StoredRow>(Object.entries(entries).map(([key, downSql]) => [key, { downSql, appliedAt: "2026-01-01 00:00:00.123456+00" }]));

describe("planRollback", () => {
  const migrations = set({ "001_a.sql": withDown("create table a (id int);"), "002_b.sql": "create table b (id int);", "003_c.sql": withDown("select 1;") });
  const row = (version: string, name: string): AppliedRow => ({ version, name, appliedAt: new Date(0), checksum: null, durationMs: null, hasDown: false });
  const plan = planMigrations(migrations, [row("001", "a"), row("002", "b"), row("003", "c"), row("004", "d")]);

  test("--steps takes the newest first and refuses as a whole when one has no down part anywhere", () => {
    expect(() => planRollback(plan, { kind: "steps", steps: 3 }, new Map())).toThrow(/Cannot roll back 004 \(d\), 002 \(b\): no down part/);
    const steps = planRollback(plan, { kind: "steps", steps: 3 }, storedDown({ "4": "drop table d;", "2": "drop table b;" }));
    expect(steps.map((step) => [step.entry.version, step.source])).toEqual([["004", "stored"], ["003", "file"], ["002", "stored"]]);
  });
  test("--to keeps VERSION and older; --to-known only the unknown ones", () => {
    const stored = storedDown({ "4": "drop table d;" });
    expect(planRollback(plan, { kind: "to", version: "003" }, stored).map((step) => step.entry.version)).toEqual(["004"]);
    expect(planRollback(plan, { kind: "to-known" }, stored).map((step) => step.entry.version)).toEqual(["004"]);
  });
  test("the file's down part is located in the file for error positions", () => {
    const [step] = planRollback(plan, { kind: "to", version: "002" }, storedDown({ "4": "x" })).slice(-1);
    expect(step?.entry.version).toBe("003");
    expect(step?.sourceText.slice(step.sourceOffset)).toBe("select 1;\n");
  });
  test("--to refuses a version that is neither applied nor known, and one that matches a version only by number", () => {
    const stored = storedDown({ "4": "drop table d;" });
    const absent = expectMigrateError(() => planRollback(plan, { kind: "to", version: "005" }, stored), "USAGE");
    expect(absent.message).toContain("--to 005 names no migration that is applied or known to this build. There is no migration 005.");
    expect(absent.message).toContain("Applied: 001, 002, 003, 004");
    expect(absent.message).toContain("--all undoes everything");
    const typo = expectMigrateError(() => planRollback(plan, { kind: "to", version: "01" }, stored), "USAGE");
    expect(typo.message).toContain("--to 01 is version 001 by number; write it as --to 001");
    // A pending migration of this build is a known version: nothing newer is applied, nothing to undo.
    const withPending = planMigrations(set({ "001_a.sql": withDown("select 1;"), "007_g.sql": withDown("select 1;") }), [row("001", "a")]);
    expect(planRollback(withPending, { kind: "to", version: "007" }, new Map())).toEqual([]);
    // A row's own spelling is accepted too ('4' written by hand for 004).
    expect(planRollback(plan, { kind: "to", version: "004" }, stored)).toEqual([]);
    expect(() => planRollback(plan, { kind: "to", version: "0" }, stored)).toThrow(/There is no migration 0\./);
  });
});

describe("what was applied is the truth (17.2)", () => {
  const applied = set({ "001_a.sql": "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n" });
  const edited = set({ "001_a.sql": "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a cascade; drop table other;\n" });
  const appliedRow: AppliedRow = { version: "001", name: "a", appliedAt: new Date("2026-03-04T05:06:07.000Z"), checksum: applied[0]!.checksum, durationMs: 3, hasDown: true };

  test("a file edited after it was applied is undone with the down SQL stored at apply time, and the prompt says so", () => {
    const plan = planMigrations(edited, [appliedRow]);
    const [step] = planRollback(plan, { kind: "steps", steps: 1 }, storedDown({ "1": "drop table a;\n" }));
    expect(step).toMatchObject({ source: "stored", reason: "file-changed", sql: "drop table a;\n" });
    expect(describeStep(step!)).toBe(
      "001 a, applied 2026-03-04T05:06:07.000Z; down SQL stored in schema_migrations when it was applied (the file was edited after it was applied; its down part is not used)",
    );
  });
  test("an edited file with nothing stored is refused naming both checksums, nothing rolled back", () => {
    const plan = planMigrations(edited, [appliedRow]);
    const error = expectMigrateError(() => planRollback(plan, { kind: "all" }, storedDown({ "1": null })), "CHECKSUM_MISMATCH");
    expect(error.message).toContain(`001 (a: 001_a.sql has checksum ${edited[0]!.checksum.slice(0, 12)}…, the applied text had ${applied[0]!.checksum.slice(0, 12)}…)`);
    expect(error.message).toContain("repair --accept");
  });
  test("a file matching its row uses its own down part; a legacy row without checksum uses the file, flagged unverified", () => {
    const matching = planRollback(planMigrations(applied, [appliedRow]), { kind: "all" }, storedDown({ "1": "drop table a;\n" }));
    expect(matching[0]).toMatchObject({ source: "file", reason: "matches" });
    expect(describeStep(matching[0]!)).toBe("001 a, applied 2026-03-04T05:06:07.000Z; down SQL from 001_a.sql");
    const legacy = planRollback(planMigrations(edited, [{ ...appliedRow, checksum: null }]), { kind: "all" }, storedDown({ "1": null }));
    expect(legacy[0]).toMatchObject({ source: "file", reason: "unverified", sql: "drop table a cascade; drop table other;\n" });
    expect(describeStep(legacy[0]!)).toContain("applied before checksums were recorded");
  });
  test("names from the database are escaped in the prompt line", () => {
    const plan = planMigrations([], [{ ...appliedRow, version: "009", name: "evil\n\u001b[2Jforged line" }]);
    const [step] = planRollback(plan, { kind: "all" }, storedDown({ "9": "select 1;" }));
    expect(describeStep(step!)).toStartWith("009 evil\\n\\x1b[2Jforged line, applied");
    expect(describeStep(step!)).not.toContain("\n");
  });
});

describe("down outside a transaction (17.15)", () => {
  const concurrent = set({
    "001_t.sql": "-- migrate:up\ncreate table t (id int);\n-- migrate:down\ndrop table t;\n",
    "002_idx.sql": "-- migrate:up transaction:false\ncreate index concurrently t_id on t (id);\n-- migrate:down transaction:false\ndrop index concurrently t_id;\n",
  });
  const rows = concurrent.map((migration): AppliedRow => ({ version: migration.version, name: migration.name, appliedAt: new Date(0), checksum: migration.checksum, durationMs: 1, hasDown: true }));

  test("the file's -- migrate:down transaction:false makes its step run statement by statement", () => {
    const steps = planRollback(planMigrations(concurrent, rows), { kind: "all" }, storedDown({}));
    expect(steps.map((step) => [step.entry.version, step.transaction])).toEqual([["002", false], ["001", true]]);
    expect(describeStep(steps[0]!)).toEndWith("run statement by statement outside a transaction");
  });
  test("stored down SQL runs outside a transaction exactly when a statement is one PostgreSQL refuses inside one", () => {
    const unknown = planMigrations([], rows);
    const steps = planRollback(unknown, { kind: "all" }, storedDown({ "2": "-- the index\ndrop index concurrently if exists t_id;\n", "1": "drop table t; -- not concurrently\n" }));
    expect(steps.map((step) => [step.entry.version, step.source, step.transaction])).toEqual([["002", "stored", false], ["001", "stored", true]]);
  });
  test("a confirmation covers the steps as planned: another row identity or source is a different plan", () => {
    const plan = planMigrations(concurrent, rows);
    const first = planRollback(plan, { kind: "steps", steps: 1 }, storedDown({}));
    expect(sameSteps(first, planRollback(plan, { kind: "steps", steps: 1 }, storedDown({})))).toBe(true);
    const reapplied = new Map([["2", { downSql: null, appliedAt: "2026-01-02 00:00:00+00" }]]);
    expect(sameSteps(first, planRollback(plan, { kind: "steps", steps: 1 }, reapplied))).toBe(false);
    expect(sameSteps(first, planRollback(plan, { kind: "steps", steps: 2 }, storedDown({})))).toBe(false);
  });
});
