import { describe, expect, test } from "bun:test";
import { planImport } from "../../src/core/import/convert.ts";
import { withMarkers } from "../../src/core/import/markers.ts";
import { parseRenumbering } from "../../src/core/import/renumber.ts";
import { formatImportReport } from "../../src/core/import/report.ts";
import { parseMigrationText } from "../../src/core/migration-file.ts";
import { expectMigrateError } from "./helpers.ts";

const entry = (path: string, text: string) => ({ path, text });
const upOf = (text: string) => parseMigrationText("x.sql", text);

describe("markers", () => {
  test("the up part is the legacy text byte for byte, with and without a down part", () => {
    const legacy = "BEGIN;\ncreate table a (id int);\nCOMMIT;\n";
    expect(upOf(withMarkers(legacy, null, null)).up).toBe(legacy);
    const both = upOf(withMarkers(legacy, "drop table a;\n", null));
    expect(both.up).toBe(legacy);
    expect(both.down).toBe("drop table a;\n");
  });

  test("CRLF and a BOM survive; a file without a final newline gains one only before a down marker", () => {
    const crlf = "\uFEFFcreate table a (id int);\r\n";
    expect(withMarkers(crlf, null, null)).toBe("\uFEFF-- migrate:up\r\ncreate table a (id int);\r\n");
    expect(upOf(withMarkers("select 1;", "select 2;", null)).up).toBe("select 1;\n");
  });

  test("formerly: is written on the up marker, and the runner's parser reads it", () => {
    const text = withMarkers("select 1;\n", null, "040_add_single_task_type");
    expect(text).toBe("-- migrate:up formerly:040_add_single_task_type\nselect 1;\n");
    expect(upOf(text).up).toBe("select 1;\n");
  });
});

describe("layouts", () => {
  test("st44: rollback/NNN_down.sql becomes the down part; the folder and its files are listed as skipped", () => {
    const report = planImport([entry("011_create_households.sql", "create table households ();\n"), entry("rollback/011_down.sql", "drop table households;\n")]);
    expect(report.written.map((file) => file.fileName)).toEqual(["011_create_households.sql"]);
    expect(upOf(report.written[0]!.text).down).toBe("drop table households;\n");
    expect(report.merged).toEqual([{ fileName: "011_create_households.sql", downSource: "rollback/011_down.sql" }]);
    expect(report.skipped.map((line) => line.path)).toEqual(["rollback/", "rollback/011_down.sql"]);
  });

  test("golang-migrate: .up.sql and .down.sql pair by version and name", () => {
    const report = planImport([entry("3_add_x.up.sql", "alter table t add x int;\n"), entry("3_add_x.down.sql", "alter table t drop x;\n")]);
    expect(report.written.map((file) => file.fileName)).toEqual(["3_add_x.sql"]);
    expect(upOf(report.written[0]!.text)).toMatchObject({ up: "alter table t add x int;\n", down: "alter table t drop x;\n" });
  });

  test("Flyway: V3__ and U3__ pair; a dotted version is refused until renumbered; R__ needs a human", () => {
    const files = [entry("V3__Add users.sql", "create table users ();\n"), entry("U3__Add users.sql", "drop table users;\n"), entry("V3_1__fix.sql", "select 1;\n"), entry("R__views.sql", "create view v as select 1;\n")];
    const error = expectMigrateError(() => planImport(files), "IMPORT_DUPLICATE_VERSION");
    expect(error.message).toContain("--renumber V3_1__fix.sql=004");
    const report = planImport(files, { renumber: [{ file: "V3_1__fix.sql", version: "4" }] });
    expect(report.written.map((file) => [file.fileName, file.formerly])).toEqual([["3_Add_users.sql", null], ["4_fix.sql", null]]);
    expect(upOf(report.written[0]!.text).down).toBe("drop table users;\n");
    expect(report.needsHuman.map((line) => line.path)).toEqual(["R__views.sql"]);
  });

  test("TEMPLATE.sql, README.md and other subfolders are skipped with a reason", () => {
    const report = planImport([entry("TEMPLATE.sql", "--"), entry("README.md", "#"), entry("old/001_x.sql", "select 1;")]);
    expect(report.written).toEqual([]);
    expect(report.skipped.map((line) => [line.path, line.reason.split(" ")[0]])).toEqual([["old/001_x.sql", "in"], ["README.md", "not"], ["TEMPLATE.sql", "no"]]);
  });
});

