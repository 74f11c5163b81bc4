/**
 * Schema drift as an operator meets it: the compiled binary's `verify` and
 * `status` on a database the migrations built and someone then changed by
 * hand, one kind of object per test. The seed migrations (embedded, with the
 * embedded migrations/schema.snapshot) cover tables, columns, constraints,
 * indexes, functions and triggers; test/fixtures/schema-kinds (--dir, with
 * its own committed schema.snapshot) the kinds the seed lacks. Each case runs
 * on a copy (CREATE DATABASE ... TEMPLATE) of a database built once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestSql, client, freshDatabases, urlFor } from "../support/database.ts";
import { runBinary } from "../support/cli.ts";

const freshDatabase = freshDatabases("e2edrift");
const SEED = join(import.meta.dir, "../../migrations");
const KINDS = join(import.meta.dir, "../fixtures/schema-kinds");
const PASSWORD = new URL(process.env.TEST_DATABASE_URL ?? "postgres://x@y/z").password;

interface SchemaPart {
  status: string;
  missing: { line: string }[];
  changed: { line: string }[];
  extra: { line: string }[];
  reason?: string;
}
const lines = (schema: SchemaPart) => ({ missing: schema.missing.map((d) => d.line), changed: schema.changed.map((d) => d.line), extra: schema.extra.map((d) => d.line) });

/** Databases copied from a template; dropped with the file's other databases. */
const copies: { name: string; sql: TestSql }[] = [];
afterAll(async () => {
  const admin = client(process.env.TEST_DATABASE_URL ?? "");
  try {
    for (const copy of copies) {
      await copy.sql.end({ timeout: 1 });
      await admin.unsafe(`drop database if exists ${copy.name} with (force)`);
    }
  } finally {
    await admin.end();
  }
});

async function copyOf(template: string): Promise<{ url: string; sql: TestSql }> {
  const name = `${template}_c${copies.length}`;
  const admin = client(process.env.TEST_DATABASE_URL ?? "");
  try {
    await admin.unsafe(`create database ${name} template ${template}`);
  } finally {
    await admin.end();
  }
  const sql = client(urlFor(name));
  copies.push({ name, sql });
  return { url: urlFor(name), sql };
}

/** Runs verify (text and --json) and status (text and --json) on the database, with the given extra flags. */
async function judge(url: string, flags: readonly string[] = []) {
  const env = { DATABASE_URL: url };
  const [verify, verifyJson, status, statusJson] = await Promise.all([
    runBinary(["verify", ...flags], { env }),
    runBinary(["verify", "--json", ...flags], { env }),
    runBinary(["status", ...flags], { env }),
    runBinary(["status", "--json", ...flags], { env }),
  ]);
  for (const result of [verify, verifyJson, status, statusJson]) expect(result.output).not.toContain(PASSWORD);
  const verifyDocument = JSON.parse(verifyJson.stdout) as { ok: boolean; findings: { kind: string; message: string; severity: string }[]; schema: SchemaPart };
  const statusDocument = JSON.parse(statusJson.stdout) as { schema: SchemaPart };
  const statusLine = status.stdout.split("\n").find((line) => line.startsWith("schema: ")) ?? "";
  return { verify, verifyJson, verifyDocument, status, statusJson, statusDocument, statusLine };
}

interface DriftCase {
  readonly change: string;
  readonly sql: readonly string[];
  readonly missing?: readonly string[];
  readonly changed?: readonly string[];
  readonly extra?: readonly string[];
}

