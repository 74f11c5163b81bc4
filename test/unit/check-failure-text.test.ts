/**
 * How check reads the runner's failure message of a migration: the line
 * only from the runner's own "failed at line N, column M", the text up to
 * the SQLSTATE, also when the server's message spans lines.
 */
import { describe, expect, test } from "bun:test";
import { failureText } from "../../src/check/round-trip.ts";

describe("failureText", () => {
  test("the line is the runner's position, not a number the server's message happens to mention", () => {
    const raised = new Error("Migration 017_quota.sql failed: quota exceeded on line 99 (SQLSTATE P0001); 16 migration(s) applied and 1 not applied. Fix it and run again.");
    expect(failureText(raised)).toEqual({ line: null, text: "Migration 017_quota.sql failed: quota exceeded on line 99 (SQLSTATE P0001)" });
    const positioned = new Error("Migration 017_x.sql failed at line 4, column 7: syntax error at or near \"TABL\" (SQLSTATE 42601)\n  017_x.sql:4: CREATE TABL x;");
    expect(failureText(positioned).line).toBe(4);
    expect(failureText(new Error("Migration 017_x.sql failed in the statement at line 6, column 1: boom (SQLSTATE XX000)")).line).toBe(6);
  });

  test("a message over several lines is kept to its SQLSTATE", () => {
    const multiLine = new Error("Migration 017_quota.sql failed: quota exceeded\nfor household 7 (SQLSTATE P0001); 16 migration(s) applied. Run st44-migrate up again.");
    expect(failureText(multiLine).text).toBe("Migration 017_quota.sql failed: quota exceeded\nfor household 7 (SQLSTATE P0001)");
  });
});
