/**
 * The health check with the API's own node-postgres pool (st44's real API),
 * mounted with healthPlugin in real Fastify, against real PostgreSQL: every
 * state the document names, and the time bound when the server hangs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Fastify from "fastify";
import { type Socket, createServer } from "node:net";
import pg, { type Pool } from "pg";
import { buildApp } from "../../examples/fastify.ts";
import { checkDatabaseHealth, healthPlugin } from "../../src/health.ts";
import type { HealthReport } from "../../src/health.ts";
import { type TestDatabase, createTestDatabase } from "../support/database.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { migrationsFrom, seedMigrations, up } from "../support/migrator.ts";

let db: TestDatabase;
let pool: Pool;
beforeAll(async () => {
  db = await createTestDatabase("health_pg");
  await up(db.url, await seedMigrations());
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

/** A pool on a URL the test expects to fail; its errors are the check's to report, not the process's. */
function poolOn(url: string, max = 2): Pool {
  const failing = new pg.Pool({ connectionString: url, max });
  failing.on("error", () => {});
  return failing;
}

/** A listening port that accepts connections and never says a word. */
async function silentServer(): Promise<{ url: string; close(): void }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `postgres://u:pw-never-shown@127.0.0.1:${port}/x`,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function withoutTimes(report: HealthReport) {
  const { duration_ms: _duration, checked_at: _checked, ...rest } = report;
  return rest;
}

describe("checkDatabaseHealth through node-postgres", () => {
  test("a pg Pool reads the same document as postgres.js: healthy, every migration and table", async () => {
    const migrations = await seedMigrations();
    const viaPg = await checkDatabaseHealth({ pool, migrations });
    const viaPostgresJs = await checkDatabaseHealth({ sql: db.sql, migrations });
    expect(viaPg.status).toBe("healthy");
    expect(viaPg.migrations.applied).toEqual(["000", "001", "011", "012", "013", "014", "015", "016"]);
    expect(withoutTimes(viaPg)).toEqual(withoutTimes(viaPostgresJs));
    expect(pool.idleCount).toBe(pool.totalCount); // the client went back to the pool
  });

  test("a plain query function (text to rows) works too", async () => {
    const report = await checkDatabaseHealth({ query: async (text) => (await pool.query(text)).rows, migrations: await seedMigrations() });
    expect(report.status).toBe("healthy");
    expect(report.tables.missing).toEqual([]);
  });

  test("table names with a quote and a backslash are looked up as they are (the SQL is text only, no parameters)", async () => {
    const odd = await createTestDatabase("health_pg");
    const oddPool = new pg.Pool({ connectionString: odd.url, max: 1 });
    try {
      const migrations = migrationsFrom({ "001_odd.sql": `create table "it's\\odd" (id int);\ncreate table "never_made" (id int);` });
      await up(odd.url, migrations);
      await odd.sql.unsafe(`drop table never_made`);
      const report = await checkDatabaseHealth({ pool: oddPool, migrations });
      expect(report.tables).toEqual({ expected: 2, missing: ["never_made"] });
    } finally {
      await oddPool.end();
      await odd.drop();
    }
  });

  test("no database given: a clear CONFIG_INVALID at once, naming the options", async () => {
    const promise = checkDatabaseHealth({ migrations: [] } as never);
    await expect(promise).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    await expect(promise).rejects.toThrow(/\{ pool \}/);
  });

  test("a query that hangs on a real server (a lock) is cut off at the bound, and the pool is not left a client short", async () => {
    const small = new pg.Pool({ connectionString: db.url, max: 1 });
    const locker = await pool.connect();
    try {
      await locker.query("begin");
      await locker.query("lock table schema_migrations in access exclusive mode");
      const started = performance.now();
      const report = await checkDatabaseHealth({ pool: small, migrations: await seedMigrations(), timeoutMs: 500 });
      expect(performance.now() - started).toBeLessThan(1500);
      expect(report).toMatchObject({ status: "unhealthy", database: "timeout", reasons: ["the database did not answer within 500 ms"] });
      expect(report.migrations.pending).toBeNull();
      // The lock is still held: the pool's only slot must be free for the API's own queries all the same.
      const answer = await Promise.race([small.query("select 1 as one"), Bun.sleep(2000).then(() => "stuck")]);
      expect(answer).toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      await locker.query("rollback");
      locker.release();
      await small.end();
    }
  });
});

