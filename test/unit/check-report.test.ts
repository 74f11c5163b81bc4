/** The pure parts of `st44-migrate check`: the allow: marker option, check.json, the policy, the GitHub escaping and the measured findings. */
import { describe, expect, test } from "bun:test";
import type { CheckFinding } from "../../src/core/check/finding.ts";
import { renderAnnotations } from "../../src/core/check/github.ts";
import { measuredFindings } from "../../src/core/check/measured.ts";
import { applyPolicy, parseCheckConfig } from "../../src/core/check/policy.ts";
import type { CheckReport } from "../../src/core/check/report.ts";
import { schemaDifferences } from "../../src/core/check/schema-diff.ts";
import { parseMigrationText } from "../../src/core/migration-file.ts";
import { toMigration } from "../../src/core/migration-set.ts";
import { expectMigrateError } from "./helpers.ts";

const finding = (rule: string, fileName = "017_x.sql"): CheckFinding => ({ rule, severity: "error", fileName, line: 2, message: "m", fix: "f" });

describe("the allow: option of -- migrate:up", () => {
  test("names check rules, comma-separated; absent when not given, so other options read as before", () => {
    expect(parseMigrationText("017_x.sql", "-- migrate:up allow:table-rewrite,index-not-concurrent\nselect 1;\n").options.allow).toEqual(["table-rewrite", "index-not-concurrent"]);
    expect(parseMigrationText("017_x.sql", "-- migrate:up\nselect 1;\n").options).toEqual({ transaction: true, formerly: [] });
  });

  test("a name that is not a rule's, a repeated one, or allow on the down marker is refused like any unknown option", () => {
    expect(expectMigrateError(() => parseMigrationText("017_x.sql", "-- migrate:up allow:Table_Rewrite\nselect 1;\n"), "PARSE_UNKNOWN_OPTION").message).toContain("allow takes check rule names");
    expectMigrateError(() => parseMigrationText("017_x.sql", "-- migrate:up allow:\nselect 1;\n"), "PARSE_UNKNOWN_OPTION");
    expect(expectMigrateError(() => parseMigrationText("017_x.sql", "-- migrate:up allow:a,a\nselect 1;\n"), "PARSE_UNKNOWN_OPTION").message).toContain("named twice");
    expect(expectMigrateError(() => parseMigrationText("017_x.sql", "-- migrate:up\nselect 1;\n-- migrate:down allow:a\nselect 1;\n"), "PARSE_UNKNOWN_OPTION").message).toContain("allow belongs on the up marker");
    expectMigrateError(() => parseMigrationText("017_x.sql", "-- migrate:up allowed:a\nselect 1;\n"), "PARSE_UNKNOWN_OPTION");
  });
});

describe("check.json and the policy", () => {
  test("levels error, warning, off; anything else is refused with the file's name and the shape it wants", () => {
    expect(parseCheckConfig('{"rules": {"table-rewrite": "warning", "missing-down": "off"}}', "migrations/check.json").rules).toEqual({ "table-rewrite": "warning", "missing-down": "off" });
    expect(expectMigrateError(() => parseCheckConfig('{"rules": {"table-rewrite": "ignore"}}', "migrations/check.json"), "CHECK_CONFIG_INVALID").message).toContain('migrations/check.json sets rule "table-rewrite" to "ignore"');
    expectMigrateError(() => parseCheckConfig("{rules:", "c.json"), "CHECK_CONFIG_INVALID");
    expect(expectMigrateError(() => parseCheckConfig('{"rule": {}}', "c.json"), "CHECK_CONFIG_INVALID").message).toContain('unknown key "rule"');
  });

  test("an allow with the reason below the marker moves the finding to allowed; without a reason it is an error of its own", () => {
    const withReason = toMigration({ fileName: "017_x.sql", text: "-- migrate:up allow:table-rewrite\n-- 40 rows, milliseconds\nalter table t alter c type bigint;\n" });
    const result = applyPolicy([finding("table-rewrite"), finding("round-trip")], new Map([[withReason.fileName, withReason]]), { rules: {} });
    expect(result.findings.map((entry) => entry.rule)).toEqual(["round-trip"]);
    expect(result.allowed).toEqual([{ finding: finding("table-rewrite"), reason: "40 rows, milliseconds" }]);

    const bare = toMigration({ fileName: "017_x.sql", text: "-- migrate:up allow:table-rewrite\nalter table t alter c type bigint;\n" });
    const refused = applyPolicy([finding("table-rewrite")], new Map([[bare.fileName, bare]]), { rules: {} });
    expect(refused.findings.map((entry) => [entry.rule, entry.severity, entry.line])).toEqual([
      ["table-rewrite", "error", 2],
      ["allow-without-reason", "error", 1],
    ]);
  });

  test("the folder's level applies to every migration; off drops the finding", () => {
    const result = applyPolicy([finding("table-rewrite"), finding("missing-down")], new Map(), { rules: { "table-rewrite": "warning", "missing-down": "off" } });
    expect(result.findings.map((entry) => [entry.rule, entry.severity])).toEqual([["table-rewrite", "warning"]]);
  });
});

