/**
 * Least privilege: the migrator needs no superuser, only a role that owns
 * (or may create in) the schema; a role that may not create is refused
 * before anything is written, with the grant it lacks; and the API's
 * read-only role (SELECT on schema_migrations) can run health and status.
 * CREATE on schema public is revoked from PUBLIC everywhere, so PostgreSQL 14
 * (which grants it by default) means the same as 15+.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunResult, runBinary } from "../support/cli.ts";
import { type TestDatabase, tablesOf } from "../support/database.ts";
import {
  SEED_VERSIONS,
  type TestRole,
  asAdmin,
  createRole,
  databaseOwnedBy,
  errorCode,
  expectNoCrash,
  expectNoSecret,
  lockedDownDatabase,
  tableExists,
  testServer,
} from "./helpers.ts";

// The preload's setDefaultTimeout(60_000) reaches only the first file of a bun test run (Bun 1.4.5): set it here too.
setDefaultTimeout(120_000);

const SEED_TABLES = ["children", "household_members", "households", "schema_migrations", "task_assignments", "task_completions", "tasks", "users"];

const roles: TestRole[] = [];
const databases: TestDatabase[] = [];
const work = mkdtempSync(join(tmpdir(), "st44-privileges-"));

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  for (const role of roles) await role.drop();
  rmSync(work, { recursive: true, force: true });
});

async function role(prefix: string): Promise<TestRole> {
  const created = await createRole(prefix, `${prefix}-Pw!${Math.random().toString(36).slice(2)}`);
  roles.push(created);
  return created;
}

function track(database: TestDatabase): TestDatabase {
  databases.push(database);
  return database;
}

/** Runs the binary as `as` on `database`. */
async function runAs(as: TestRole, database: TestDatabase, args: string[]): Promise<RunResult> {
  const { host, port } = testServer();
  const result = await runBinary(args, {
    env: { DATABASE_URL: `postgres://${as.name}:${encodeURIComponent(as.password)}@${host}:${port}/${database.name}` },
  });
  expectNoSecret(result, [as.password, testServer().password], `${as.name}: ${args.join(" ")}`);
  expectNoCrash(result);
  return result;
}

