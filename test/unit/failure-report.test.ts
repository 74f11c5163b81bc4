import { describe, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { describeBlockers, migrationFailure, outcomes } from "../../src/core/failure-report.ts";

const source = { fileName: "007_x.sql", text: "-- migrate:up\ncreate table a (id int);\nselect 1/;\n" };
const base = { source, queryOffset: source.text.indexOf("create"), outcome: outcomes.rolledBack("007_x.sql"), progress: { before: 2, after: 1 }, connectionLost: false };

describe("migrationFailure", () => {
  test("file, line and column with a caret, the server's message and SQLSTATE, what it leaves, and the fix", () => {
    const position = "create table a (id int);\nselect 1/".length + 1;
    const error = migrationFailure({ message: "syntax error at or near \";\"", code: "42601", hint: "a hint" }, { ...base, position });
    expect(error.code).toBe("MIGRATION_FAILED");
    expect(error.message).toBe(
      'Migration 007_x.sql failed at line 3, column 10: syntax error at or near ";" (SQLSTATE 42601). Nothing of 007_x.sql was applied (rolled back); 2 migration(s) before it in this run were applied and 1 after it were not run. Fix the SQL in the file and run st44-migrate up again.',
    );
    expect(error.details).toEqual(["  --> 007_x.sql:3:10", "  3 | select 1/;", "    |          ^", "  hint: a hint"]);
  });
  test("each outcome words the steps around it its own way", () => {
    const statements = migrationFailure({ message: "boom" }, { ...base, position: null, outcome: outcomes.partlyApplied("007_x.sql") });
    expect(statements.message).toContain("the statements before the failing one stay applied");
    const rollback = migrationFailure({ message: "boom" }, { ...base, position: null, outcome: outcomes.rollbackStepUndone() });
    expect(rollback.message).toContain("2 migration(s) were rolled back before it and 1 after it were not.");
  });
  test("a lost connection, a lock timeout with its blockers, and indexes left INVALID each get their own fix", () => {
    expect(migrationFailure({ message: "gone" }, { ...base, position: null, connectionLost: true }).message).toContain("The connection to the database was lost");
    const blocker = { pid: 42, application_name: "api", state: "idle in transaction", xact_seconds: 9, query: "select\n  1" };
    const locked = migrationFailure({ message: "canceling statement due to lock timeout", code: "55P03" }, { ...base, position: null, blockers: [blocker] });
    expect(locked.message).toContain('held by pid 42 (application "api", idle in transaction for 9 s; last query: select 1)');
    expect(locked.details).toContain(`  blocked by: ${describeBlockers([blocker])}`);
    const invalid = migrationFailure({ message: "dup" }, { ...base, position: null, invalidIndexes: ["i1"] });
    expect(invalid.message).toContain("Drop the INVALID index listed below");
  });
  test("a MigrateError passes through unchanged", () => {
    const original = new MigrateError("LOCK_TIMEOUT", "x");
    expect(migrationFailure(original, { ...base, position: null })).toBe(original);
  });
});

describe("a migration whose objects exist already", () => {
  test("says mark-applied when the failed step applied a migration, and not on other steps", () => {
    const up = migrationFailure({ message: 'column "first_name" of relation "users" already exists', code: "42701" }, { ...base, position: null, version: "040" });
    expect(up.message).toContain("st44-migrate mark-applied 040");
    const down = migrationFailure({ message: "already exists", code: "42P07" }, { ...base, position: null, outcome: outcomes.rollbackStepUndone() });
    expect(down.message).not.toContain("mark-applied");
    expect(down.message).toContain("Fix the SQL in the file");
  });
});
