/**
 * `st44-migrate import` as a st44 engineer runs it: the compiled binary on a
 * copy of the legacy fixture, with the documented duplicate decision, then
 * --check against an empty database of the test server.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMigrationText } from "../../src/core/migration-file.ts";
import { freshDatabases } from "../support/database.ts";
import { runBinary } from "../support/cli.ts";

const freshDatabase = freshDatabases("imp");
const FIXTURE = join(import.meta.dir, "../fixtures/st44-legacy/docker/postgres/migrations");

describe("import of the st44 legacy folder", () => {
  let work: string;
  let legacy: string;
  let out: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "st44-import-e2e-"));
    legacy = join(work, "legacy");
    out = join(work, "migrations");
    cpSync(FIXTURE, legacy, { recursive: true });
  });

  test("without a decision on the two 040 files it refuses (exit 4), suggests the command and writes nothing", async () => {
    const result = await runBinary(["import", legacy, "--out", out]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("[IMPORT_DUPLICATE_VERSION]");
    expect(result.stderr).toContain("version 040: 040_add_single_task_type.sql, 040_add_user_name_fields.sql");
    expect(result.stderr).toContain("--renumber 040_add_single_task_type.sql=041");
    expect(existsSync(out)).toBe(false);
  });

  test("with --renumber it writes 31 files and reports merged, renumbered, skipped and needs-a-human", async () => {
    const result = await runBinary(["import", legacy, "--out", out, "--renumber", "040_add_single_task_type.sql=041", "--json"]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.written).toHaveLength(31);
    expect(readdirSync(out)).toHaveLength(31);
    expect(report.merged.map((entry: { down_source: string }) => entry.down_source)).toEqual(
      ["011", "012", "013", "014", "015", "016", "017", "018"].map((version) => `rollback/${version}_down.sql`),
    );
    expect(report.renumbered).toEqual([{ source: "040_add_single_task_type.sql", file: "041_add_single_task_type.sql", formerly: "040_add_single_task_type" }]);
    const skipped = report.skipped.map((entry: { path: string }) => entry.path);
    for (const path of ["README.md", "TEMPLATE.sql", "rollback/", "rollback/011_down.sql"]) expect(skipped).toContain(path);
    const notes = report.needs_human.filter((entry: { reason: string }) => entry.reason.includes("ROLLBACK NOTES"));
    expect(notes).toHaveLength(12);
    expect(report.notes.some((entry: { path: string; reason: string }) => entry.path === "046_add_household_timezone.sql" && entry.reason.includes("its own schema_migrations row"))).toBe(true);
  });

  test("every up part is the legacy file byte for byte; the renumbered one carries formerly: in its marker", () => {
    for (const fileName of readdirSync(legacy).filter((name) => /^\d+_.*\.sql$/.test(name))) {
      const target = fileName === "040_add_single_task_type.sql" ? "041_add_single_task_type.sql" : fileName;
      const written = readFileSync(join(out, target), "utf8");
      const parsed = parseMigrationText(target, written);
      expect(parsed.up, target).toBe(readFileSync(join(legacy, fileName), "utf8"));
    }
    expect(readFileSync(join(out, "041_add_single_task_type.sql"), "utf8").split("\n")[0]).toBe("-- migrate:up formerly:040_add_single_task_type");
    const households = parseMigrationText("011.sql", readFileSync(join(out, "011_create_households_table.sql"), "utf8"));
    expect(households.down).toBe(readFileSync(join(legacy, "rollback/011_down.sql"), "utf8"));
  });

  test("a second import into the same folder is refused, nothing overwritten", async () => {
    const result = await runBinary(["import", legacy, "--out", out, "--renumber", "040_add_single_task_type.sql=041"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("[IMPORT_OUT_NOT_EMPTY]");
  });

  test("--check names the later RENAME COLUMN file and its line; after the documented edit the set applies and registration works", async () => {
    const first = await freshDatabase();
    const failed = await runBinary(["import", "--out", out, "--check", "--check-url", first.url]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("[IMPORT_CHECK_FAILED]");
    expect(failed.stderr).toContain("035_index_assignment_date.sql line 3: ALTER TABLE task_assignments RENAME COLUMN due_date TO date");
    expect(failed.stderr).toContain('column "due_date" does not exist');
    expect(failed.output).not.toContain("test-secret-pw");

    // docs/importing.md: make the later rename conditional.
    const path = join(out, "035_index_assignment_date.sql");
    writeFileSync(path, readFileSync(path, "utf8").replace(
      "ALTER TABLE task_assignments RENAME COLUMN due_date TO date;\n",
      () => `DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'task_assignments' AND column_name = 'due_date') THEN
        ALTER TABLE task_assignments RENAME COLUMN due_date TO date;
    END IF;
END
$$;
`,
    ));
    const second = await freshDatabase();
    const passed = await runBinary(["import", "--out", out, "--check", "--check-url", second.url]);
    expect(passed.stderr).toContain("check: all 31 migrations");
    expect(passed.code).toBe(0);
    const [user] = await second.sql`insert into users (email, password_hash, first_name, last_name) values ('kari@example.com', 'x', 'Kari', 'Nordmann') returning first_name`;
    expect(user?.first_name).toBe("Kari");
    const rows = await second.sql<{ version: string }[]>`select version from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toContain("041");
    expect(rows.filter((row) => row.version === "040" || row.version === "46")).toEqual([{ version: "040" }]);
  });

  test("--check on a database that is not empty is refused", async () => {
    const used = await freshDatabase();
    await used.sql`create table something (id int)`;
    const result = await runBinary(["import", "--out", out, "--check", "--check-url", used.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("[IMPORT_CHECK_UNAVAILABLE]");
  });

  test("--check without --check-url says how to run it: the binary carries no PostgreSQL", async () => {
    const result = await runBinary(["import", "--out", out, "--check"], { cwd: work });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("[IMPORT_CHECK_UNAVAILABLE]");
    expect(result.stderr).toContain("--check-url");
  });
});
