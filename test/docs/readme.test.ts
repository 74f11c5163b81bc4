/**
 * What a new operator or developer reads first stays true: the health
 * document shown has the fields the real one has, the Configuration table
 * names every variable the flags have, the shell commands work right after
 * `npm ci` (no global bun), the quick start says how to get the one thing npm
 * cannot install, and the durations troubleshooting.md calls invalid are.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MigrateError } from "../../src/core/errors.ts";
import { parseDuration } from "../../src/config.ts";
import { checkDatabaseHealth } from "../../src/health.ts";
import { type TestDatabase, createTestDatabase } from "../support/database.ts";
import { seedMigrations, up } from "../support/migrator.ts";
import { PGBOUNCER_MISSING, findPgBouncer } from "../support/pgbouncer.ts";

const ROOT = join(import.meta.dir, "../..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const README = read("README.md");

/** `## Heading` to the next `## `. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`no section "## ${heading}"`);
  const next = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, next === -1 ? undefined : next);
}

/** The shell lines of the ```sh blocks, without comments. */
function shellCommands(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)]
    .flatMap((block) => (block[1] ?? "").split("\n"))
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/** Every key path of a JSON value: `migrations.pending`, `build.commit`... (array items are not descended into). */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => [`${prefix}${key}`, ...keyPaths(child, `${prefix}${key}.`)]);
}

/** The JSON block right after a "health" heading, parsed. */
function documentedHealthExample(markdown: string, heading: string): unknown {
  const text = markdown.slice(markdown.indexOf(heading));
  const block = /```json\n([\s\S]*?)```/.exec(text)?.[1];
  if (block === undefined) throw new Error(`no JSON example after ${heading}`);
  return JSON.parse(block);
}

describe("the health document shown in README.md and docs/deployment.md", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("readme");
  });
  afterAll(async () => {
    await db.drop();
  });

  test("has exactly the fields of a real healthy report (build included)", async () => {
    const migrations = await seedMigrations();
    await up(db.url, migrations);
    const report = await checkDatabaseHealth({ sql: db.sql, migrations });
    expect(report.status).toBe("healthy");
    const real = keyPaths(JSON.parse(JSON.stringify(report))).sort();
    expect(real).toContain("build.commit");
    for (const [path, heading] of [
      ["README.md", "### The health check: `GET /health/database`"],
      ["docs/deployment.md", "## Reading /health/database"],
    ] as const) {
      const shown = keyPaths(documentedHealthExample(read(path), heading)).sort();
      expect(shown, path).toEqual(real);
    }
  });
});

describe("README.md", () => {
  test("the Configuration table names the environment variable of every flag of up and run", () => {
    const flagTable = section(README, "Commands");
    const variables = [...flagTable.matchAll(/^\| `--(?:\\\||[^|])+\| `([A-Z_]+)` \|/gm)].map((match) => match[1] ?? "");
    expect(variables).toEqual(expect.arrayContaining(["MIGRATE_LOCK_RETRIES", "MIGRATE_LOCK_MODE"]));
    const configuration = section(README, "Configuration");
    const listed = new Set([...configuration.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]));
    expect(variables.filter((variable) => !listed.has(variable))).toEqual([]);
  });

  test("every shell command works right after `npm ci`: no global bun, deno or tsc", () => {
    const commands = shellCommands(README);
    expect(commands.length).toBeGreaterThan(8);
    const needGlobalTool = commands.filter((line) => /^(?:bun|bunx|deno|tsc)\b/.test(line) || /(?:&&|;|\|)\s*(?:bun|deno|tsc)\b/.test(line));
    expect(needGlobalTool).toEqual([]);
    // Prose that tells the reader to run something, too.
    expect([...README.matchAll(/`(bun (?:run|test|scripts)[^`]*)`/g)].map((match) => match[1])).toEqual([]);
  });

  test("the quick start installs from the lock, and says how to install PgBouncer exactly as the failing test does", () => {
    const quickStart = section(README, "Quick start");
    const commands = shellCommands(quickStart);
    expect(commands[0]).toMatch(/^npm (?:ci|install) && npm run demo$/);
    expect(commands).toContain("npm test");
    const install = commands.find((line) => line.includes("pgbouncer"));
    expect(install).toBe("sudo apt-get install -y pgbouncer");
    expect(PGBOUNCER_MISSING).toContain(`\`${install}\``);
    expect(PGBOUNCER_MISSING).toContain("brew install pgbouncer");
    expect(quickStart).toContain("brew install pgbouncer");
  });

  test("without PgBouncer anywhere, none is found (so the test fails with that message rather than skipping)", () => {
    expect(findPgBouncer({ candidates: ["/nonexistent/pgbouncer"], path: "/nonexistent" })).toBeNull();
  });
});

describe("docs/troubleshooting.md: the durations", () => {
  const usage = read("docs/troubleshooting.md").split("### `USAGE` (exit 2)")[1]?.split("**Fix:**")[0] ?? "";

  test("those it calls invalid are refused, those it says are taken are accepted", () => {
    const invalid = [...usage.matchAll(/`--wait ([^`]+)`/g)].map((match) => match[1] ?? "");
    const accepted = [...(/\(takes ([^)]*)\)/.exec(usage)?.[1] ?? "").matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? "");
    expect(invalid.length).toBeGreaterThan(0);
    expect(accepted).toContain("30s");
    for (const value of invalid) expect(() => parseDuration(value, "--wait"), value).toThrow(MigrateError);
    for (const value of accepted) expect(parseDuration(value, "--wait"), value).toBeGreaterThan(0);
  });
});