describe("measured findings", () => {
  const statement = { line: 4, excerpt: '"alter table users ..."', keywords: ["ALTER", "TABLE"], indexes: [] as { table: string; index: string; concurrently: boolean }[] };

  test("one finding per statement and table, the strongest: a rewrite over its lock", () => {
    const findings = measuredFindings("017_x.sql", [{ ...statement, locks: [{ table: "public.users", mode: "AccessExclusiveLock" }], rewritten: ["public.users"] }]);
    expect(findings.map((entry) => entry.rule)).toEqual(["table-rewrite"]);
    expect(findings[0]?.message).toContain("under ACCESS EXCLUSIVE");
  });

  test("a new table's foreign-key lock on the table it references is shown, not reported; ACCESS EXCLUSIVE always is", () => {
    const create = { ...statement, keywords: ["CREATE", "TABLE", "IF"], rewritten: [] };
    expect(measuredFindings("017_x.sql", [{ ...create, locks: [{ table: "public.users", mode: "ShareRowExclusiveLock" }] }])).toEqual([]);
    expect(measuredFindings("017_x.sql", [{ ...statement, rewritten: [], locks: [{ table: "public.users", mode: "ShareRowExclusiveLock" }] }]).map((entry) => [entry.rule, entry.severity])).toEqual([["blocking-lock", "warning"]]);
  });
});

describe("TRUNCATE", () => {
  test("gives the table a new file but is no rewrite: only its lock is reported", () => {
    const findings = measuredFindings("017_x.sql", [{ line: 2, excerpt: '"truncate users"', keywords: ["TRUNCATE"], indexes: [], rewritten: ["public.users"], locks: [{ table: "public.users", mode: "AccessExclusiveLock" }] }]);
    expect(findings.map((entry) => entry.rule)).toEqual(["access-exclusive-lock"]);
  });
});

describe("the github format", () => {
  test("escapes what would end the command or a property: %, newlines, and : , in properties", () => {
    const report: CheckReport = {
      selection: "s",
      server: "x",
      fromEmpty: "ok",
      snapshot: "matches",
      findings: [],
      durationMs: 1,
      migrations: [
        { fileName: "017_a,b.sql", transaction: true, observations: [], roundTrip: "ok", allowed: [], notes: [], findings: [{ ...finding("table-rewrite", "017_a,b.sql"), message: "100% of\nrows" }] },
      ],
    };
    const [line] = renderAnnotations(report, (name) => `db:${name}`).split("\n");
    expect(line).toBe("::error file=db%3A017_a%2Cb.sql,line=2,title=st44-migrate check%3A table-rewrite::100%25 of%0Arows Fix: f");
  });
});

describe("schema differences", () => {
  test("lines only before (-) and only after (+), the header left out; equal dumps give none", () => {
    expect(schemaDifferences("-- h\ntable a\n  column x: int\n", "-- other\ntable a\n  column x: bigint\n")).toEqual(["- column x: int", "+ column x: bigint"]);
    expect(schemaDifferences("table a\n", "table a\n")).toEqual([]);
  });
});

describe("a text rule the run measured too is reported once", () => {
  const finding = (rule: string, line: number | null) => ({ rule, severity: "error" as const, fileName: "017_x.sql", line, message: rule, fix: "" });
  test("create-index-blocking goes when index-not-concurrent was measured on its line; on another line it stays", async () => {
    const { withoutMeasuredTwice } = await import("../../src/check/round-trip.ts");
    const measured = [finding("index-not-concurrent", 4), finding("table-rewrite", 7)];
    const fromText = [finding("create-index-blocking", 4), finding("create-index-blocking", 5), finding("alter-column-type", 7), finding("alter-column-type", 8), finding("update-without-where", 4)];
    expect(withoutMeasuredTwice(fromText, measured).map((kept) => `${kept.rule}:${kept.line}`)).toEqual(["create-index-blocking:5", "alter-column-type:8", "update-without-where:4"]);
  });
});