describe("the document names the real state, and says unknown (null) for what it did not read", () => {
  const unread = { applied: null, pending: null, changed: null, mismatched: null, unknown: null, latest: null, expected_latest: "016" };

  test("wrong password: auth_failed, the password nowhere", async () => {
    const url = new URL(db.url);
    url.password = "Wrong-Pass-99";
    const wrong = poolOn(url.toString());
    try {
      const report = await checkDatabaseHealth({ pool: wrong, migrations: await seedMigrations() });
      expect(report).toMatchObject({ status: "unhealthy", database: "auth_failed", migrations: unread, tables: { expected: 8, missing: null } });
      expect(report.reasons[0]).toContain("refused the login");
      expect(JSON.stringify(report)).not.toContain("Wrong-Pass-99");
    } finally {
      await wrong.end();
    }
  });

  test("no such database: not_found", async () => {
    const url = new URL(db.url);
    url.pathname = "/no_such_database_here";
    const missing = poolOn(url.toString());
    try {
      const report = await checkDatabaseHealth({ pool: missing, migrations: await seedMigrations() });
      expect(report).toMatchObject({ database: "not_found", migrations: unread, tables: { missing: null } });
      expect(report.reasons[0]).toContain("no such database");
    } finally {
      await missing.end();
    }
  });

  test("a role without SELECT on schema_migrations: permission_denied, naming the grant", async () => {
    await db.sql.unsafe(`
      do $$ begin if not exists (select from pg_roles where rolname = 'st44_no_grant') then create role st44_no_grant login password 'no-grant-pw'; end if; end $$;
      revoke all on schema_migrations from st44_no_grant;`);
    const url = new URL(db.url);
    url.username = "st44_no_grant";
    url.password = "no-grant-pw";
    const ungranted = poolOn(url.toString());
    try {
      const report = await checkDatabaseHealth({ pool: ungranted, migrations: await seedMigrations() });
      expect(report).toMatchObject({ database: "permission_denied", migrations: unread, tables: { missing: null } });
      expect(report.reasons[0]).toContain("GRANT SELECT ON schema_migrations");
    } finally {
      await ungranted.end();
    }
  });

  test("a closed port: unreachable", async () => {
    const closed = poolOn(`postgres://u:pw@127.0.0.1:${await freePort()}/x`);
    try {
      const report = await checkDatabaseHealth({ pool: closed, migrations: await seedMigrations() });
      expect(report).toMatchObject({ database: "unreachable", migrations: unread, tables: { missing: null } });
    } finally {
      await closed.end();
    }
  });
});

describe("healthPlugin in real Fastify with the pg pool", () => {
  async function get(app: ReturnType<typeof Fastify>) {
    const response = await app.inject({ method: "GET", url: "/health/database" });
    return { status: response.statusCode, type: response.headers["content-type"], report: response.json() as HealthReport };
  }

  test("examples/fastify.ts (the README's) answers 200 healthy with the seed's document", async () => {
    const app = buildApp(pool);
    try {
      const { status, type, report } = await get(app);
      expect(status).toBe(200);
      expect(type).toContain("application/json");
      expect(report).toMatchObject({ status: "healthy", database: "connected", migrations: { latest: "016", pending: [] }, tables: { missing: [] } });
    } finally {
      await app.close();
    }
  });

  test("pending migrations: 503 unhealthy, naming them", async () => {
    const app = Fastify();
    const migrations = [...(await seedMigrations()), ...migrationsFrom({ "017_later.sql": "create table later (id int);" })];
    app.register(healthPlugin, { pool, migrations });
    try {
      const { status, report } = await get(app);
      expect(status).toBe(503);
      expect(report).toMatchObject({ status: "unhealthy", database: "connected", migrations: { pending: ["017"] }, tables: { missing: ["later"] } });
    } finally {
      await app.close();
    }
  });

  test("a server that accepts but never answers: 503 timeout within the bound", async () => {
    const silent = await silentServer();
    const hung = poolOn(silent.url);
    const app = Fastify();
    app.register(healthPlugin, { pool: hung, migrations: await seedMigrations(), timeoutMs: 700 });
    try {
      const started = performance.now();
      const { status, report } = await get(app);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(status).toBe(503);
      expect(report).toMatchObject({ database: "timeout", reasons: ["the database did not answer within 700 ms"], migrations: { pending: null } });
    } finally {
      await app.close();
      silent.close();
      await hung.end().catch(() => {});
    }
  });

  test("unreachable: 503, the password nowhere in the answer", async () => {
    const closed = poolOn(`postgres://u:pw-never-shown@127.0.0.1:${await freePort()}/x`);
    const app = Fastify();
    app.register(healthPlugin, { pool: closed, migrations: await seedMigrations() });
    try {
      const response = await app.inject({ method: "GET", url: "/health/database" });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ status: "unhealthy", database: "unreachable", tables: { missing: null } });
      expect(response.body).not.toContain("pw-never-shown");
    } finally {
      await app.close();
      await closed.end();
    }
  });

  test("registered without a database: Fastify refuses to start, with CONFIG_INVALID", async () => {
    const app = Fastify();
    app.register(healthPlugin, { migrations: [] } as never);
    await expect(app.ready()).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});
