import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { buildApp } from "../../examples/fastify.ts";
import { checkDatabaseHealth } from "../../src/health.ts";
import { type TestDatabase, client, createTestDatabase } from "../support/database.ts";
import { migrationsFrom, seedMigrations, up } from "../support/migrator.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase("health");
});
afterAll(async () => {
  await db.drop();
});

describe("checkDatabaseHealth", () => {
  test("an empty database is unhealthy: nothing applied, every table missing", async () => {
    const report = await checkDatabaseHealth({ sql: db.sql, migrations: await seedMigrations() });
    expect(report.status).toBe("unhealthy");
    expect(report.database).toBe("connected");
    expect(report.migrations.pending).toHaveLength(8);
    expect(report.tables.missing).toHaveLength(8);
    expect(report.reasons[0]).toContain("schema_migrations does not exist");
  });

  test("rows that say applied but a table that is gone: unhealthy, naming the table", async () => {
    const migrations = await seedMigrations();
    await up(db.url, migrations);
    await db.sql`alter table task_completions rename to task_completions_old`;
    try {
      const report = await checkDatabaseHealth({ sql: db.sql, migrations });
      expect(report.status).toBe("unhealthy");
      expect(report.migrations.pending).toEqual([]);
      expect(report.tables.missing).toEqual(["task_completions"]);
    } finally {
      await db.sql`alter table task_completions_old rename to task_completions`;
    }
  });

  test("a read-only role that may only read schema_migrations gets a healthy report", async () => {
    const migrations = await seedMigrations();
    await up(db.url, migrations);
    await db.sql.unsafe(`
      do $$ begin if not exists (select from pg_roles where rolname = 'st44_health') then create role st44_health login password 'health-pw'; end if; end $$;
      grant select on schema_migrations to st44_health;`);
    const url = new URL(db.url);
    url.username = "st44_health";
    url.password = "health-pw";
    const readOnly = client(url.toString());
    try {
      const report = await checkDatabaseHealth({ sql: readOnly, migrations });
      expect(report.status).toBe("healthy");
      expect(report.migrations.applied).toHaveLength(8);
    } finally {
      await readOnly.end();
    }
  });

  test("a changed migration is unhealthy", async () => {
    const migrations = migrationsFrom({ "001_a.sql": "create table health_a (id int);" });
    const other = await createTestDatabase("health");
    try {
      await up(other.url, migrations);
      const edited = migrationsFrom({ "001_a.sql": "create table health_a (id bigint);" });
      const report = await checkDatabaseHealth({ sql: other.sql, migrations: edited });
      expect(report.status).toBe("unhealthy");
      expect(report.migrations.changed).toEqual(["001"]);
    } finally {
      await other.drop();
    }
  });
});

describe("with postgres.js, the document names the real state and says null for what it did not read", () => {
  const otherUrl = (change: (url: URL) => void) => {
    const url = new URL(db.url);
    change(url);
    return url.toString();
  };
  for (const [state, change] of [
    ["auth_failed", (url: URL) => (url.password = "Not-The-Password-7")],
    ["not_found", (url: URL) => (url.pathname = "/no_such_database_here")],
  ] as const) {
    test(`${state}, with pending and missing null (unknown), not []`, async () => {
      const sql = client(otherUrl(change));
      try {
        const report = await checkDatabaseHealth({ sql, migrations: await seedMigrations() });
        expect(report).toMatchObject({ status: "unhealthy", database: state, migrations: { pending: null, applied: null, expected_latest: "016" }, tables: { expected: 8, missing: null } });
        expect(JSON.stringify(report)).not.toContain("Not-The-Password-7");
      } finally {
        await sql.end({ timeout: 0 });
      }
    });
  }
});

describe("the Fastify example in the README", () => {
  test("the README shows examples/fastify.ts verbatim", () => {
    const root = join(import.meta.dir, "../..");
    const example = readFileSync(join(root, "examples/fastify.ts"), "utf8").trim();
    expect(readFileSync(join(root, "README.md"), "utf8")).toContain(example);
  });

  test("mounted in Fastify with the API's pg pool, GET /health/database answers 200 with the seed's document", async () => {
    await up(db.url, await seedMigrations());
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const app = buildApp(pool);
    try {
      const response = await app.inject({ method: "GET", url: "/health/database" });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toContain("application/json");
      const report = response.json();
      expect(report).toMatchObject({
        status: "healthy",
        database: "connected",
        migrations: { applied: ["000", "001", "011", "012", "013", "014", "015", "016"], latest: "016", pending: [] },
      });
    } finally {
      await app.close();
      await pool.end();
    }
  });
});
