/**
 * `check`'s rules from the text (issue 15 item 4), over PostgreSQL's own
 * parser (libpg-query, loaded as check loads it). No database: every rule
 * has a migration that must trigger it, on its line in the file, and a safe
 * rewrite that must not.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadSqlParser, loadSqlParserFrom } from "../../src/check/parser.ts";
import { tablesAfter, textRuleFindings } from "../../src/check/text-rules.ts";
import type { CheckFinding } from "../../src/core/check/finding.ts";
import { MigrateError } from "../../src/core/errors.ts";
import { type Migration, toMigration } from "../../src/core/migration-set.ts";

const ROOT = join(import.meta.dir, "../..");
beforeAll(async () => {
  // Loaded once for the file, as check loads it (the first test would otherwise pay for it).
  await loadSqlParser();
});

const migration = (up: string, marker = "-- migrate:up"): Migration =>
  toMigration({ fileName: "020_change.sql", text: `${marker}\n${up}\n-- migrate:down\nselect 1;\n` });

/** Findings as "rule@line" (lines of the file: the marker is line 1, so the up part starts on line 2). */
async function found(up: string, options: { existing?: readonly string[]; marker?: string } = {}): Promise<string[]> {
  const findings = await textRuleFindings(migration(up, options.marker), { existingTables: new Set(options.existing ?? ["public.users", "public.tasks"]) });
  return findings.map((finding) => `${finding.rule}@${finding.line}`);
}

async function only(up: string, options: { existing?: readonly string[]; marker?: string } = {}): Promise<CheckFinding> {
  const findings = await textRuleFindings(migration(up, options.marker), { existingTables: new Set(options.existing ?? ["public.users"]) });
  expect(findings).toHaveLength(1);
  return findings[0] as CheckFinding;
}

describe("NOT NULL on an existing column", () => {
  test("SET NOT NULL without a validated check is an error, with the check-first rewrite", async () => {
    const finding = await only("ALTER TABLE users ALTER COLUMN email SET NOT NULL;");
    expect(finding).toMatchObject({ rule: "not-null-without-check", severity: "error", fileName: "020_change.sql", line: 2 });
    expect(finding.message).toContain("ACCESS EXCLUSIVE");
    expect(finding.fix).toContain("CHECK (email IS NOT NULL) NOT VALID");
  });

  test("safe: the check (added NOT VALID by an earlier migration) validated first in the same file", async () => {
    expect(
      await found(
        "ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_not_null;",
      ),
    ).toEqual([]);
  });

  test("a check added NOT VALID and validated in one transaction: the validation is reported, SET NOT NULL then is not", async () => {
    const up = "ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;";
    expect(await found(up)).toEqual(["constraint-without-not-valid@3"]);
    // Outside a transaction each statement commits on its own: the validation does not hold the first lock.
    expect(await found(up, { marker: "-- migrate:up transaction:false" })).toEqual(["non-atomic-migration@2"]);
  });

  test("a check on another column, or on another table, does not count", async () => {
    expect(await found("ALTER TABLE users ADD CONSTRAINT nn CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;")).toEqual(["not-null-without-check@3"]);
    expect(await found("ALTER TABLE tasks VALIDATE CONSTRAINT c;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;")).toEqual(["not-null-without-check@3"]);
  });
});

describe("ADD COLUMN ... NOT NULL without a default on an existing table", () => {
  test("is an error at its line: the existing rows would get NULL", async () => {
    const finding = await only("ALTER TABLE users ADD COLUMN nickname text NOT NULL;");
    expect(finding).toMatchObject({ rule: "not-null-without-default", severity: "error", line: 2 });
    expect(finding.message).toContain("users.nickname");
    expect(finding.fix).toContain("DEFAULT");
  });

  test("safe: with a default, nullable, an identity or generated column, or on a table created in the same migration", async () => {
    expect(await found("ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0;")).toEqual([]);
    expect(await found("ALTER TABLE users ADD COLUMN nickname text;")).toEqual([]);
    expect(await found("ALTER TABLE users ADD COLUMN n int NOT NULL GENERATED ALWAYS AS IDENTITY;")).toEqual(["volatile-default@2"]);
    expect(await found("ALTER TABLE users ADD COLUMN twice int NOT NULL GENERATED ALWAYS AS (1 + 1) STORED;")).toEqual(["volatile-default@2"]);
    expect(await found("CREATE TABLE pets (id int);\nALTER TABLE pets ADD COLUMN name text NOT NULL;")).toEqual([]);
  });
});

