/**
 * `st44-migrate check` against real PostgreSQL (the suite's server, as --url
 * of a CI service would be): the seed set checks clean; a migration of each
 * kind the run measures triggers its finding and its safe rewrite does not;
 * a broken down part fails the round trip with file and line.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCheck } from "../../src/check/run.ts";
import { tablesAfter, textRuleFindings } from "../../src/check/text-rules.ts";
import { renderAnnotations, renderStepSummary } from "../../src/core/check/github.ts";
import { type CheckReport, type MigrationCheck, allFindings, errorCount } from "../../src/core/check/report.ts";
import { MigrateError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/log.ts";
import { client } from "../support/database.ts";

const SEED = join(import.meta.dir, "../../migrations");
const serverUrl = () => process.env.TEST_DATABASE_URL ?? "";

/** A copy of the seed folder (with its schema.snapshot) plus `extra` files. */
function folderWith(extra: Record<string, string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), "st44-check-")), "migrations");
  cpSync(SEED, dir, { recursive: true });
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

function migration(report: CheckReport, fileName: string): MigrationCheck {
  const found = report.migrations.find((entry) => entry.fileName === fileName);
  if (!found) throw new Error(`no ${fileName} in the report: ${report.migrations.map((entry) => entry.fileName).join(", ")}`);
  return found;
}

const rules = (entry: MigrationCheck) => entry.findings.map((finding) => finding.rule).sort();