describe("(a) a role that owns the schema, not a superuser", () => {
  let owner: TestRole;
  let database: TestDatabase;
  beforeAll(async () => {
    owner = await role("owner");
    database = track(await databaseOwnedBy("priv", owner));
  });

  test("is an ordinary role: no superuser, no CREATEDB, no CREATEROLE, no BYPASSRLS", async () => {
    const [attributes] = await database.sql<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolbypassrls: boolean }[]>`
      select rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles where rolname = ${owner.name}`;
    expect(attributes).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false });
  });

  test("runs up: the 8 seed migrations, the tables owned by it", async () => {
    const result = await runAs(owner, database, ["up"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("applied 8 migration(s)");
    expect(await tablesOf(database.sql)).toEqual(SEED_TABLES);
    const rows = await database.sql<{ version: string; applied_by: string }[]>`select version, applied_by from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(SEED_VERSIONS);
    expect(new Set(rows.map((row) => row.applied_by))).toEqual(new Set([owner.name]));
    const owners = await database.sql<{ tableowner: string }[]>`select distinct tableowner from pg_tables where schemaname = 'public'`;
    expect(owners.map((row) => row.tableowner)).toEqual([owner.name]);
  });

  test("then status, verify and health exit 0", async () => {
    expect((await runAs(owner, database, ["status", "--exit-code"])).code).toBe(0);
    expect((await runAs(owner, database, ["verify"])).code).toBe(0);
    const health = await runAs(owner, database, ["health"]);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout).status).toBe("healthy");
  });
});

describe("(b) a role without CREATE on schema public, not its owner", () => {
  let stranger: TestRole;
  let database: TestDatabase;
  beforeAll(async () => {
    stranger = await role("nocreate");
    database = track(await lockedDownDatabase("priv"));
    // It may connect and look, not create.
    await asAdmin([`grant connect on database ${database.name} to ${stranger.name}`]);
    await database.sql.unsafe(`grant usage on schema public to ${stranger.name}`);
    const [can] = await database.sql<{ create: boolean }[]>`select has_schema_privilege(${stranger.name}, 'public', 'CREATE') as create`;
    expect(can?.create).toBe(false);
  });

  test("up fails before anything is applied, naming the missing grant (DB_PERMISSION_DENIED, exit 1)", async () => {
    const result = await runAs(stranger, database, ["up"]);
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 1, error: "DB_PERMISSION_DENIED" });
    expect(result.stderr).toContain(`GRANT CREATE ON SCHEMA public TO "${stranger.name}"`);
    expect(result.stderr).toContain(stranger.name);
    expect(result.stderr).toMatch(/nothing was applied/i);
    expect(result.stderr).not.toMatch(/applied \d+_/); // no "applied 000_..." line
    // Nothing written: no tracking table, no table at all.
    expect(await tableExists(database.sql, "schema_migrations")).toBe(false);
    expect(await tablesOf(database.sql)).toEqual([]);
  });

  test("plan refuses the same way, as up would", async () => {
    const result = await runAs(stranger, database, ["plan"]);
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 1, error: "DB_PERMISSION_DENIED" });
    expect(result.stdout).not.toContain("would be applied");
  });

  test("run does not start the application either", async () => {
    const marker = join(work, "started-anyway");
    const result = await runAs(stranger, database, ["run", "--", "sh", "-c", `touch ${marker}`]);
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 1, error: "DB_PERMISSION_DENIED" });
    expect(await Bun.file(marker).exists()).toBe(false);
    expect(await tablesOf(database.sql)).toEqual([]);
  });

  test("after GRANT CREATE ON SCHEMA public, the same role runs up", async () => {
    const granted = track(await lockedDownDatabase("priv"));
    await asAdmin([`grant connect on database ${granted.name} to ${stranger.name}`]);
    await granted.sql.unsafe(`grant usage, create on schema public to ${stranger.name}`);
    const result = await runAs(stranger, granted, ["up"]);
    expect(result.code).toBe(0);
    expect(await tablesOf(granted.sql)).toEqual(SEED_TABLES);
  });
});

describe("(c) the API's read-only role: SELECT on schema_migrations, CONNECT and USAGE only", () => {
  let owner: TestRole;
  let api: TestRole;
  let database: TestDatabase;
  beforeAll(async () => {
    owner = await role("owner");
    api = await role("api_ro");
    database = track(await databaseOwnedBy("priv", owner));
    const up = await runAs(owner, database, ["up"]);
    expect(up.code).toBe(0);
    // Nothing from PUBLIC: exactly the grants the README gives the API.
    await asAdmin([`revoke all on database ${database.name} from public`, `grant connect on database ${database.name} to ${api.name}`]);
    await database.sql.unsafe("revoke all on schema public from public");
    await database.sql.unsafe(`grant usage on schema public to ${api.name}`);
    await database.sql.unsafe(`grant select on schema_migrations to ${api.name}`);
    const [privileges] = await database.sql<{ select_users: boolean; insert_migrations: boolean; create: boolean }[]>`
      select has_table_privilege(${api.name}, 'users', 'SELECT') as select_users,
             has_table_privilege(${api.name}, 'schema_migrations', 'INSERT') as insert_migrations,
             has_schema_privilege(${api.name}, 'public', 'CREATE') as create`;
    expect(privileges).toEqual({ select_users: false, insert_migrations: false, create: false });
  });

  test("health exits 0 and reports healthy", async () => {
    const result = await runAs(api, database, ["health"]);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.status).toBe("healthy");
    expect(document.database).toBe("connected");
    expect(document.migrations.applied).toEqual(SEED_VERSIONS);
    expect(document.tables.missing).toEqual([]);
  });

  test("status (table and --json --exit-code) exits 0", async () => {
    const table = await runAs(api, database, ["status"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("8 applied, 0 pending, 0 changed, 0 unknown");
    const json = await runAs(api, database, ["status", "--json", "--exit-code"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).applied).toEqual(SEED_VERSIONS);
  });

  test("verify exits 0 (it reads the tracking table and looks tables up by name)", async () => {
    const result = await runAs(api, database, ["verify"]);
    expect(result.code).toBe(0);
  });

  test("up with nothing pending is a no-op that exits 0 (it writes nothing)", async () => {
    const result = await runAs(api, database, ["up"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("nothing to do");
  });

  test("up with a pending migration is refused before applying it (DB_PERMISSION_DENIED, exit 1)", async () => {
    const dir = join(work, "seed-plus-one");
    cpSync(join(import.meta.dir, "../../migrations"), dir, { recursive: true });
    writeFileSync(join(dir, "017_add_notes.sql"), "-- migrate:up\ncreate table notes (id int);\n-- migrate:down\ndrop table notes;\n");
    const result = await runAs(api, database, ["up", "--dir", dir]);
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 1, error: "DB_PERMISSION_DENIED" });
    expect(result.stderr).toContain("GRANT CREATE ON SCHEMA public");
    expect(await tableExists(database.sql, "notes")).toBe(false);
    const [count] = await database.sql<{ n: number }[]>`select count(*)::int as n from schema_migrations`;
    expect(count?.n).toBe(8);
  });
});