describe("foreign keys and checks without NOT VALID", () => {
  test("a foreign key and a CHECK added to an existing table are errors, the fix is NOT VALID and a later VALIDATE", async () => {
    const fk = await only("ALTER TABLE users ADD CONSTRAINT users_household_fk FOREIGN KEY (household_id) REFERENCES households (id);");
    expect(fk).toMatchObject({ rule: "constraint-without-not-valid", severity: "error", line: 2 });
    expect(fk.message).toContain("SHARE ROW EXCLUSIVE");
    expect(fk.fix).toContain("VALIDATE CONSTRAINT users_household_fk");
    expect(fk.fix).toContain("later migration");
    expect(await found("ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0);")).toEqual(["constraint-without-not-valid@2"]);
  });

  test("safe: NOT VALID now, VALIDATE CONSTRAINT in the next migration", async () => {
    expect(await found("ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (household_id) REFERENCES households (id) NOT VALID;\nALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0) NOT VALID;")).toEqual([]);
    expect(await found("ALTER TABLE users VALIDATE CONSTRAINT fk;")).toEqual([]);
  });
});

describe("what the previous release may still read", () => {
  test("a column renamed or dropped, a table renamed or dropped: warnings whose fix is expand/contract", async () => {
    expect(await found("ALTER TABLE users RENAME COLUMN name TO full_name;")).toEqual(["column-renamed@2"]);
    expect(await found("ALTER TABLE users DROP COLUMN IF EXISTS legacy_flag;")).toEqual(["column-dropped@2"]);
    expect(await found("ALTER TABLE users RENAME TO people;")).toEqual(["table-renamed@2"]);
    expect(await found("DROP TABLE IF EXISTS tasks, public.users CASCADE;")).toEqual(["table-dropped@2", "table-dropped@2"]);
    const finding = await only("ALTER TABLE users DROP COLUMN legacy_flag;");
    expect(finding.severity).toBe("warning");
    expect(finding.fix).toContain("two releases");
  });

  test("safe: adding the new column (expand) reports nothing; renaming a constraint or an index is not a reader's problem", async () => {
    expect(await found("ALTER TABLE users ADD COLUMN full_name text;\nALTER TABLE users RENAME CONSTRAINT a TO b;\nALTER INDEX users_pkey RENAME TO users_pk;")).toEqual([]);
  });

  test("a renamed table is still the existing table under its new name", async () => {
    expect(await found("ALTER TABLE users RENAME TO people;\nCREATE INDEX people_email ON people (email);")).toEqual(["table-renamed@2", "create-index-blocking@3"]);
  });
});

describe("volatile defaults in ADD COLUMN", () => {
  test("known volatile functions, serial and identity columns rewrite the table: errors", async () => {
    for (const column of [
      "created timestamptz DEFAULT clock_timestamp()",
      "token uuid DEFAULT gen_random_uuid()",
      "n bigint DEFAULT nextval('users_n_seq')",
      "score float8 DEFAULT (random() * 10)::int",
      "n bigserial",
      "n int GENERATED ALWAYS AS IDENTITY",
    ]) {
      const finding = await only(`ALTER TABLE users ADD COLUMN ${column};`);
      expect({ column, rule: finding.rule, severity: finding.severity, line: finding.line }).toEqual({ column, rule: "volatile-default", severity: "error", line: 2 });
    }
  });

  test("a function the rules do not know is a warning; constants, casts, now() and CURRENT_TIMESTAMP are safe", async () => {
    expect(await only("ALTER TABLE users ADD COLUMN code text DEFAULT my_code();")).toMatchObject({ rule: "volatile-default", severity: "warning" });
    expect(
      await found(
        "ALTER TABLE users ADD COLUMN a int NOT NULL DEFAULT 0, ADD COLUMN b timestamptz DEFAULT now(), ADD COLUMN c timestamptz DEFAULT CURRENT_TIMESTAMP, ADD COLUMN d text DEFAULT lower('X')::text;",
      ),
    ).toEqual([]);
  });

  test("SET DEFAULT with a volatile function only affects new rows: nothing to report", async () => {
    expect(await found("ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();")).toEqual([]);
  });
});

