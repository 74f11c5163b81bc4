/**
 * `st44-migrate check` as CI runs it: the compiled binary against a server
 * it may create databases on (the suite's, as a CI service), its exit codes,
 * the github format with the step summary, and the clear refusal when there
 * is no server (the binary carries no PostgreSQL).
 */
import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBinary } from "../support/cli.ts";

const SEED = join(import.meta.dir, "../../migrations");
const serverUrl = () => process.env.TEST_DATABASE_URL ?? "";
const password = () => decodeURIComponent(new URL(serverUrl()).password);

/** A repository-like folder: ROOT/migrations holds the seed set (and its snapshot) plus `extra`. */
function workspace(extra: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), "st44-check-e2e-"));
  cpSync(SEED, join(root, "migrations"), { recursive: true });
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(root, "migrations", name), text);
  return root;
}

describe("st44-migrate check (the binary)", () => {
  test("the seed set checks clean against --url: exit 0, a summary line, and the password nowhere", async () => {
    const root = workspace();
    const result = await runBinary(["check", "--url", serverUrl(), "--since", "000"], { cwd: root, timeoutMs: 120_000 });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("from empty: the whole set applies; schema.snapshot: matches");
    expect(result.stdout).toMatch(/check: clean \(7 new migrations, [\d.]+ s\)/);
    expect(result.output).not.toContain(password());
  });

  test("an index built without CONCURRENTLY: exit 4, annotations on the file's line, and a summary table in $GITHUB_STEP_SUMMARY", async () => {
    const root = workspace({ "017_index_task_names.sql": "-- migrate:up\nCREATE INDEX idx_tasks_name ON tasks(name);\n-- migrate:down\nDROP INDEX idx_tasks_name;\n" });
    const summary = join(root, "summary.md");
    const result = await runBinary(["check", "--url", serverUrl(), "--format", "github"], {
      cwd: root,
      env: { GITHUB_STEP_SUMMARY: summary, GITHUB_WORKSPACE: root },
      timeoutMs: 120_000,
    });
    expect(result.code).toBe(4);
    expect(result.stdout).toContain("::error file=migrations/017_index_task_names.sql,line=2,title=st44-migrate check%3A index-not-concurrent::");
    expect(result.stdout).toContain("::error file=migrations/schema.snapshot,title=st44-migrate check%3A schema-snapshot::");
    const markdown = readFileSync(summary, "utf8");
    expect(markdown).toContain("### `017_index_task_names.sql`");
    expect(markdown).toContain("| locks | SHARE on public.tasks (line 2) |");
    expect(result.output).not.toContain(password());
  });

  test("--format json is one document; the default picks the last migration and says so", async () => {
    const result = await runBinary(["check", "--url", serverUrl(), "--format", "json"], { cwd: workspace(), timeoutMs: 120_000 });
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.clean).toBe(true);
    expect(document.migrations.map((entry: { file: string }) => entry.file)).toEqual(["016_create_task_completions_table.sql"]);
    expect(document.selection).toContain("the last migration");
  });

  test("--base REF: the files not in git at REF, or changed since, are the new ones", async () => {
    const root = workspace();
    const git = (...args: string[]) => execFileSync("git", args, { cwd: root, stdio: "pipe", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" } });
    git("init", "-q");
    git("add", ".");
    git("commit", "-qm", "seed");
    writeFileSync(join(root, "migrations", "017_add_users_score.sql"), "-- migrate:up\nALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0;\n-- migrate:down\nALTER TABLE users DROP COLUMN score;\n");
    writeFileSync(join(root, "migrations", "011_create_households_table.sql"), `${readFileSync(join(root, "migrations", "011_create_households_table.sql"), "utf8")}\n`);
    const result = await runBinary(["check", "--url", serverUrl(), "--base", "HEAD", "--format", "json"], { cwd: root, timeoutMs: 120_000 });
    const document = JSON.parse(result.stdout);
    expect(document.migrations.map((entry: { file: string }) => entry.file)).toEqual(["011_create_households_table.sql", "017_add_users_score.sql"]);
    // 011 is at HEAD, so taken as applied: its edit is an error; 017 gives only warnings (ACCESS EXCLUSIVE); the snapshot is stale.
    expect(document.findings.map((entry: { rule: string }) => entry.rule).sort()).toEqual(["applied-migration-changed", "schema-snapshot"]);
    expect(result.code).toBe(4);
  });

  test("without --url the binary has no PostgreSQL to run on: exit 2 naming --url, nothing run", async () => {
    const result = await runBinary(["check"], { cwd: workspace() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("[CHECK_UNAVAILABLE]");
    expect(result.stderr).toContain("--url postgres://");
  });

  test("a server that does not answer: DB_UNREACHABLE (exit 3) within the wait, the password not shown", async () => {
    const url = new URL(serverUrl());
    url.port = "1";
    const result = await runBinary(["check", "--url", url.toString(), "--wait", "0"], { cwd: workspace() });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("[DB_UNREACHABLE]");
    expect(result.output).not.toContain(password());
  });

  test("usage errors exit 2: an unknown format, --base with --since, a --base git cannot read", async () => {
    const root = workspace();
    const format = await runBinary(["check", "--url", serverUrl(), "--format", "xml"], { cwd: root });
    expect([format.code, format.stderr.includes("--format must be text, github or json")]).toEqual([2, true]);
    const both = await runBinary(["check", "--url", serverUrl(), "--base", "main", "--since", "001"], { cwd: root });
    expect(both.code).toBe(2);
    const base = await runBinary(["check", "--url", serverUrl(), "--base", "no-such-ref"], { cwd: root });
    expect(base.code).toBe(2);
    expect(base.stderr).toContain("--base no-such-ref: git could not list");
  });
});