/** Asserts what verify and status say about one hand-made change. */
async function expectDrift(template: string, flags: readonly string[], drift: DriftCase): Promise<void> {
  const db = await copyOf(template);
  for (const statement of drift.sql) await db.sql.unsafe(statement).catch((error: Error) => {
    // A failed CREATE INDEX CONCURRENTLY is the way to leave an invalid index behind.
    if (!statement.includes("concurrently")) throw error;
  });
  const expected = { missing: [...(drift.missing ?? [])], changed: [...(drift.changed ?? [])], extra: [...(drift.extra ?? [])] };
  const result = await judge(db.url, flags);
  const fails = expected.missing.length + expected.changed.length > 0;

  expect(lines(result.verifyDocument.schema)).toEqual(expected);
  expect(result.verifyDocument.schema.status).toBe("drift");
  expect(result.verifyDocument.ok).toBe(!fails);
  expect(result.verify.code).toBe(fails ? 4 : 0);
  expect(result.verifyJson.code).toBe(fails ? 4 : 0);
  for (const line of [...expected.missing, ...expected.changed, ...expected.extra]) expect(result.verify.stdout).toContain(line);
  expect(result.verify.stdout).toContain(`schema: ${expected.missing.length} missing, ${expected.changed.length} changed, ${expected.extra.length} extra`);
  if (fails) expect(result.verify.stderr).toContain("[VERIFY_FAILED]");
  // Extra objects are findings too, warnings: listed, failing only under --strict.
  const kinds = result.verifyDocument.findings.map((finding) => `${finding.kind} ${finding.severity} ${finding.message}`);
  expect(kinds).toEqual([
    ...expected.missing.map((line) => `schema-missing error ${line}`),
    ...expected.changed.map((line) => `schema-changed error ${line}`),
    ...expected.extra.map((line) => `schema-extra warning ${line}`),
  ]);

  expect(result.status.code).toBe(0);
  expect(result.statusLine).toBe(`schema: ${expected.missing.length} missing, ${expected.changed.length} changed, ${expected.extra.length} extra (st44-migrate verify lists them)`);
  expect(lines(result.statusDocument.schema)).toEqual(expected);
  expect(result.statusDocument.schema.status).toBe("drift");

  if (!fails) {
    const strict = await runBinary(["verify", "--strict", ...flags], { env: { DATABASE_URL: db.url } });
    expect(strict.code).toBe(4);
    expect(strict.stderr).toContain("[VERIFY_FAILED]");
  }
}

async function expectUntouchedOk(url: string, flags: readonly string[]): Promise<void> {
  const result = await judge(url, flags);
  expect(result.verify.code).toBe(0);
  expect(result.verify.stdout).toContain("schema: matches the snapshot\nok: the database matches this build");
  expect(result.verifyDocument).toMatchObject({ ok: true, findings: [], schema: { status: "ok", missing: [], changed: [], extra: [] } });
  expect(result.statusLine).toBe("schema: matches the snapshot");
  expect(result.statusDocument.schema).toMatchObject({ status: "ok", missing: [], changed: [], extra: [] });
  expect((await runBinary(["verify", "--strict", ...flags], { env: { DATABASE_URL: url } })).code).toBe(0);
}