describe("transactions", () => {
  test("CREATE INDEX CONCURRENTLY (and the like) in a transactional migration fails at run time: an error", async () => {
    expect(await found("CREATE INDEX CONCURRENTLY users_email ON users (email);")).toEqual(["refuses-transaction@2"]);
    expect(await found("VACUUM users;")).toEqual(["refuses-transaction@2"]);
    expect(await found("DROP INDEX CONCURRENTLY users_email;\nREINDEX INDEX CONCURRENTLY users_name;")).toEqual(["refuses-transaction@2", "refuses-transaction@3"]);
  });

  test("safe: the CONCURRENTLY statement alone in a transaction:false migration", async () => {
    expect(await found("CREATE INDEX CONCURRENTLY users_email ON users (email);", { marker: "-- migrate:up transaction:false" })).toEqual([]);
  });

  test("transaction:false with statements that need a transaction: LOCK TABLE, SET LOCAL, savepoints", async () => {
    const marker = "-- migrate:up transaction:false";
    expect(await found("LOCK TABLE users IN ACCESS EXCLUSIVE MODE;", { marker })).toEqual(["needs-transaction@2"]);
    expect(await found("SET LOCAL lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY i ON users (email);", { marker })).toEqual(["needs-transaction@2", "non-atomic-migration@2"]);
    // The same statements in a transactional migration are what they are meant to be.
    expect(await found("LOCK TABLE users IN SHARE MODE;\nSET LOCAL lock_timeout = '1s';")).toEqual([]);
  });

  test("transaction:false mixing CONCURRENTLY with other statements, or needing no transaction at all: not atomic", async () => {
    const marker = "-- migrate:up transaction:false";
    const mixed = await textRuleFindings(migration("CREATE INDEX CONCURRENTLY i ON users (email);\nUPDATE users SET active = true WHERE active IS NULL;", marker), { existingTables: new Set(["public.users"]) });
    expect(mixed.map((finding) => [finding.rule, finding.severity, finding.line])).toEqual([["non-atomic-migration", "warning", 3]]);
    expect(mixed[0]?.fix).toContain("migration of its own");
    const needless = await textRuleFindings(migration("CREATE TABLE a (id int);\nCREATE TABLE b (id int);", marker), { existingTables: new Set() });
    expect(needless.map((finding) => finding.fix)).toEqual(["Remove transaction:false from the up marker."]);
    // Its own BEGIN/COMMIT keeps what they wrap atomic.
    expect(await found("BEGIN;\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCOMMIT;", { marker })).toEqual([]);
  });
});

describe("UPDATE and DELETE without WHERE", () => {
  test("on an existing table: warnings", async () => {
    expect(await found("UPDATE users SET active = true;\nDELETE FROM tasks;")).toEqual(["update-without-where@2", "delete-without-where@3"]);
  });
  test("safe: with a WHERE", async () => {
    expect(await found("UPDATE users SET active = true WHERE active IS NULL;\nDELETE FROM tasks WHERE household_id IS NULL;")).toEqual([]);
  });
});

describe("ALTER COLUMN TYPE and CREATE INDEX on an existing table (the run measures them too; same ids)", () => {
  test("ALTER COLUMN TYPE is alter-column-type, CREATE INDEX without CONCURRENTLY is create-index-blocking", async () => {
    expect(await found("ALTER TABLE users ALTER COLUMN id TYPE bigint;")).toEqual(["alter-column-type@2"]);
    expect(await found("CREATE UNIQUE INDEX users_email ON users (email);")).toEqual(["create-index-blocking@2"]);
    expect(await found("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);")).toEqual(["create-index-blocking@2"]);
  });
  test("safe: CONCURRENTLY outside a transaction, and a constraint USING the index built so", async () => {
    expect(await found("CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email);", { marker: "-- migrate:up transaction:false" })).toEqual([]);
    expect(await found("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email;")).toEqual([]);
  });
});

