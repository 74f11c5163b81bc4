import { describe, expect, test } from "bun:test";
import { checksumMismatchError, healthReasons, missingTableFindings, planFindings, refusalToApply, schemaDriftFindings } from "../../src/core/findings.ts";
import { compareSnapshots } from "../../src/core/schema/compare.ts";
import { parseSnapshotText } from "../../src/core/schema/snapshot-text.ts";
import { SNAPSHOT_TEXT_HEADER } from "../../src/core/schema/render.ts";
import { buildMigrationSet } from "../../src/core/migration-set.ts";
import { type AppliedRow, planMigrations } from "../../src/core/plan.ts";

const migrations = buildMigrationSet([
  { fileName: "001_a.sql", text: "create table a (id int);" },
  { fileName: "002_b.sql", text: "create table b (id int);" },
  { fileName: "003_c.sql", text: "create table c (id int);" },
]);
const row = (version: string, name: string, checksum: string | null, hasDown = false): AppliedRow => ({ version, name, appliedAt: new Date(0), checksum, durationMs: 1, hasDown });

describe("planFindings", () => {
  const plan = planMigrations(migrations, [row("002", "b", "f".repeat(64)), row("003", "c", null), row("009", "z", null, true)]);
  const findings = planFindings(plan);

  test("one finding per changed, unknown, pending and out-of-order migration, errors and warnings as they are", () => {
    expect(findings.map((finding) => [finding.kind, finding.subject, finding.severity])).toEqual([
      ["changed", "002", "error"],
      ["unknown", "009", "warning"],
      ["pending", "001", "error"],
      ["out-of-order", "001", "warning"],
    ]);
  });
  test("each message says what to do", () => {
    expect(findings[0]?.message).toContain("repair --accept 002");
    expect(findings[1]?.message).toContain("can be rolled back with down --to-known");
    expect(findings[2]?.message).toBe("001_a.sql: not applied (st44-migrate up)");
  });
  test("a consistent plan has none", () => {
    const applied = planMigrations(migrations, migrations.map((migration) => row(migration.version, migration.name, migration.checksum)));
    expect(planFindings(applied)).toEqual([]);
    expect(refusalToApply(applied, "fail")).toBeNull();
  });
});

describe("refusals", () => {
  test("a changed migration refuses whatever --on-unknown says; unknown ones only with fail", () => {
    const changed = planMigrations(migrations, [row("001", "a", "0".repeat(64))]);
    expect(refusalToApply(changed, "warn")?.code).toBe("CHECKSUM_MISMATCH");
    const unknown = planMigrations(migrations, [row("007", "x", null)]);
    expect(refusalToApply(unknown, "warn")).toBeNull();
    expect(refusalToApply(unknown, "fail")?.code).toBe("UNKNOWN_MIGRATIONS");
  });
  test("the checksum refusal names the files, the fix with its flag, and both checksums", () => {
    const plan = planMigrations(migrations, [row("001", "a", "0".repeat(64))]);
    const error = checksumMismatchError(plan.changed);
    expect(error.message).toContain("001_a.sql");
    expect(error.message).toContain("repair --accept VERSION");
    expect(error.details[0]).toContain(`database ${"0".repeat(64)} != file ${migrations[0]?.checksum}`);
  });
});

describe("healthReasons", () => {
  test("pending, changed and missing tables make it unhealthy; unknown migrations only degrade it", () => {
    const plan = planMigrations(migrations, [row("001", "a", "0".repeat(64)), row("008", "y", null)]);
    const reasons = healthReasons([...planFindings(plan), ...missingTableFindings(["users"])]);
    expect(reasons.unhealthy).toEqual([
      "2 migration(s) pending: 002, 003",
      "applied migration(s) differ from this build: 001",
      "missing table(s): users",
    ]);
    expect(reasons.degraded).toEqual(["the database has migration(s) this build does not know: 008"]);
  });
});

describe("schemaDriftFindings", () => {
  const snapshot = (...lines: string[]) => parseSnapshotText([...SNAPSHOT_TEXT_HEADER, "", ...lines, ""].join("\n"));
  test("missing and changed objects are errors, extra ones warnings, each with the comparison's line", () => {
    const drift = compareSnapshots(
      snapshot("table public.t", "  column a: integer", "  column b: text"),
      snapshot("table public.t", "  column a: bigint", "table public.u"),
    );
    expect(schemaDriftFindings(drift).map((finding) => [finding.kind, finding.subject, finding.severity, finding.message])).toEqual([
      ["schema-missing", "column t.b", "error", "missing column t.b"],
      ["schema-changed", "column t.a", "error", "changed column t.a: integer → bigint"],
      ["schema-extra", "table u", "warning", "extra table u"],
    ]);
  });
});