describe("check on the seed set", () => {
  test("every seed migration checks clean: applies from empty, matches schema.snapshot, round trip ok, no finding", async () => {
    const report = await runCheck({ dir: folderWith({}), selection: { kind: "since", version: "000" }, url: serverUrl(), log: silentLogger });
    expect(report.fromEmpty).toBe("ok");
    expect(report.snapshot).toBe("matches");
    expect(report.migrations.map((entry) => entry.fileName)).toHaveLength(7);
    expect(report.migrations.map((entry) => entry.roundTrip)).toEqual(Array(7).fill("ok"));
    expect(allFindings(report)).toEqual([]);
    // The locks are measured all the same: a new table's foreign key locks the table it references.
    expect(migration(report, "012_create_household_members_table.sql").observations[0]?.locks).toContainEqual({ table: "public.users", mode: "ShareRowExclusiveLock" });
    // Every seed table got its sample row (a CHECK's IN list gives the value), so nothing was measured on an empty table.
    expect(report.migrations.flatMap((entry) => entry.notes)).toEqual([]);
    // Every database it made on the server is gone.
    const admin = client(serverUrl());
    try {
      expect([...(await admin`select datname from pg_database where datname like 'st44\_check\_%'`)]).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});

describe("a migration that does not apply", () => {
  test("from empty: the file and the line of the failing statement, although the server gives no position; nothing else runs", async () => {
    const dir = folderWith({ "017_drop_nickname.sql": "-- migrate:up\nSELECT 1;\n\nALTER TABLE users DROP COLUMN nickname;\n-- migrate:down\nSELECT 1;\n" });
    const report = await runCheck({ dir, selection: { kind: "last" }, url: serverUrl(), log: silentLogger });
    expect(report.fromEmpty).toBe("failed");
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ rule: "apply-failed", severity: "error", fileName: "017_drop_nickname.sql", line: 4 });
    expect(report.findings[0]?.message).toContain('column "nickname" of relation "users" does not exist');
    expect(report.migrations.map((entry) => entry.roundTrip)).toEqual(["not run"]);
  });
});

describe("what only rows or a committed snapshot show", () => {
  test("a NOT NULL column without a default applies to empty tables but fails on rows; a missing snapshot says how to make it", async () => {
    const dir = folderWith({ "017_add_users_nickname.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN nickname text NOT NULL;\n-- migrate:down\nALTER TABLE users DROP COLUMN nickname;\n" });
    rmSync(join(dir, "schema.snapshot"));
    const report = await runCheck({ dir, selection: { kind: "last" }, url: serverUrl(), log: silentLogger });
    const entry = migration(report, "017_add_users_nickname.sql");
    expect(entry.findings.map((finding) => [finding.rule, finding.severity, finding.line])).toEqual([["fails-with-rows", "error", 2]]);
    expect(entry.findings[0]?.message).toContain('column "nickname" of relation "users" contains null values');
    expect(entry.roundTrip).toBe("ok");
    expect(report.snapshot).toBe("missing");
    expect(report.findings.map((finding) => finding.rule)).toEqual(["schema-snapshot"]);
    expect(report.findings[0]?.fix).toContain(`st44-migrate dump --url URL > ${join(dir, "schema.snapshot")}`);
  });
});

describe("a table whose CHECK refuses the generic sample row", () => {
  test("ADD COLUMN ... NOT NULL without a default on it is an error from the text, and the empty measurement a warning, not only a note", async () => {
    const dir = folderWith({
      "017_children_name_long.sql": "-- migrate:up\nALTER TABLE children ADD CONSTRAINT children_name_long CHECK (length(name) > 2);\n-- migrate:down\nALTER TABLE children DROP CONSTRAINT children_name_long;\n",
      "018_add_children_nickname.sql": "-- migrate:up\nSELECT 1;\nALTER TABLE children ADD COLUMN nickname text NOT NULL;\n-- migrate:down\nALTER TABLE children DROP COLUMN nickname;\n",
    });
    rmSync(join(dir, "schema.snapshot"));
    const report = await runCheck({ dir, selection: { kind: "last" }, url: serverUrl(), log: silentLogger, textRules: { findings: textRuleFindings, tablesAfter } });
    const entry = migration(report, "018_add_children_nickname.sql");
    expect(entry.findings.map((finding) => [finding.rule, finding.severity, finding.line])).toContainEqual(["not-null-without-default", "error", 3]);
    expect(entry.findings.map((finding) => [finding.rule, finding.severity, finding.line])).toContainEqual(["sample-rows-refused", "warning", 3]);
    expect(entry.findings.find((finding) => finding.rule === "sample-rows-refused")?.message).toContain("children_name_long");
    expect(errorCount(report)).toBeGreaterThan(0);
  });
});

describe("--base REF: the files at REF are taken as applied", () => {
  test("an edited, a renamed and a deleted applied migration are errors naming the file and the fix; a line-ending change is not one", async () => {
    const dir = folderWith({});
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" } });
    git("init", "-q");
    git("add", ".");
    git("commit", "-qm", "seed");
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    writeFileSync(join(dir, "013_create_children_table.sql"), read("013_create_children_table.sql").replace("birth_year integer,", "birth_year integer,\n    nickname text,"));
    renameSync(join(dir, "014_create_tasks_table.sql"), join(dir, "014_create_chores_table.sql"));
    rmSync(join(dir, "016_create_task_completions_table.sql"));
    writeFileSync(join(dir, "011_create_households_table.sql"), read("011_create_households_table.sql").replaceAll("\n", "\r\n"));
    writeFileSync(join(dir, "017_add_users_score.sql"), "-- migrate:up\nALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0;\n-- migrate:down\nALTER TABLE users DROP COLUMN score;\n");
    const report = await runCheck({ dir, selection: { kind: "base", ref: "HEAD" }, url: serverUrl(), log: silentLogger });
    expect(report.migrations.map((entry) => entry.fileName)).toEqual(["013_create_children_table.sql", "014_create_chores_table.sql", "017_add_users_score.sql"]);
    const changed = report.findings.filter((finding) => finding.rule === "applied-migration-changed");
    expect(changed.map((finding) => [finding.fileName, finding.severity])).toEqual([
      ["013_create_children_table.sql", "error"],
      ["014_create_tasks_table.sql", "error"],
      ["016_create_task_completions_table.sql", "error"],
    ]);
    expect(changed[0]?.message).toContain("was edited");
    expect(changed[1]?.message).toContain("was renamed to 014_create_chores_table.sql");
    expect(changed[2]?.message).toContain("was deleted");
    expect(changed[0]?.fix).toContain("new migration");
    expect(changed[0]?.fix).toContain("repair --accept");
    expect(errorCount(report)).toBeGreaterThan(0);
  });
});

describe("--statement-timeout", () => {
  test("a statement slower than it is stopped and reported at its line, in the new migration and from empty; nothing waits longer", async () => {
    const slow = "-- migrate:up\nSELECT 1;\nSELECT pg_sleep(30);\n-- migrate:down\nSELECT 1;\n";
    const started = performance.now();
    const report = await runCheck({ dir: folderWith({ "017_slow.sql": slow }), selection: { kind: "last" }, url: serverUrl(), log: silentLogger, statementTimeoutMs: 500 });
    expect(performance.now() - started).toBeLessThan(25_000);
    expect(report.findings.map((finding) => [finding.rule, finding.fileName, finding.line])).toEqual([["statement-timeout", "017_slow.sql", 3]]);
    expect(report.findings[0]?.fix).toContain("--statement-timeout");
    expect(errorCount(report)).toBeGreaterThan(0);
  });

  test("a new migration's slow statement is measured first: one finding at its line, no apply after it", async () => {
    const slow = "-- migrate:up\nSELECT 1;\nSELECT pg_sleep(2);\n-- migrate:down\nSELECT 1;\n";
    // From empty runs it without rows too: only the measured run (after sample rows) is slower, so give it rows to scan.
    const report = await runCheck({
      dir: folderWith({ "017_slow.sql": slow.replace("SELECT pg_sleep(2);", "SELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM users) THEN 30 ELSE 0 END);") }),
      selection: { kind: "last" },
      url: serverUrl(),
      log: silentLogger,
      statementTimeoutMs: 1000,
    });
    const entry = migration(report, "017_slow.sql");
    expect(entry.findings.map((finding) => [finding.rule, finding.line])).toEqual([["statement-timeout", 3]]);
    expect(entry.roundTrip).toBe("not run");
  });
});

describe("after a migration whose round trip fails", () => {
  test("its down part's leftovers are reported though the re-apply then fails, and the migrations after it still get the rules from the text", async () => {
    const dir = folderWith({
      "017_create_rewards.sql": "-- migrate:up\nCREATE TABLE rewards (id int PRIMARY KEY);\n-- migrate:down\nSELECT 1;\n",
      "018_index_users_name.sql": "-- migrate:up\nCREATE INDEX idx_users_created ON users(created_at);\nCREATE INDEX idx_rewards_id ON rewards(id);\n-- migrate:down\nDROP INDEX idx_users_created;\n",
    });
    const report = await runCheck({ dir, selection: { kind: "since", version: "016" }, url: serverUrl(), log: silentLogger, textRules: { findings: textRuleFindings, tablesAfter } });
    const first = migration(report, "017_create_rewards.sql");
    expect(first.roundTrip).toBe("failed");
    expect(first.findings.map((finding) => finding.message).join("\n")).toContain("does not restore the schema before it");
    expect(first.findings.map((finding) => finding.message).join("\n")).toContain("does not apply again");
    const second = migration(report, "018_index_users_name.sql");
    expect(second.roundTrip).toBe("not run");
    // rewards is an existing table for 018 by the text of 017 before it.
    expect(second.findings.map((finding) => [finding.rule, finding.line])).toEqual([["create-index-blocking", 2], ["create-index-blocking", 3]]);
  });
});

describe("materialized views", () => {
  test("an index built on an existing one is measured like a table's (its SHARE lock, without CONCURRENTLY); no sample row is tried in it", async () => {
    const dir = folderWith({
      "017_create_user_emails.sql": "-- migrate:up\nCREATE MATERIALIZED VIEW user_emails AS SELECT email FROM users;\n-- migrate:down\nDROP MATERIALIZED VIEW user_emails;\n",
      "018_index_user_emails.sql": "-- migrate:up\nCREATE INDEX idx_user_emails ON user_emails(email);\n-- migrate:down\nDROP INDEX idx_user_emails;\n",
    });
    const report = await runCheck({ dir, selection: { kind: "last" }, url: serverUrl(), log: silentLogger });
    const entry = migration(report, "018_index_user_emails.sql");
    expect(entry.findings.map((finding) => [finding.rule, finding.line])).toEqual([["index-not-concurrent", 2]]);
    expect(entry.observations[0]?.locks).toContainEqual({ table: "public.user_emails", mode: "ShareLock" });
    expect(entry.notes).toEqual([]);
  });
});

describe("--since VERSION", () => {
  test("a version that is not in the set is a usage error naming the versions there are, before anything runs", async () => {
    const error = await runCheck({ dir: folderWith({}), selection: { kind: "since", version: "999" }, url: serverUrl(), log: silentLogger }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrateError);
    expect((error as MigrateError).code).toBe("USAGE");
    expect((error as MigrateError).message).toContain("--since 999: no migration");
    expect((error as MigrateError).message).toContain("001, 011, 012, 013, 014, 015, 016");
  });
});

describe("a --url check cannot log in with", () => {
  test("DB_AUTH_FAILED says to fix --url, not DB_USER or DATABASE_URL, which check never reads; the password nowhere", async () => {
    const url = new URL(serverUrl());
    url.password = "Not-The-Password-7";
    const error = await runCheck({ dir: folderWith({}), selection: { kind: "last" }, url: url.toString(), waitMs: 0, log: silentLogger }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrateError);
    expect((error as MigrateError).code).toBe("DB_AUTH_FAILED");
    expect((error as MigrateError).message).toContain("--url");
    expect((error as MigrateError).message).not.toContain("DB_USER");
    expect((error as MigrateError).message).not.toContain("in DATABASE_URL");
    expect((error as MigrateError).message).not.toContain("Not-The-Password-7");
  });
});

describe("SET NOT NULL after a CHECK validated by an earlier migration", () => {
  test("the database's validated CHECK (col IS NOT NULL) is the proof: no not-null-without-check; without it there is one", async () => {
    const dir = folderWith({
      "017_users_hash_check.sql": "-- migrate:up\nALTER TABLE users ADD CONSTRAINT users_hash_not_null CHECK (password_hash IS NOT NULL) NOT VALID;\n-- migrate:down\nALTER TABLE users DROP CONSTRAINT users_hash_not_null;\n",
      "018_users_hash_validate.sql": "-- migrate:up\nALTER TABLE users VALIDATE CONSTRAINT users_hash_not_null;\n-- migrate:down\nSELECT 1;\n",
      "019_users_not_null.sql": "-- migrate:up\nALTER TABLE users ALTER COLUMN password_hash SET NOT NULL;\nALTER TABLE users ALTER COLUMN oauth_provider SET NOT NULL;\n-- migrate:down\nALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;\nALTER TABLE users ALTER COLUMN oauth_provider DROP NOT NULL;\n",
    });
    const report = await runCheck({ dir, selection: { kind: "last" }, url: serverUrl(), log: silentLogger, textRules: { findings: textRuleFindings, tablesAfter } });
    const entry = migration(report, "019_users_not_null.sql");
    expect(entry.findings.filter((finding) => finding.rule === "not-null-without-check").map((finding) => finding.line)).toEqual([3]);
  });
});

describe("check of new migrations, each measured on the schema before it", () => {
  let report: CheckReport;
  let dir: string;
  beforeAll(async () => {
    dir = folderWith({
      "017_add_users_score.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0;\n-- migrate:down\nALTER TABLE users DROP COLUMN score;\n",
      "018_add_users_seen_at.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();\n-- migrate:down\nALTER TABLE users DROP COLUMN seen_at;\n",
      "019_widen_points.sql": "-- migrate:up\nALTER TABLE task_completions ALTER COLUMN points_earned TYPE bigint;\n-- migrate:down\nALTER TABLE task_completions ALTER COLUMN points_earned TYPE integer;\n",
      "020_index_task_names.sql": "-- migrate:up\n\nCREATE INDEX idx_tasks_name ON tasks(name);\n-- migrate:down\nDROP INDEX idx_tasks_name;\n",
      "021_index_child_names.sql": "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_children_name ON children(name);\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY IF EXISTS idx_children_name;\n",
      "022_create_rewards.sql": "-- migrate:up\nCREATE TABLE rewards (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE IF EXISTS rewards_old;\nDROP TABLEE rewards;\n",
      "023_create_badges.sql": "-- migrate:up\nCREATE TABLE badges (id int PRIMARY KEY);\n",
    });
    report = await runCheck({ dir, selection: { kind: "since", version: "016" }, url: serverUrl(), log: silentLogger });
  });

  test("ADD COLUMN ... NOT NULL DEFAULT 0 is no rewrite (PostgreSQL 11+), only its ACCESS EXCLUSIVE lock, a warning", () => {
    const entry = migration(report, "017_add_users_score.sql");
    expect(entry.observations.flatMap((statement) => statement.rewritten)).toEqual([]);
    expect(entry.observations[0]?.locks).toEqual([{ table: "public.users", mode: "AccessExclusiveLock" }]);
    expect(entry.findings.map((finding) => [finding.rule, finding.severity, finding.line])).toEqual([["access-exclusive-lock", "warning", 2]]);
    expect(entry.roundTrip).toBe("ok");
  });

  test("ADD COLUMN with a volatile default (clock_timestamp()) rewrites the table: an error at its line", () => {
    const entry = migration(report, "018_add_users_seen_at.sql");
    expect(entry.observations[0]?.rewritten).toEqual(["public.users"]);
    expect(entry.findings).toHaveLength(1);
    expect(entry.findings[0]).toMatchObject({ rule: "table-rewrite", severity: "error", line: 2 });
    expect(entry.findings[0]?.message).toContain("rewrote public.users");
    expect(entry.findings[0]?.message).toContain("ACCESS EXCLUSIVE");
  });

  test("ALTER COLUMN ... TYPE integer to bigint rewrites the table", () => {
    expect(rules(migration(report, "019_widen_points.sql"))).toEqual(["table-rewrite"]);
    expect(migration(report, "019_widen_points.sql").observations[0]?.rewritten).toEqual(["public.task_completions"]);
  });

  test("CREATE INDEX on an existing table is reported with its SHARE lock and line", () => {
    const entry = migration(report, "020_index_task_names.sql");
    expect(entry.observations[0]?.locks).toEqual([{ table: "public.tasks", mode: "ShareLock" }]);
    expect(entry.findings).toHaveLength(1);
    expect(entry.findings[0]).toMatchObject({ rule: "index-not-concurrent", severity: "error", line: 3 });
    expect(entry.findings[0]?.message).toContain("under SHARE");
  });

  test("CREATE INDEX CONCURRENTLY (transaction:false) is not reported; the report says its locks could not be read", () => {
    const entry = migration(report, "021_index_child_names.sql");
    expect(entry.findings).toEqual([]);
    expect(entry.observations[0]?.indexes).toEqual([{ table: "public.children", index: "idx_children_name", concurrently: true }]);
    expect(entry.notes.join(" ")).toContain("transaction:false");
    expect(entry.roundTrip).toBe("ok");
  });

  test("a broken down part fails the round trip with the file and the line of the failing statement", () => {
    const entry = migration(report, "022_create_rewards.sql");
    expect(entry.roundTrip).toBe("failed");
    expect(entry.findings).toHaveLength(1);
    expect(entry.findings[0]).toMatchObject({ rule: "round-trip", severity: "error", fileName: "022_create_rewards.sql", line: 5 });
    expect(entry.findings[0]?.message).toContain("Its down part fails: Migration 022_create_rewards.sql failed at line 5");
    expect(entry.findings[0]?.message).toContain('syntax error at or near "TABLEE"');
  });

  test("a missing down part is a warning; the migrations after a failed round trip are still checked", () => {
    const entry = migration(report, "023_create_badges.sql");
    expect(entry.roundTrip).toBe("no down part");
    expect(entry.findings.map((finding) => [finding.rule, finding.severity])).toEqual([["missing-down", "warning"]]);
  });

  test("the committed snapshot no longer matches: an error naming the objects and the command that refreshes it", () => {
    expect(report.snapshot).toBe("differs");
    const [finding] = report.findings;
    expect(finding?.rule).toBe("schema-snapshot");
    expect(finding?.message).toContain("+ table public.badges");
    expect(finding?.fix).toContain("st44-migrate dump");
    expect(errorCount(report)).toBe(5);
  });

  test("the github format: one annotation per finding on the file's line, and a summary table per migration", () => {
    const annotations = renderAnnotations(report, (fileName) => `migrations/${fileName}`);
    expect(annotations).toContain("::error file=migrations/018_add_users_seen_at.sql,line=2,title=st44-migrate check%3A table-rewrite::");
    expect(annotations).toContain("::error file=migrations/020_index_task_names.sql,line=3,title=st44-migrate check%3A index-not-concurrent::");
    expect(annotations).toContain("::warning file=migrations/017_add_users_score.sql,line=2,");
    expect(annotations).toContain("::error file=migrations/schema.snapshot,title=");
    expect(annotations.split("\n").filter((line) => line.startsWith("::"))).toHaveLength(allFindings(report).length);
    const summary = renderStepSummary(report);
    expect(summary).toContain("### `020_index_task_names.sql`");
    expect(summary).toContain("| locks | SHARE on public.tasks (line 3) |");
    expect(summary).toContain("| rewrite | public.users (line 2) |");
    expect(summary).toContain("| round trip | failed |");
    expect(summary).toContain("### `021_index_child_names.sql` (transaction:false)\n\n| check | result |\n|---|---|\n| locks | not measured (transaction:false) |");
  });

  test("allow:table-rewrite with a reason keeps the finding out of the count; check.json turns a rule off or down", async () => {
    writeFileSync(
      join(dir, "018_add_users_seen_at.sql"),
      `-- migrate:up allow:table-rewrite\n-- users holds a few hundred rows: the rewrite takes milliseconds\n${readFileSync(join(dir, "018_add_users_seen_at.sql"), "utf8").split("\n").slice(1).join("\n")}`,
    );
    writeFileSync(join(dir, "check.json"), JSON.stringify({ rules: { "index-not-concurrent": "warning", "schema-snapshot": "off" } }));
    const again = await runCheck({ dir, selection: { kind: "since", version: "017" }, url: serverUrl(), log: silentLogger });
    const seen = migration(again, "018_add_users_seen_at.sql");
    expect(seen.findings).toEqual([]);
    expect(seen.allowed.map(({ finding, reason }) => [finding.rule, reason])).toEqual([["table-rewrite", "users holds a few hundred rows: the rewrite takes milliseconds"]]);
    expect(migration(again, "020_index_task_names.sql").findings.map((finding) => finding.severity)).toEqual(["warning"]);
    expect(again.findings).toEqual([]);
    // Left: 019's rewrite and 022's round trip.
    expect(errorCount(again)).toBe(2);
  });
});
