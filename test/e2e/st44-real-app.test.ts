/**
 * Issue 11's "done when", as a st44 engineer meets it: the legacy fixture
 * (every trait of st44's real folder) goes through docs/deployment.md's
 * walk-through — import with the one documented decision, the documented
 * edit of the double rename, --check, the build with --migrations — run
 * command by command as the page spells them; then the compiled binary meets
 * each database the old script left (made by test/support/legacy-runner.ts,
 * a simulation of scripts/run-migrations.sh) and the operator follows the
 * page's adoption commands. Never a started API on a schema it cannot use.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, type RunResult, runBinary } from "../support/cli.ts";
import { type TestDatabase, type TestSql, freshDatabases } from "../support/database.ts";
import { psqlFile, runLegacyScript } from "../support/legacy-runner.ts";

// The preload's setDefaultTimeout reaches only the first file of a bun test run (Bun 1.4.5).
setDefaultTimeout(300_000);

const ROOT = join(import.meta.dir, "../..");
const LEGACY = join(import.meta.dir, "../fixtures/st44-legacy");
const newDatabase = freshDatabases("realapp");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** The text of a markdown section, from its heading to the next heading of the same level. */
function section(markdown: string, heading: string): string {
  const level = /^#+/.exec(heading)?.[0] ?? "##";
  const start = markdown.indexOf(`${heading}\n`);
  if (start === -1) throw new Error(`no "${heading}"`);
  const rest = markdown.slice(start + heading.length + 1);
  const next = rest.search(new RegExp(`^${level} `, "m"));
  return next === -1 ? rest : rest.slice(0, next);
}

