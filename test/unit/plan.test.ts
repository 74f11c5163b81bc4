import { describe, expect, test } from "bun:test";
import { buildMigrationSet, type Migration, toMigration } from "../../src/core/migration-set.ts";
import { comparableName } from "../../src/core/migration-name.ts";
import { type AppliedRow, planMigrations, rowsUpTo } from "../../src/core/plan.ts";
import { versionKey } from "../../src/core/version.ts";
import { mulberry32 } from "./helpers.ts";

function migrations(...fileNames: string[]): Migration[] {
  return buildMigrationSet(fileNames.map((fileName) => ({ fileName, text: `-- ${fileName}\nselect 1;\n` })));
}

function rowFor(migration: Migration, overrides: Partial<AppliedRow> = {}): AppliedRow {
  return {
    version: migration.version,
    name: migration.name,
    appliedAt: new Date("2024-01-01T00:00:00Z"),
    checksum: migration.checksum,
    durationMs: 5,
    hasDown: false,
    ...overrides,
  };
}

function row(version: string, overrides: Partial<AppliedRow> = {}): AppliedRow {
  return {
    version,
    // A legacy row as dbmate or a hand-made table left it: the version alone.
    name: null,
    appliedAt: new Date("2024-01-01T00:00:00Z"),
    checksum: null,
    durationMs: null,
    hasDown: false,
    ...overrides,
  };
}

const at = <T>(list: readonly T[], index: number): T => {
  const value = list[index];
  if (value === undefined) throw new Error(`no element ${index}`);
  return value;
};