describe("tables created in the same migration", () => {
  test("no statement on a new table is ever a finding", async () => {
    const up = [
      "CREATE TABLE rewards (id int, user_id uuid, points int, email text);",
      "CREATE INDEX rewards_user ON rewards (user_id);",
      "ALTER TABLE rewards ALTER COLUMN email SET NOT NULL;",
      "ALTER TABLE rewards ADD CONSTRAINT rewards_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
      "ALTER TABLE rewards ADD COLUMN created timestamptz DEFAULT clock_timestamp();",
      "ALTER TABLE rewards ALTER COLUMN points TYPE bigint;",
      "ALTER TABLE rewards RENAME COLUMN points TO score;",
      "UPDATE rewards SET score = 0;",
      "DELETE FROM rewards;",
      "ALTER TABLE rewards DROP COLUMN email;",
      "DROP TABLE rewards;",
    ].join("\n");
    expect(await found(up)).toEqual([]);
  });

  test("a table dropped and created again in the migration is new from then on", async () => {
    expect(await found("DROP TABLE users;\nCREATE TABLE users (id int);\nCREATE INDEX users_id ON users (id);")).toEqual(["table-dropped@2"]);
  });

  test("a table that is not in existingTables is not an existing table", async () => {
    expect(await found("CREATE INDEX i ON households (name);", { existing: ["public.users"] })).toEqual([]);
  });
});

describe("names and lines", () => {
  test("quoted names keep their case; qualified names match their schema; unqualified names mean public", async () => {
    expect(await found('CREATE INDEX i ON "Users" (email);', { existing: ["public.Users"] })).toEqual(["create-index-blocking@2"]);
    expect(await found('CREATE INDEX i ON "Users" (email);', { existing: ["public.users"] })).toEqual([]);
    expect(await found("CREATE INDEX i ON app.users (email);", { existing: ["app.users"] })).toEqual(["create-index-blocking@2"]);
    expect(await found("CREATE INDEX i ON users (email);", { existing: ["app.users"] })).toEqual([]);
    expect(await found("CREATE INDEX i ON public.users (email);", { existing: ["public.users"] })).toEqual(["create-index-blocking@2"]);
    const quoted = await only('ALTER TABLE app."User Accounts" ALTER COLUMN "E-mail" SET NOT NULL;', { existing: ["app.User Accounts"] });
    expect(quoted.message).toContain('app."User Accounts".E-mail');
    expect(quoted.fix).toContain('CHECK ("E-mail" IS NOT NULL)');
  });

  test("each finding names the line where its statement starts, past comments, blank lines and multi-byte text", async () => {
    const text = [
      "-- Adds the e-mail rules. ✉️ (a header comment above the marker)",
      "-- migrate:up",
      "SELECT 'é😀; not a statement end';",
      "",
      "/* a /* nested */ comment; */",
      "-- and a line comment; too",
      "ALTER TABLE users",
      "  ALTER COLUMN email SET NOT NULL;",
      "UPDATE users SET note = '😀😀😀'; DELETE",
      "  FROM tasks;",
      "-- migrate:down",
      "select 1;",
    ].join("\n");
    const findings = await textRuleFindings(toMigration({ fileName: "021_lines.sql", text }), { existingTables: new Set(["public.users", "public.tasks"]) });
    expect(findings.map((finding) => `${finding.rule}@${finding.line}`)).toEqual(["not-null-without-check@7", "update-without-where@9", "delete-without-where@9"]);
  });

  test("SQL the parser cannot read is one finding at the line of the error", async () => {
    const finding = await only("SELECT 'é😀';\nALTER TABLE users ALTER COLUMN email SET NOT NUL;");
    expect(finding).toMatchObject({ rule: "unparsable-sql", severity: "error", line: 3 });
    expect(finding.message).toContain("syntax error");
  });

  test("an up part with no statements has no findings", async () => {
    expect(await found("-- nothing to do yet")).toEqual([]);
  });
});