describe("drift on the seed migrations (the embedded snapshot)", () => {
  let seed = "";
  beforeAll(async () => {
    const db = await freshDatabase();
    expect((await runBinary(["up"], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    await db.sql.end({ timeout: 1 });
    seed = db.name;
  });

  test("an untouched database matches: verify exits 0, status says so, --json has schema.status ok", async () => {
    await expectUntouchedOk((await copyOf(seed)).url, []);
  });

  const cases: DriftCase[] = [
    { change: "a column dropped", sql: ["alter table tasks drop column description"], missing: ["missing column tasks.description"] },
    { change: "a column retyped", sql: ["alter table tasks alter column points type bigint"], changed: ["changed column tasks.points: integer → bigint"] },
    { change: "NOT NULL dropped", sql: ["alter table tasks alter column name drop not null"], changed: ["changed column tasks.name: now nullable"] },
    { change: "a default changed", sql: ["alter table tasks alter column points set default 5"], changed: ["changed column tasks.points: default 10 → default 5"] },
    { change: "an index dropped", sql: ["drop index idx_tasks_household_id"], missing: ["missing index tasks.idx_tasks_household_id"] },
    {
      change: "an index left invalid by a failed CREATE INDEX CONCURRENTLY on duplicates",
      sql: [
        "drop index idx_users_oauth_provider_id",
        "insert into users (email, oauth_provider, oauth_provider_id) values ('a@example.com', 'google', '1'), ('b@example.com', 'google', '1')",
        "create unique index concurrently idx_users_oauth_provider_id on users (oauth_provider, oauth_provider_id) where oauth_provider is not null",
      ],
      changed: ["invalid index users.idx_users_oauth_provider_id"],
    },
    {
      change: "a unique constraint dropped (its index goes with it)",
      sql: ["alter table household_members drop constraint household_members_household_id_user_id_key"],
      missing: ["missing constraint household_members.household_members_household_id_user_id_key", "missing index household_members.household_members_household_id_user_id_key"],
    },
    { change: "a foreign key dropped", sql: ["alter table tasks drop constraint tasks_household_id_fkey"], missing: ["missing constraint tasks.tasks_household_id_fkey"] },
    { change: "a check constraint dropped", sql: ["alter table tasks drop constraint tasks_rule_type_check"], missing: ["missing constraint tasks.tasks_rule_type_check"] },
    {
      change: "a function body replaced",
      sql: ["create or replace function update_updated_at_column() returns trigger language plpgsql as $$ begin return new; end $$"],
      changed: ["changed function update_updated_at_column(): body differs"],
    },
    { change: "a trigger dropped", sql: ["drop trigger update_users_updated_at on users"], missing: ["missing trigger users.update_users_updated_at"] },
    { change: "an unrelated table added (a warning unless --strict)", sql: ["create table audit_log (id int primary key)"], extra: ["extra table audit_log"] },
    { change: "an extension added (a warning unless --strict)", sql: ["create extension hstore"], extra: ["extra extension hstore"] },
  ];
  for (const drift of cases) {
    test(`${drift.change}: verify, verify --json, status and status --json say so`, async () => {
      await expectDrift(seed, [], drift);
    });
  }

  test("a dropped table is one missing-table finding, not a second drift line; --json's schema part still lists it", async () => {
    const db = await copyOf(seed);
    await db.sql.unsafe("drop table task_completions");
    const result = await judge(db.url);
    expect(result.verify.code).toBe(4);
    expect(result.verifyDocument.findings.map((finding) => finding.kind)).toEqual(["missing-table"]);
    expect(lines(result.verifyDocument.schema).missing).toEqual(["missing table task_completions"]);
    expect(result.statusLine).toBe("schema: 1 missing, 0 changed, 0 extra (st44-migrate verify lists them)");
  });
});

describe("drift judged only when it means something", () => {
  test("with migrations pending: not judged, and why", async () => {
    const db = await freshDatabase();
    const result = await judge(db.url);
    expect(result.verify.code).toBe(4);
    expect(result.verifyDocument.schema.status).toBe("unknown");
    expect(result.verifyDocument.schema.reason).toStartWith("8 migration(s) pending (000, 001, 011, 012, 013, … 3 more): the snapshot describes the schema once every migration is applied");
    expect(result.verifyDocument.findings.some((finding) => finding.kind.startsWith("schema-"))).toBe(false);
    expect(result.verify.stdout).toContain("schema: not judged (8 migration(s) pending");
    expect(result.statusLine).toStartWith("schema: not judged (8 migration(s) pending");
    expect(result.statusDocument.schema).toMatchObject({ status: "unknown", missing: [], changed: [], extra: [] });
  });

  test("--dir without DIR/schema.snapshot: unknown with how to add one, not a failure", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-drift-nosnap-"));
    for (const file of readdirSync(SEED).filter((name) => name.endsWith(".sql"))) copyFileSync(join(SEED, file), join(dir, file));
    expect((await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    await db.sql.unsafe("create table audit_log (id int)");
    const result = await judge(db.url, ["--dir", dir]);
    expect(result.verify.code).toBe(0);
    expect(result.verifyDocument.schema.status).toBe("unknown");
    expect(result.verifyDocument.schema.reason).toContain(`${join(dir, "schema.snapshot")} does not exist; to have drift judged, apply ${dir} alone to an empty database and save st44-migrate dump > ${join(dir, "schema.snapshot")}`);
    expect(result.statusLine).toStartWith(`schema: not judged (${join(dir, "schema.snapshot")} does not exist`);
    expect((await runBinary(["verify", "--strict", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);

    // The folder's own snapshot, never the embedded one, is what --dir is judged against.
    writeFileSync(join(dir, "schema.snapshot"), (await runBinary(["dump"], { env: { DATABASE_URL: db.url } })).stdout);
    await db.sql.unsafe("drop table audit_log");
    const judged = await judge(db.url, ["--dir", dir]);
    expect(lines(judged.verifyDocument.schema)).toEqual({ missing: ["missing table audit_log"], changed: [], extra: [] });
    expect(judged.verify.code).toBe(4);
  });

  test("ST44_EMBEDDED_UNTIL trims the embedded set: the whole set's snapshot does not apply", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url, ST44_EMBEDDED_UNTIL: "014" };
    expect((await runBinary(["up"], { env })).code).toBe(0);
    const verify = await runBinary(["verify", "--json"], { env });
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout).schema).toMatchObject({ status: "unknown", reason: "ST44_EMBEDDED_UNTIL=014 leaves out embedded migrations, and the embedded snapshot describes all of them" });
  });

  test("a DIR/schema.snapshot that is not a snapshot is SNAPSHOT_INVALID (exit 2), naming the file", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-drift-badsnap-"));
    copyFileSync(join(KINDS, "001_every_kind.sql"), join(dir, "001_every_kind.sql"));
    writeFileSync(join(dir, "schema.snapshot"), "CREATE TABLE users (id int);\n");
    for (const command of ["verify", "status"]) {
      const result = await runBinary([command, "--dir", dir], { env: { DATABASE_URL: db.url } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`[SNAPSHOT_INVALID] ${join(dir, "schema.snapshot")} is not a schema snapshot: line 1 does not start with a kind of object`);
    }
  });
});

describe("drift of the kinds the seed lacks (test/fixtures/schema-kinds, --dir)", () => {
  let kinds = "";
  beforeAll(async () => {
    const db = await freshDatabase();
    expect((await runBinary(["up", "--dir", KINDS], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    await db.sql.end({ timeout: 1 });
    kinds = db.name;
  });

  test("its committed schema.snapshot is what this server's dump gives (on PostgreSQL 14 to 18 alike)", async () => {
    const dump = await runBinary(["dump"], { env: { DATABASE_URL: urlFor(kinds) } });
    expect(dump.code).toBe(0);
    expect(dump.stdout).toBe(readFileSync(join(KINDS, "schema.snapshot"), "utf8"));
  });

  test("an untouched database matches", async () => {
    await expectUntouchedOk((await copyOf(kinds)).url, ["--dir", KINDS]);
  });

  const cases: DriftCase[] = [
    { change: "an enum value added", sql: ["alter type mood add value 'angry'"], changed: ["changed enum mood: gained 'angry'"] },
    { change: "an enum value missing", sql: ["drop type mood", "create type mood as enum ('sad', 'happy')"], changed: ["changed enum mood: lost 'ok'"] },
    { change: "a domain's default changed", sql: ["alter domain positive_points set default 2"], changed: ["changed domain positive_points: default 1 → default 2"] },
    { change: "a sequence's increment changed", sql: ["alter sequence ticket_numbers increment by 5"], changed: ["changed sequence ticket_numbers: bigint start 100 increment 10 min 1 max 9223372036854775807 cache 1 → bigint start 100 increment 5 min 1 max 9223372036854775807 cache 1"] },
    { change: "a view redefined", sql: ["create or replace view note_owners as select owner_name from notes where body <> ''"], changed: ["changed view note_owners: SELECT owner_name FROM public.notes → SELECT owner_name FROM public.notes WHERE body <> ''::text"] },
    { change: "a materialized view dropped", sql: ["drop materialized view note_points"], missing: ["missing materialized view note_points"] },
    { change: "an extension dropped", sql: ["drop extension citext"], missing: ["missing extension citext"] },
    { change: "row level security disabled", sql: ["alter table notes disable row level security"], changed: ["changed table notes: lost row level security enabled"] },
    { change: "a policy dropped", sql: ["drop policy notes_by_owner on notes"], missing: ["missing policy notes.notes_by_owner"] },
  ];
  for (const drift of cases) {
    test(`${drift.change}: verify, verify --json, status and status --json say so`, async () => {
      await expectDrift(kinds, ["--dir", KINDS], drift);
    });
  }
});