describe("planMigrations", () => {
  test("nothing at all", () => {
    const plan = planMigrations([], []);
    expect(plan.entries).toEqual([]);
    expect(plan.pending).toEqual([]);
    expect(plan.applied).toEqual([]);
    expect(plan.latestApplied).toBeNull();
    expect(plan.latestKnown).toBeNull();
    expect(plan.outOfOrder).toEqual([]);
  });

  test("a fresh database: every migration is pending, in order", () => {
    const set = migrations("001_a.sql", "002_b.sql", "010_c.sql");
    const plan = planMigrations(set, []);
    expect(plan.entries.map((entry) => entry.state)).toEqual(["pending", "pending", "pending"]);
    expect(plan.pending.map((migration) => migration.fileName)).toEqual(["001_a.sql", "002_b.sql", "010_c.sql"]);
    expect(plan.pending[0]).toBe(at(set, 0));
    expect(plan.applied).toEqual([]);
    expect(plan.latestApplied).toBeNull();
    expect(plan.latestKnown).toBe("010");
    expect(plan.outOfOrder).toEqual([]);
    for (const entry of plan.entries) expect(entry.row).toBeNull();
  });

  test("all applied with matching checksums", () => {
    const set = migrations("001_a.sql", "002_b.sql");
    const rows = set.map((migration) => rowFor(migration));
    const plan = planMigrations(set, rows);
    expect(plan.entries.map((entry) => entry.state)).toEqual(["applied", "applied"]);
    expect(plan.pending).toEqual([]);
    expect(plan.changed).toEqual([]);
    expect(plan.unknown).toEqual([]);
    expect(plan.applied.map((entry) => entry.version)).toEqual(["001", "002"]);
    expect(at(plan.entries, 0).row).toBe(at(rows, 0));
    expect(at(plan.entries, 0).migration).toBe(at(set, 0));
    expect(plan.latestApplied).toBe("002");
    expect(plan.latestKnown).toBe("002");
  });

  test("some applied, the rest pending", () => {
    const set = migrations("001_a.sql", "002_b.sql", "003_c.sql");
    const plan = planMigrations(set, [rowFor(at(set, 0)), rowFor(at(set, 1))]);
    expect(plan.entries.map((entry) => [entry.version, entry.state])).toEqual([
      ["001", "applied"],
      ["002", "applied"],
      ["003", "pending"],
    ]);
    expect(plan.pending).toEqual([at(set, 2)]);
    expect(plan.latestApplied).toBe("002");
    expect(plan.latestKnown).toBe("003");
    expect(plan.outOfOrder).toEqual([]);
  });

  test("a row whose checksum differs from the file is changed", () => {
    const set = migrations("001_a.sql", "002_b.sql");
    const plan = planMigrations(set, [rowFor(at(set, 0)), rowFor(at(set, 1), { checksum: "0".repeat(64) })]);
    expect(plan.entries.map((entry) => entry.state)).toEqual(["applied", "changed"]);
    expect(plan.changed.map((entry) => entry.version)).toEqual(["002"]);
    expect(at(plan.changed, 0).migration).toBe(at(set, 1));
    expect(plan.pending).toEqual([]);
  });

  test("legacy rows with checksum null count as applied, not changed", () => {
    const set = migrations("001_a.sql", "002_b.sql");
    const plan = planMigrations(set, [row("001"), row("002")]);
    expect(plan.entries.map((entry) => entry.state)).toEqual(["applied", "applied"]);
    expect(plan.changed).toEqual([]);
    expect(plan.pending).toEqual([]);
    expect(plan.latestApplied).toBe("002");
  });

  test("a row '46' matches the file 046", () => {
    const set = migrations("045_a.sql", "046_b.sql");
    const plan = planMigrations(set, [row("45"), row("46")]);
    expect(plan.entries).toHaveLength(2);
    expect(plan.entries.map((entry) => [entry.version, entry.key, entry.state])).toEqual([
      ["045", "45", "applied"],
      ["046", "46", "applied"],
    ]);
    expect(plan.unknown).toEqual([]);
    expect(plan.pending).toEqual([]);
    // Entries use the file's spelling of the version.
    expect(plan.latestApplied).toBe("046");
  });

  test("a padded row '0046' also matches 46_x.sql", () => {
    const set = migrations("46_x.sql");
    const plan = planMigrations(set, [row("0046")]);
    expect(at(plan.entries, 0).state).toBe("applied");
    expect(plan.unknown).toEqual([]);
  });

  test("rows with no file are unknown, with the row's version and name, and sorted in", () => {
    const set = migrations("001_a.sql", "003_c.sql");
    const plan = planMigrations(set, [rowFor(at(set, 0)), row("002", { name: "gone" }), row("0099", { name: "future" })]);
    expect(plan.entries.map((entry) => [entry.version, entry.state])).toEqual([
      ["001", "applied"],
      ["002", "unknown"],
      ["003", "pending"],
      ["0099", "unknown"],
    ]);
    expect(plan.unknown.map((entry) => [entry.version, entry.key, entry.name])).toEqual([
      ["002", "2", "gone"],
      ["0099", "99", "future"],
    ]);
    for (const entry of plan.unknown) {
      expect(entry.migration).toBeNull();
      expect(entry.row).not.toBeNull();
    }
  });

  test("latestKnown is the highest file version even when the database is ahead", () => {
    const set = migrations("001_a.sql", "002_b.sql");
    const plan = planMigrations(set, [rowFor(at(set, 0)), rowFor(at(set, 1)), row("3")]);
    expect(plan.latestKnown).toBe("002");
    expect(plan.latestApplied).toBe("3");
  });

  test("latestApplied compares numerically (10 is later than 9)", () => {
    const set = migrations("9_a.sql", "10_b.sql", "11_c.sql");
    const plan = planMigrations(set, [rowFor(at(set, 1)), rowFor(at(set, 0))]);
    expect(plan.latestApplied).toBe("10");
    expect(plan.pending).toEqual([at(set, 2)]);
    expect(plan.outOfOrder).toEqual([]);
  });

  test("outOfOrder lists the pending migrations older than the latest applied one", () => {
    const set = migrations("001_a.sql", "002_b.sql", "003_c.sql", "004_d.sql", "005_e.sql");
    const plan = planMigrations(set, [rowFor(at(set, 0)), rowFor(at(set, 2))]);
    expect(plan.latestApplied).toBe("003");
    expect(plan.pending.map((migration) => migration.version)).toEqual(["002", "004", "005"]);
    expect(plan.outOfOrder.map((migration) => migration.version)).toEqual(["002"]);
    expect(plan.outOfOrder[0]).toBe(at(set, 1));
  });

  test("outOfOrder compares numerically across different paddings", () => {
    const set = migrations("9_a.sql", "010_b.sql");
    const plan = planMigrations(set, [row("10")]);
    expect(plan.latestApplied).toBe("010");
    expect(plan.outOfOrder.map((migration) => migration.fileName)).toEqual(["9_a.sql"]);
  });

  test("gaps in numbering (000, 001, 011..016) are not reported as anything", () => {
    const set = migrations(
      "000_init.sql",
      "001_a.sql",
      "011_b.sql",
      "012_c.sql",
      "013_d.sql",
      "014_e.sql",
      "015_f.sql",
      "016_g.sql",
    );
    const allApplied = planMigrations(set, set.map((migration) => rowFor(migration)));
    expect(allApplied.entries).toHaveLength(8);
    expect(allApplied.entries.every((entry) => entry.state === "applied")).toBe(true);
    expect(allApplied.pending).toEqual([]);
    expect(allApplied.outOfOrder).toEqual([]);
    expect(allApplied.unknown).toEqual([]);
    expect(allApplied.changed).toEqual([]);
    expect(allApplied.latestApplied).toBe("016");
    expect(allApplied.latestKnown).toBe("016");

    // Part-applied across the gap: the rest is simply pending, in order.
    const partly = planMigrations(set, set.slice(0, 2).map((migration) => rowFor(migration)));
    expect(partly.pending.map((migration) => migration.version)).toEqual(["011", "012", "013", "014", "015", "016"]);
    expect(partly.outOfOrder).toEqual([]);
    expect(partly.latestApplied).toBe("001");
  });

  test("version 000 applied counts as a latest applied of '000', not as none", () => {
    const set = migrations("000_init.sql", "001_a.sql");
    const plan = planMigrations(set, [rowFor(at(set, 0))]);
    expect(plan.latestApplied).toBe("000");
    expect(plan.pending.map((migration) => migration.version)).toEqual(["001"]);
  });

  test("entries carry the name from the file", () => {
    const set = migrations("001_create_users.sql");
    const plan = planMigrations(set, [row("1", { name: "something_else" })]);
    expect(at(plan.entries, 0).name).toBe("create_users");
    expect(at(plan.entries, 0).version).toBe("001");
  });

  test("a row under a file's version but another file's name is mismatched: not applied, not pending, not rolled back", () => {
    const set = migrations("040_add_user_name_fields.sql", "041_b.sql");
    const plan = planMigrations(set, [row("040", { name: "add_single_task_type" }), rowFor(at(set, 1))]);
    expect(plan.entries.map((entry) => [entry.version, entry.state])).toEqual([
      ["040", "mismatched"],
      ["041", "applied"],
    ]);
    expect(plan.mismatched.map((entry) => entry.row?.name)).toEqual(["add_single_task_type"]);
    expect(plan.pending).toEqual([]);
    expect(plan.applied.map((entry) => entry.version)).toEqual(["041"]);
  });

  test("recorded names are compared as legacy runners wrote them: with the number, the .sql, another case", () => {
    const set = migrations("040_add_user_name_fields.sql");
    for (const name of ["add_user_name_fields", "040_add_user_name_fields", "040_add_user_name_fields.sql", "Add_User_Name_Fields", null]) {
      expect(at(planMigrations(set, [row("40", { name })]).entries, 0).state).toBe("applied");
    }
    expect(comparableName(" 040_X.SQL ")).toBe("x");
  });

  test("a file renumbered on import claims the row of its former identity; the file that now has that number is pending", () => {
    const set = buildMigrationSet([
      { fileName: "040_add_user_name_fields.sql", text: "select 1;" },
      { fileName: "041_add_single_task_type.sql", text: "-- migrate:up formerly:040_add_single_task_type\nselect 1;\n" },
    ]);
    const plan = planMigrations(set, [row("040", { name: "add_single_task_type" })]);
    expect(plan.entries.map((entry) => [entry.version, entry.state])).toEqual([
      ["040", "pending"],
      ["041", "applied"],
    ]);
    expect(plan.unknown).toEqual([]);
    expect(plan.mismatched).toEqual([]);
    // The former row stays the renumbered file's even once that file has a row of its own.
    const both = planMigrations(set, [row("040", { name: "add_single_task_type" }), row("041", { name: "add_single_task_type" })]);
    expect(both.entries.map((entry) => [entry.version, entry.state])).toEqual([
      ["040", "pending"],
      ["041", "applied"],
    ]);
    // A former identity claims only a row with that name: the other 040 file's row stays the 040 file's.
    const other = planMigrations(set, [row("040", { name: "add_user_name_fields" })]);
    expect(other.entries.map((entry) => [entry.version, entry.state])).toEqual([
      ["040", "applied"],
      ["041", "pending"],
    ]);
  });

  test("golang-migrate's one version stands for every migration up to it; an unknown version stays visible", () => {
    const set = migrations("001_a.sql", "002_b.sql", "005_c.sql");
    expect(rowsUpTo(set, "2").map((applied) => applied.version)).toEqual(["001", "002"]);
    expect(rowsUpTo(set, "3").map((applied) => [applied.version, applied.name])).toEqual([["001", "a"], ["002", "b"], ["3", null]]);
    expect(rowsUpTo(set, null)).toEqual([]);
  });
});