describe("the seed migrations", () => {
  test("applied in order, with the tables of each added for the next, they have no error findings", async () => {
    const folder = join(ROOT, "migrations");
    let existingTables: ReadonlySet<string> = new Set<string>();
    const errors: CheckFinding[] = [];
    const files = readdirSync(folder).filter((name) => name.endsWith(".sql")).sort();
    expect(files.length).toBeGreaterThan(5);
    for (const fileName of files) {
      const seed = toMigration({ fileName, text: readFileSync(join(folder, fileName), "utf8") });
      errors.push(...(await textRuleFindings(seed, { existingTables })).filter((finding) => finding.severity === "error"));
      existingTables = await tablesAfter(seed, { existingTables });
    }
    expect([...existingTables].sort()).toEqual(
      ["children", "household_members", "households", "schema_migrations", "task_assignments", "task_completions", "tasks", "users"].map((name) => `public.${name}`),
    );
    expect(errors).toEqual([]);
  });

  test("the same set checked against a database where every table already exists does report (the rules do look at them)", async () => {
    const seed = toMigration({ fileName: "012_x.sql", text: readFileSync(join(ROOT, "migrations/012_create_household_members_table.sql"), "utf8") });
    const findings = await textRuleFindings(seed, { existingTables: new Set(["public.household_members"]) });
    expect(findings.map((finding) => finding.rule)).toEqual(["create-index-blocking", "create-index-blocking"]);
  });
});

describe("tablesAfter: the next migration's existing tables", () => {
  test("creations (also CREATE TABLE AS and SELECT INTO), renames, schema moves and drops; temporary tables vanish", async () => {
    const up = [
      "CREATE TABLE rewards (id int);",
      'CREATE TABLE app."Points" AS SELECT 1 AS n;',
      "SELECT * INTO report FROM users;",
      "CREATE TEMP TABLE scratch (a int);",
      "ALTER TABLE users RENAME TO people;",
      "ALTER TABLE tasks SET SCHEMA app;",
      "DROP TABLE old_log;",
    ].join("\n");
    const after = await tablesAfter(migration(up), { existingTables: new Set(["public.users", "public.tasks", "public.old_log"]) });
    expect([...after].sort()).toEqual(["app.Points", "app.tasks", "public.people", "public.report", "public.rewards"]);
  });

  test("an unparsable migration leaves the tables as they were", async () => {
    const before = new Set(["public.users"]);
    expect([...(await tablesAfter(migration("CREATE TABLE x (;"), { existingTables: before }))]).toEqual(["public.users"]);
  });
});

describe("loading the parser", () => {
  test("a package that is nowhere to be found is CHECK_PARSER_UNAVAILABLE, saying how to install it", async () => {
    const empty = mkdtempSync(join(tmpdir(), "st44-parser-"));
    try {
      const error = await loadSqlParserFrom("libpg-query-absent", empty).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MigrateError);
      expect((error as MigrateError).code).toBe("CHECK_PARSER_UNAVAILABLE");
      expect((error as MigrateError).exitCode).toBe(2);
      expect((error as MigrateError).message).toContain("npm install --no-save libpg-query@18.1.5");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test("when the name does not resolve from the code (a compiled binary), node_modules above the working directory is used", async () => {
    const project = mkdtempSync(join(tmpdir(), "st44-parser-"));
    try {
      mkdirSync(join(project, "node_modules"));
      const installed = dirname(dirname(Bun.resolveSync("libpg-query", ROOT)));
      symlinkSync(installed, join(project, "node_modules", "libpg-query-elsewhere"));
      mkdirSync(join(project, "migrations"));
      const parser = await loadSqlParserFrom("libpg-query-elsewhere", join(project, "migrations"));
      const parsed = parser("select 1; select 2");
      expect(parsed.ok && parsed.tree.stmts?.length).toBe(2);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