describe("duplicates and renumbering", () => {
  const guard = "DO $$ BEGIN IF EXISTS (SELECT 1 FROM schema_migrations WHERE version = '040') THEN RAISE EXCEPTION 'done'; END IF; END $$;\nalter table users add first_name text;\n";
  const files = [entry("039_x.sql", "select 1;\n"), entry("040_add_single_task_type.sql", "select 2;\n"), entry("040_add_user_name_fields.sql", guard)];

  test("refuses by default and suggests moving the file that does not name its own version to the first free number", () => {
    const error = expectMigrateError(() => planImport(files), "IMPORT_DUPLICATE_VERSION");
    expect(error.exitCode).toBe(4);
    expect(error.message).toContain("--renumber 040_add_single_task_type.sql=041");
    expect(error.details).toEqual(["  version 040: 040_add_single_task_type.sql, 040_add_user_name_fields.sql"]);
  });

  test("--renumber moves the file and records formerly:VERSION_NAME; the kept file's guard is a note", () => {
    const report = planImport(files, { renumber: [parseRenumbering("040_add_single_task_type.sql=041")] });
    expect(report.written.map((file) => file.fileName)).toEqual(["039_x.sql", "040_add_user_name_fields.sql", "041_add_single_task_type.sql"]);
    expect(report.written[2]!.text.split("\n")[0]).toBe("-- migrate:up formerly:040_add_single_task_type");
    expect(report.renumbered).toEqual([{ source: "040_add_single_task_type.sql", formerly: "040_add_single_task_type", fileName: "041_add_single_task_type.sql" }]);
    expect(report.notes.some((line) => line.path === "040_add_user_name_fields.sql" && line.reason.startsWith("reads schema_migrations"))).toBe(true);
  });

  test("a guard in a renumbered file needs a human", () => {
    const report = planImport(files, { renumber: [{ file: "040_add_user_name_fields.sql", version: "041" }] });
    expect(report.needsHuman.map((line) => [line.path, line.line])).toEqual([["040_add_user_name_fields.sql", 1]]);
  });

  test("a renumbering onto a taken version is refused; bad --renumber values are usage errors", () => {
    const onto = expectMigrateError(() => planImport(files, { renumber: [{ file: "040_add_single_task_type.sql", version: "039" }] }), "IMPORT_DUPLICATE_VERSION");
    // The advice moves the file the user moved, not the one that had the number first.
    expect(onto.message).toContain("--renumber 040_add_single_task_type.sql=039: version 039 is taken by 039_x.sql");
    expect(onto.message).toContain("for example --renumber 040_add_single_task_type.sql=041");
    expect(onto.message).not.toContain("039_x.sql=");
    const swapped = planImport(files, { renumber: [{ file: "039_x.sql", version: "041" }, { file: "040_add_single_task_type.sql", version: "039" }] });
    expect(swapped.written.map((file) => file.fileName)).toEqual(["039_add_single_task_type.sql", "040_add_user_name_fields.sql", "041_x.sql"]);
    expectMigrateError(() => planImport(files, { renumber: [{ file: "nope.sql", version: "041" }] }), "USAGE");
    expectMigrateError(() => parseRenumbering("040_x.sql=abc"), "USAGE");
  });
});

describe("report categories", () => {
  test("ROLLBACK NOTES need a human; own BEGIN/COMMIT and self-registration (unpadded) are notes", () => {
    const legacy = "BEGIN;\nalter table h add tz text;\nINSERT INTO schema_migrations (version, name) VALUES ('46', 'tz');\nCOMMIT;\n\n-- ROLLBACK NOTES\n-- alter table h drop tz;\n";
    const report = planImport([entry("046_tz.sql", legacy)]);
    expect(report.needsHuman).toEqual([{ path: "046_tz.sql", line: 6, reason: expect.stringContaining("ROLLBACK NOTES") }]);
    expect(report.notes.map((line) => line.line)).toEqual([1, 3, 4]);
    const text = formatImportReport(report, "legacy", "migrations");
    expect(text).toContain("needs a human (1):\n  046_tz.sql line 6: commented undo notes");
    expect(text).toContain("imported legacy -> migrations: 1 migration file(s) written");
  });
});