describe("rows in the files' order are paired by position (issue 14)", () => {
  const summary = (plan: ReturnType<typeof planMigrations>) => ({
    entries: plan.entries.map((entry) => [entry.version, entry.state, entry.row?.version ?? null, entry.migration?.fileName ?? null]),
    pending: plan.pending.map((migration) => migration.fileName),
    latestApplied: plan.latestApplied,
    formerRows: plan.formerRows.map(({ migration, row: formerRow }) => [migration.fileName, formerRow.version]),
  });

  test("on 3,000 random sets: the plan is the same whatever the order of the rows", () => {
    const random = mulberry32(2026);
    let pairedSeen = 0;
    for (let round = 0; round < 3_000; round++) {
      const count = 1 + Math.floor(random() * 6);
      const files: Record<string, string> = {};
      for (let n = 1; n <= count; n++) {
        const formerly = random() < 0.1 ? ` formerly:${String(n + 20).padStart(3, "0")}_old` : "";
        files[`${String(n).padStart(random() < 0.5 ? 3 : 1, "0")}_m${n}.sql`] = `-- migrate:up${formerly}\nselect ${n};\n`;
      }
      const set = buildMigrationSet(Object.entries(files).map(([fileName, text]) => ({ fileName, text })));
      const rows: AppliedRow[] = [];
      for (const migration of set) {
        const pick = random();
        if (pick < 0.15) continue; // pending
        rows.push(rowFor(migration, {
          version: random() < 0.3 ? `0${migration.version}` : migration.version,
          name: pick < 0.2 ? "someone_else" : pick < 0.3 ? null : migration.name,
          checksum: pick < 0.4 ? "0".repeat(64) : migration.checksum,
        }));
      }
      if (random() < 0.2) rows.push(row(String(100 + round % 5), { name: "unknown_one" }));
      if (random() < 0.1) rows.push(row("21", { name: "old" }));
      const inOrder = summary(planMigrations(set, rows));
      if (rows.length === set.length && rows.every((applied, index) => versionKey(applied.version) === set[index]?.key)) pairedSeen++;
      expect(summary(planMigrations(set, [...rows].reverse()))).toEqual(inOrder);
      expect(summary(planMigrations(set, [...rows.slice(1), ...rows.slice(0, 1)]))).toEqual(inOrder);
    }
    expect(pairedSeen).toBeGreaterThan(100);
  });
});

test("two files of one version (a set not made by buildMigrationSet) are planned as the map plans them, not paired (attack on issue 14)", () => {
  const files = [toMigration({ fileName: "1_a.sql", text: "select 1;\n" }), toMigration({ fileName: "01_a.sql", text: "select 2;\n" })];
  const rows = [rowFor(files[0] as Migration), rowFor(files[1] as Migration, { checksum: "0".repeat(64) })];
  // The map keeps the last row of a version: both files are compared with it.
  expect(planMigrations(files, rows).entries.map((entry) => [entry.version, entry.state])).toEqual([["1", "changed"], ["01", "changed"]]);
});