/** The ```LANG blocks of a text, each as its lines. */
const blocks = (text: string, lang: string): string[][] => [...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((match) => (match[1] ?? "").trimEnd().split("\n"));

const WALK = section(read("docs/deployment.md"), "## From st44's old folder and script to the app image");
// Steps 1-4, in the order the page gives them (the adoption blocks follow under "### ").
const [IMPORT_STEP, CHECK_STEP, REPLACE_STEP, BUILD_STEP] = blocks(WALK.slice(0, WALK.indexOf("\n### ")), "sh");
const ADOPTION = blocks(section(WALK, "### Adopting each database the old script left"), "sh");
const adoptionBlock = (label: string): string[] => {
  const found = ADOPTION.find((lines) => lines[0] === `# ${label}`);
  if (found === undefined) throw new Error(`no sh block "# ${label}" in docs/deployment.md`);
  return found;
};
const DOUBLE_RENAME_FIX = blocks(section(read("docs/importing.md"), "## The double rename"), "sql")[0]?.join("\n") ?? "";

let work = "";
let app = "";
let devBin = "";
let appBin = "";

interface Shell {
  readonly code: number;
  readonly output: string;
}

/**
 * One documented line, run by sh from the app's root with `st44-migrate` on PATH.
 * psql is not installed here: a documented `psql "$DATABASE_URL" -c "SQL"` runs its SQL through postgres.js.
 */
async function shell(line: string, bin: string, env: Record<string, string>, sql?: TestSql): Promise<Shell> {
  const psql = /^psql "\$DATABASE_URL" -c "(.*)"$/.exec(line);
  if (psql) {
    if (!sql) throw new Error(`no database for ${line}`);
    await sql.unsafe(psql[1] ?? "");
    return { code: 0, output: "" };
  }
  const child = Bun.spawn(["sh", "-c", line], {
    cwd: app,
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", LOG_FORMAT: "plain", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: stdout + stderr };
}

async function runBlock(lines: readonly string[], bin: string, env: Record<string, string>, sql?: TestSql): Promise<string> {
  let output = "";
  for (const line of lines.filter((text) => text.trim() !== "" && !text.startsWith("#"))) {
    const result = await shell(line, bin, env, sql);
    expect(result.code, `${line}\n${result.output}`).toBe(0);
    output += result.output;
  }
  return output;
}

/** The container start: ENTRYPOINT st44-migrate run -- with a stand-in for the API. */
const start = (database: TestDatabase, extraEnv: Record<string, string> = {}, args: string[] = []): Promise<RunResult> =>
  runBinary(["run", ...args, "--", "sh", "-c", "echo STARTED"], { binary: join(appBin, "st44-migrate"), env: { DATABASE_URL: database.url, LOG_FORMAT: "plain", ...extraEnv } });

/** What the API needs to work: the registration query of POST /api/auth/register. */
async function register(sql: TestSql, email: string): Promise<string | undefined> {
  const [user] = await sql<{ first_name: string }[]>`
    insert into users (email, password_hash, first_name, last_name) values (${email}, 'hash', 'Kari', 'Nordmann') returning first_name`;
  return user?.first_name;
}

/** Columns, constraints and indexes of the app's tables, as comparable lines. */
async function schemaOf(sql: TestSql): Promise<string[]> {
  const rows = await sql<{ line: string }[]>`
    select table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as line
      from information_schema.columns where table_schema = 'public' and table_name <> 'schema_migrations'
    union all
    select conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) from pg_constraint
      where connamespace = 'public'::regnamespace and conrelid::regclass::text <> 'schema_migrations'
    union all
    select indexdef from pg_indexes where schemaname = 'public' and tablename <> 'schema_migrations'`;
  return rows.map((row) => row.line).sort();
}

const appliedAt = async (sql: TestSql): Promise<Map<string, string>> =>
  new Map((await sql<{ version: string; applied_at: Date }[]>`select version, applied_at from schema_migrations`).map((row) => [row.version, row.applied_at.toISOString()]));

/** The versions a documented block forgets. */
const forgottenBy = (lines: readonly string[]): string[] => (/for version in ([\d ]+); do st44-migrate forget/.exec(lines.join("\n"))?.[1] ?? "").trim().split(/\s+/);

/** What the old script's CASCADE drops took and no migration puts back: docs/deployment.md's "Left for you by hand". */
const LOST_FOREIGN_KEYS = [
  "household_invites FOREIGN KEY (household_id) REFERENCES households(id) ON DELETE CASCADE",
  "reward_redemptions FOREIGN KEY (child_id) REFERENCES children(id) ON DELETE CASCADE",
  "rewards FOREIGN KEY (household_id) REFERENCES households(id) ON DELETE CASCADE",
];
const INIT_SQL_USERS = [
  "CREATE INDEX idx_users_email ON public.users USING btree (email)",
  "CREATE UNIQUE INDEX idx_users_oauth ON public.users USING btree (oauth_provider, oauth_provider_id) WHERE (oauth_provider IS NOT NULL)",
  "users CHECK (((password_hash IS NOT NULL) OR ((oauth_provider IS NOT NULL) AND (oauth_provider_id IS NOT NULL))))",
];

let freshSchema: string[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "st44-real-app-"));
  app = join(work, "st44");
  cpSync(LEGACY, app, { recursive: true });
  // This repository as the app's submodule, with only what a build reads.
  const tool = join(app, "tools/st44-migrate");
  mkdirSync(tool, { recursive: true });
  for (const entry of ["scripts", "src", "migrations", "package.json", "tsconfig.json"]) cpSync(join(ROOT, entry), join(tool, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(tool, "node_modules"));
  // Until step 4, the engineer's st44-migrate is this repository's build; after it, the app's.
  devBin = join(work, "dev-bin");
  appBin = join(work, "app-bin");
  mkdirSync(devBin);
  mkdirSync(appBin);
  symlinkSync(BINARY, join(devBin, "st44-migrate"));
  symlinkSync(join(tool, "dist/st44-migrate"), join(appBin, "st44-migrate"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("docs/deployment.md: from st44's old folder and script to the app image", () => {
  test("the walk-through's commands: import with the one decision, the documented edit, --check, replace, build", async () => {
    expect(IMPORT_STEP).toEqual(["st44-migrate import docker/postgres/migrations --out docker/postgres/migrations.new --renumber 040_add_single_task_type.sql=041"]);
    const imported = await runBlock(IMPORT_STEP ?? [], devBin, {});
    expect(imported).toContain("041_add_single_task_type.sql");

    // Step 2: docs/importing.md's conditional rename, in place of the later of the two renames.
    expect(DOUBLE_RENAME_FIX).toContain("ALTER TABLE task_assignments RENAME COLUMN due_date TO date;");
    const later = join(app, "docker/postgres/migrations.new/035_index_assignment_date.sql");
    const before = readFileSync(later, "utf8");
    const after = before.replace("ALTER TABLE task_assignments RENAME COLUMN due_date TO date;\n", () => `${DOUBLE_RENAME_FIX}\n`);
    expect(after).not.toBe(before);
    writeFileSync(later, after);
    const empty = await newDatabase();
    const checked = await runBlock(CHECK_STEP ?? [], devBin, { EMPTY_DATABASE_URL: empty.url });
    expect(checked).toContain("check: all 31 migrations");

    await runBlock(REPLACE_STEP ?? [], devBin, {});
    expect(readFileSync(join(app, "docker/postgres/migrations/041_add_single_task_type.sql"), "utf8").split("\n")[0]).toBe("-- migrate:up formerly:040_add_single_task_type");

    const built = await runBlock(BUILD_STEP ?? [], devBin, {});
    expect(built).toContain("embedding 31 migration(s) from docker/postgres/migrations (latest 051)");
    expect(built).toContain("migrations  31, latest 051, embedded from docker/postgres/migrations");
  });

  test("on an empty database the app's binary applies all 31, starts the API, and registration works; the start-up line names the folder", async () => {
    const database = await newDatabase();
    const result = await start(database);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("STARTED");
    expect(result.stderr).toContain("schema at 051, 31 applied (31 now), 0 pending, 0 unknown");
    expect(await register(database.sql, "kari@example.com")).toBe("Kari");
    // The schema the adoption tests compare with: what the image makes from empty.
    freshSchema = await schemaOf(database.sql);
    expect(freshSchema).toContain("task_assignments.date date NO ");
    expect(result.stderr).toMatch(/\d+ ms; migrations embedded from docker\/postgres\/migrations\n/);

    const json = await start(database, { LOG_FORMAT: "json" });
    const startup = json.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.event === "startup");
    expect(startup).toMatchObject({ migrations_source: "embedded", migrations_folder: "docker/postgres/migrations", applied_now: 0, pending: 0 });
  });

  test("run --dir names the directory it read in the start-up line", async () => {
    const database = await newDatabase();
    const dir = join(app, "docker/postgres/migrations");
    const result = await start(database, {}, ["--dir", dir]);
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain(`31 applied (31 now), 0 pending, 0 unknown`);
    expect(result.stderr).toContain(`; migrations read from ${dir}`);
  });
});

/**
 * One state: the refusal (exit 4, API not started, the tables and files named,
 * forget as the fix), then the documented block, then a start that applies
 * exactly the forgotten migrations (and the never-run ones) and nothing
 * recorded, keeps the data, and leaves the fresh schema but for what the
 * page lists as left by hand.
 */
async function adopt(database: TestDatabase, label: string, options: { neverRan: string[]; replacedRows: string[]; leftByHand: string[] }): Promise<void> {
  const { neverRan, replacedRows, leftByHand } = options;
  const refused = await start(database);
  expect(refused.code, refused.output).toBe(4);
  expect(refused.stdout).not.toContain("STARTED");
  expect(refused.stderr).toContain("[SCHEMA_INCOMPLETE]");
  for (const [table, file] of [
    ["households", "011_create_households_table.sql"],
    ["household_members", "012_create_household_members_table.sql"],
    ["children", "013_create_children_table.sql"],
    ["tasks", "014_create_tasks_table.sql"],
    ["task_assignments", "015_create_task_assignments_table.sql"],
    ["task_completions", "016_create_task_completions_table.sql"],
  ]) expect(refused.stderr).toContain(`${table} (created by ${file})`);
  expect(refused.stderr).toContain("st44-migrate forget 020 --yes");

  // Production data the old script's databases hold; it must survive adoption.
  await database.sql`insert into users (email, password_hash) values ('existing@example.com', 'hash')`;
  const rowsBefore = await appliedAt(database.sql);

  const block = adoptionBlock(label);
  const forgotten = forgottenBy(block);
  expect(forgotten.length).toBeGreaterThan(6);
  await runBlock(block, appBin, { DATABASE_URL: database.url }, database.sql);

  const started = await start(database);
  expect(started.code, started.output).toBe(0);
  expect(started.stdout).toContain("STARTED");
  const applied = [...started.stderr.matchAll(/applied (\d+)_\S+\.sql in/g)].map((match) => match[1]);
  expect(applied).toEqual([...forgotten, ...neverRan].sort());
  expect(started.stderr).toContain(`31 applied (${applied.length} now), 0 pending, 0 unknown`);

  // Nothing recorded ran again: every row kept is the one the old script wrote.
  const rowsAfter = await appliedAt(database.sql);
  const rewritten = (version: string) =>
    forgotten.some((gone) => Number(gone) === Number(version)) || replacedRows.includes(version) || version === "NNN" || version === "TEMPLATE";
  for (const [version, at] of rowsBefore) if (!rewritten(version)) expect(rowsAfter.get(version), `row ${version}`).toBe(at);
  const kept = await database.sql`select 1 from users where email = 'existing@example.com'`;
  expect(kept).toHaveLength(1);
  expect(await register(database.sql, "kari@example.com")).toBe("Kari");

  const schema = await schemaOf(database.sql);
  expect(freshSchema.filter((line) => !schema.includes(line)).sort()).toEqual([...leftByHand].sort());
  expect(schema.filter((line) => !freshSchema.includes(line))).toEqual([]);

  const again = await start(database);
  expect(again.code, again.output).toBe(0);
  expect(again.stderr).toContain("31 applied (0 now), 0 pending, 0 unknown");
}

describe("docs/deployment.md: each database the old script left, adopted as the page says", () => {
  test("state A, the old script on an empty database: refused, then adopted; 040's columns are there, so it is marked, not run", async () => {
    const database = await newDatabase();
    await runLegacyScript(database.url, join(LEGACY, "docker/postgres/migrations"));
    const [row] = await database.sql<{ name: string }[]>`select name from schema_migrations where version = '040'`;
    expect(row?.name).toBe("add_single_task_type");
    // Row 040 was add_single_task_type's: it becomes 041's (forgotten, re-applied) and 040 is marked.
    await adopt(database, "state A and state B", { neverRan: [], replacedRows: ["040"], leftByHand: LOST_FOREIGN_KEYS });
    const [marked] = await database.sql<{ history: { action: string }[] }[]>`select history from schema_migrations where version = '040'`;
    expect(marked?.history.map((entry) => entry.action)).toEqual(["mark-applied"]);
  });

  test("state B, init.sql then the old script: refused, then adopted the same way", async () => {
    const database = await newDatabase();
    await psqlFile(database.url, join(LEGACY, "docker/postgres/init.sql"));
    const legacy = await runLegacyScript(database.url, join(LEGACY, "docker/postgres/migrations"));
    // On init.sql's schema the earlier rename is the one that fails.
    expect(legacy.find((file) => file.file.endsWith("020_rename_assignment_due_date.sql"))?.failed[0]?.message).toContain('column "due_date" does not exist');
    await adopt(database, "state A and state B", { neverRan: [], replacedRows: ["040"], leftByHand: [...LOST_FOREIGN_KEYS, ...INIT_SQL_USERS] });
  });

  test("state C, a row 040 named add_user_name_fields: refused, then adopted; 041 runs for the first time", async () => {
    const database = await newDatabase();
    // The old script before 040_add_single_task_type.sql was added to the folder.
    const earlier = join(work, "migrations-before-041");
    cpSync(join(LEGACY, "docker/postgres/migrations"), earlier, { recursive: true });
    rmSync(join(earlier, "040_add_single_task_type.sql"));
    await runLegacyScript(database.url, earlier);
    const [row] = await database.sql<{ name: string; applied_at: Date }[]>`select name, applied_at from schema_migrations where version = '040'`;
    expect(row?.name).toBe("add_user_name_fields");
    await adopt(database, "state C", { neverRan: ["041"], replacedRows: [], leftByHand: LOST_FOREIGN_KEYS });
  });

  test("state A without mark-applied 040: its SQL fails on columns the old script added (exit 1, API not started); the page's fix starts it", async () => {
    const database = await newDatabase();
    await runLegacyScript(database.url, join(LEGACY, "docker/postgres/migrations"));
    const block = adoptionBlock("state A and state B");
    await runBlock(block.filter((line) => !line.includes("mark-applied")), appBin, { DATABASE_URL: database.url }, database.sql);
    const failed = await start(database);
    expect(failed.code, failed.output).toBe(1);
    expect(failed.stdout).not.toContain("STARTED");
    expect(failed.stderr).toContain("[MIGRATION_FAILED] Migration 040_add_user_name_fields.sql failed");
    expect(failed.stderr).toContain('column "first_name" of relation "users" already exists');
    // The message itself says what the page says: record it without running it.
    expect(failed.stderr).toContain("st44-migrate mark-applied 040");
    // docs/deployment.md's table: mark-applied 040 --yes.
    await runBlock(block.filter((line) => line.includes("mark-applied")), appBin, { DATABASE_URL: database.url });
    const started = await start(database);
    expect(started.code, started.output).toBe(0);
    expect(started.stdout).toContain("STARTED");
    // The failed start applied what came before 040; this one applies what came after it.
    expect(started.stderr).toContain("31 applied (3 now), 0 pending, 0 unknown");
    expect(await register(database.sql, "kari@example.com")).toBe("Kari");
  });

  // SCHEMA_INCOMPLETE's advice, followed to the letter as an operator would: it names every applied migration
  // that created or changed the missing tables (not only their creators: 020's rename must run again too).
  test("state A, SCHEMA_INCOMPLETE's own advice taken literally leaves a schema the API can use", async () => {
    const database = await newDatabase();
    await runLegacyScript(database.url, join(LEGACY, "docker/postgres/migrations"));
    const refused = await start(database);
    expect(refused.code, refused.output).toBe(4);
    const named = [...refused.stderr.matchAll(/st44-migrate forget (\d+) --yes/g)].map((match) => match[1] ?? "");
    expect(named).toContain("020");
    for (const version of named) expect((await runBinary(["forget", version, "--yes"], { binary: join(appBin, "st44-migrate"), env: { DATABASE_URL: database.url } })).code).toBe(0);
    await runBinary(["mark-applied", "040", "--yes"], { binary: join(appBin, "st44-migrate"), env: { DATABASE_URL: database.url } });
    const started = await start(database);
    expect(started.stdout, started.output).toContain("STARTED");
    const columns = await database.sql`select 1 from information_schema.columns where table_name = 'task_assignments' and column_name = 'date'`;
    expect(columns).toHaveLength(1);
    expect(await register(database.sql, "ola@example.com")).toBe("Kari");
  });
});
