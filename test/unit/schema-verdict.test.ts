/** Whether drift is judged, and how verify and status say it: without a database. */
import { describe, expect, test } from "bun:test";
import { buildMigrationSet } from "../../src/core/migration-set.ts";
import { type AppliedRow, planMigrations } from "../../src/core/plan.ts";
import { compareSnapshots } from "../../src/core/schema/compare.ts";
import { parseSnapshotText } from "../../src/core/schema/snapshot-text.ts";
import { SNAPSHOT_TEXT_HEADER } from "../../src/core/schema/render.ts";
import { judgedVerdict, reasonNotJudged, schemaDocument, schemaStatusLine, unjudgedVerdict } from "../../src/core/schema/verdict.ts";

const migrations = buildMigrationSet(Array.from({ length: 8 }, (_, index) => ({ fileName: `00${index + 1}_m${index}.sql`, text: `create table t${index} (id int);` })));
const row = (version: string, name: string, checksum: string | null): AppliedRow => ({ version, name, appliedAt: new Date(0), checksum, durationMs: 1, hasDown: false });
const applied = migrations.map((migration) => row(migration.version, migration.name, migration.checksum));
const snapshot = (...lines: string[]) => parseSnapshotText([...SNAPSHOT_TEXT_HEADER, "", ...lines, ""].join("\n"));

describe("reasonNotJudged", () => {
  test("every migration applied as written, nothing unknown: judged", () => {
    expect(reasonNotJudged(planMigrations(migrations, applied))).toBeNull();
  });
  test("pending ones name a few versions, not all of them", () => {
    expect(reasonNotJudged(planMigrations(migrations, []))).toBe(
      "8 migration(s) pending (001, 002, 003, 004, 005, … 3 more): the snapshot describes the schema once every migration is applied; run st44-migrate up first",
    );
  });
  test("a changed migration, or one this build does not know, is a reason too", () => {
    const changed = planMigrations(migrations, applied.map((entry, index) => (index === 2 ? { ...entry, checksum: "0".repeat(64) } : entry)));
    expect(reasonNotJudged(changed)).toStartWith("applied migration(s) differ from this build's files (003)");
    const ahead = planMigrations(migrations, [...applied, row("009", "later", null)]);
    expect(reasonNotJudged(ahead)).toBe("the database has migration(s) this build does not know (009): it is ahead of this build's snapshot");
  });
});

describe("how the verdict is said", () => {
  test("ok, drift with counts, not judged with the reason; the JSON part alike", () => {
    const same = snapshot("table public.t", "  column a: integer");
    const ok = judgedVerdict("the embedded schema snapshot", compareSnapshots(same, same));
    expect(schemaStatusLine(ok)).toBe("schema: matches the snapshot");
    expect(schemaDocument(ok)).toEqual({ status: "ok", expected: "the embedded schema snapshot", missing: [], changed: [], extra: [] });

    const drift = judgedVerdict("x", compareSnapshots(same, snapshot("table public.t", "  column a: bigint", "table public.u")));
    expect(schemaStatusLine(drift)).toBe("schema: 0 missing, 1 changed, 1 extra (st44-migrate verify lists them)");
    expect(schemaDocument(drift).changed).toEqual([{ kind: "column", name: "t.a", detail: "integer → bigint", line: "changed column t.a: integer → bigint" }]);

    const unknown = unjudgedVerdict("no snapshot");
    expect(schemaStatusLine(unknown)).toBe("schema: not judged (no snapshot)");
    expect(schemaDocument(unknown)).toEqual({ status: "unknown", missing: [], changed: [], extra: [], reason: "no snapshot" });
  });
});
