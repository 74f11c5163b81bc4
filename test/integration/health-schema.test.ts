/**
 * Drift in GET /health/database (issue 13): the live schema against the
 * snapshot this build embeds (or the `schema` option), read through the
 * application's own driver in one statement, within the check's bound.
 * Real PostgreSQL, the real node-postgres Pool and real Fastify.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import Fastify from "fastify";
import pg, { type Pool } from "pg";
import { buildApp } from "../../examples/fastify.ts";
import { renderSnapshotText } from "../../src/core/schema/render.ts";
import { SCHEMA_READ, readSchema } from "../../src/db/schema/read.ts";
import { checkDatabaseHealth, createHealthHandler, healthPlugin } from "../../src/health.ts";
import type { HealthReport } from "../../src/health.ts";
import { type TestDatabase, freshDatabases } from "../support/database.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { migrationsFrom, seedMigrations, up } from "../support/migrator.ts";

const freshDatabase = freshDatabases("healthschema");

/** A fresh database with the seed migrations applied (what the embedded snapshot describes). */
async function seeded(): Promise<TestDatabase> {
  const db = await freshDatabase();
  await up(db.url, await seedMigrations());
  return db;
}

async function withPool<T>(db: TestDatabase, work: (pool: Pool) => Promise<T>, max = 2): Promise<T> {
  const pool = new pg.Pool({ connectionString: db.url, max });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

async function getHealth(app: ReturnType<typeof Fastify>): Promise<{ status: number; report: HealthReport }> {
  const response = await app.inject({ method: "GET", url: "/health/database" });
  return { status: response.statusCode, report: response.json() as HealthReport };
}

describe("the schema section against the embedded snapshot", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seeded();
  });

  test("an untouched seed database: schema ok, healthy, with postgres.js and with a pg Pool alike", async () => {
    const migrations = await seedMigrations();
    const viaPostgresJs = await checkDatabaseHealth({ sql: db.sql, migrations });
    expect(viaPostgresJs.status).toBe("healthy");
    expect(viaPostgresJs.schema).toEqual({ status: "ok", missing: [], changed: [], extra: [] });
    expect(viaPostgresJs.reasons).toEqual([]);
    const viaPg = await withPool(db, (pool) => checkDatabaseHealth({ pool, migrations }));
    expect(viaPg.schema).toEqual(viaPostgresJs.schema);
  });

  test("the README's Fastify example (bundledMigrations(), no schema option) compares with the embedded snapshot: 200, schema ok", async () => {
    await withPool(db, async (pool) => {
      const app = buildApp(pool);
      try {
        const { status, report } = await getHealth(app);
        expect(status).toBe(200);
        expect(report).toMatchObject({ status: "healthy", schema: { status: "ok", missing: [], changed: [], extra: [] } });
      } finally {
        await app.close();
      }
    });
  });

  test("the read changes no session setting: the pool's connection keeps its search_path, also inside the caller's transaction", async () => {
    await withPool(
      db,
      async (pool) => {
        await pool.query("set search_path = public, pg_temp");
        await checkDatabaseHealth({ pool, migrations: await seedMigrations() });
        expect((await pool.query("show search_path")).rows).toEqual([{ search_path: "public, pg_temp" }]);
        // A query function on a client already inside a transaction: SET LOCAL would last until its COMMIT.
        const client = await pool.connect();
        try {
          await client.query("begin");
          const report = await checkDatabaseHealth({ query: async (text) => (await client.query(text)).rows, migrations: await seedMigrations() });
          expect(report.schema.status).toBe("ok");
          expect((await client.query("show search_path")).rows).toEqual([{ search_path: "public, pg_temp" }]);
          await client.query("commit");
        } finally {
          client.release();
        }
      },
      1,
    );
  });
});

describe("drift makes the document unhealthy (missing, changed) or degraded (extra)", () => {
  test("a dropped column: unhealthy, 503, `missing column users.created_at`", async () => {
    const db = await seeded();
    await db.sql`alter table users drop column created_at`;
    await withPool(db, async (pool) => {
      const app = Fastify();
      app.register(healthPlugin, { pool, migrations: await seedMigrations() });
      try {
        const { status, report } = await getHealth(app);
        expect(status).toBe(503);
        expect(report.status).toBe("unhealthy");
        expect(report.schema).toEqual({ status: "drift", missing: ["missing column users.created_at"], changed: [], extra: [] });
        expect(report.reasons).toEqual(["the schema is not the one the migrations leave: missing column users.created_at"]);
        // The seed's fields are as they were: every migration applied, every table there.
        expect(report.migrations.pending).toEqual([]);
        expect(report.tables.missing).toEqual([]);
      } finally {
        await app.close();
      }
    });
  });

  test("a retyped column: unhealthy, `changed column tasks.points: integer → bigint`", async () => {
    const db = await seeded();
    await db.sql`alter table tasks alter column points type bigint`;
    const report = await checkDatabaseHealth({ sql: db.sql, migrations: await seedMigrations() });
    expect(report.status).toBe("unhealthy");
    expect(report.schema).toMatchObject({ status: "drift", missing: [], changed: ["changed column tasks.points: integer → bigint"], extra: [] });
  });

  test("an unrelated table: degraded, still 200, `extra table audit_log`", async () => {
    const db = await seeded();
    await db.sql`create table audit_log (id int primary key)`;
    await withPool(db, async (pool) => {
      const app = Fastify();
      app.register(healthPlugin, { pool, migrations: await seedMigrations() });
      try {
        const { status, report } = await getHealth(app);
        expect(status).toBe(200);
        expect(report.status).toBe("degraded");
        expect(report.schema).toEqual({ status: "drift", missing: [], changed: [], extra: ["extra table audit_log"] });
        expect(report.reasons).toEqual(["the database has objects the migrations do not create: extra table audit_log"]);
      } finally {
        await app.close();
      }
    });
  });

  test("many differences: every line in the section, the first five in reasons", async () => {
    const db = await seeded();
    await db.sql.unsafe(Array.from({ length: 7 }, (_, index) => `create table extra_${index} (id int);`).join("\n"));
    const report = await checkDatabaseHealth({ sql: db.sql, migrations: await seedMigrations() });
    expect(report.status).toBe("degraded");
    expect(report.schema.extra).toEqual(Array.from({ length: 7 }, (_, index) => `extra table extra_${index}`));
    expect(report.reasons).toEqual([
      "the database has objects the migrations do not create: extra table extra_0; extra table extra_1; extra table extra_2; extra table extra_3; extra table extra_4 (and 2 more: see schema)",
    ]);
  });
});

describe("the schema is unknown (not judged) and the status is the rest's", () => {
  test("pending migrations: unknown, naming them; the lists are null", async () => {
    const db = await seeded();
    const migrations = [...(await seedMigrations()), ...migrationsFrom({ "017_later.sql": "create table later (id int);" })];
    const report = await checkDatabaseHealth({ sql: db.sql, migrations });
    expect(report.status).toBe("unhealthy");
    expect(report.schema).toEqual({ status: "unknown", missing: null, changed: null, extra: null, reason: expect.stringContaining("pending (017)") });
  });

  test("migrations of a newer release in the database: unknown, degraded as before", async () => {
    const db = await seeded();
    const newer = [...(await seedMigrations()), ...migrationsFrom({ "017_later.sql": "create table later (id int);" })];
    await up(db.url, newer);
    const report = await checkDatabaseHealth({ sql: db.sql, migrations: await seedMigrations() });
    expect(report.status).toBe("degraded");
    expect(report.schema).toMatchObject({ status: "unknown", missing: null, reason: expect.stringContaining("does not know (017)") });
  });

  test("no snapshot: other migrations without the schema option, or schema: null", async () => {
    const db = await freshDatabase();
    const migrations = migrationsFrom({ "001_a.sql": "create table a (id int);" });
    await up(db.url, migrations);
    const without = await checkDatabaseHealth({ sql: db.sql, migrations });
    expect(without.status).toBe("healthy");
    expect(without.schema).toMatchObject({ status: "unknown", missing: null, changed: null, extra: null, reason: expect.stringContaining("pass their schema.snapshot's text as the schema option") });
    const off = await checkDatabaseHealth({ sql: db.sql, migrations, schema: null });
    expect(off.schema).toMatchObject({ status: "unknown", reason: "the schema comparison is off (schema: null)" });
  });

  test("the database not read (a closed port): unknown", async () => {
    const closed = new pg.Pool({ connectionString: `postgres://u:pw@127.0.0.1:${await freePort()}/x` });
    closed.on("error", () => {});
    try {
      const report = await checkDatabaseHealth({ pool: closed, migrations: await seedMigrations() });
      expect(report).toMatchObject({ status: "unhealthy", database: "unreachable", schema: { status: "unknown", missing: null, reason: "the database was not read" } });
    } finally {
      await closed.end();
    }
  });
});

describe("the schema option: the application's own migrations and their snapshot", () => {
  test("the text of their dump: ok; after a change by hand: drift; a text that is no snapshot: SNAPSHOT_INVALID when the route is made", async () => {
    const db = await freshDatabase();
    const migrations = migrationsFrom({ "001_a.sql": "create table a (id int primary key, label text not null);" });
    await up(db.url, migrations);
    const schema = renderSnapshotText(await readSchema(db.sql));
    const handler = createHealthHandler({ sql: db.sql, migrations, schema });
    const before = (await (await handler()).json()) as HealthReport;
    expect(before.schema).toEqual({ status: "ok", missing: [], changed: [], extra: [] });
    await db.sql`alter table a alter column label drop not null`;
    const after = await handler();
    expect(after.status).toBe(503);
    expect(((await after.json()) as HealthReport).schema.changed).toEqual(["changed column a.label: now nullable"]);
    expect(() => createHealthHandler({ sql: db.sql, migrations, schema: "create table a (id int);" })).toThrow(expect.objectContaining({ code: "SNAPSHOT_INVALID" }));
  });
});

describe("the schema read stays within the check's bound", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await seeded();
  });
  /** pg_policy is read by the schema read only: a lock on it holds that read and nothing else of the check. */
  async function whilePolicyCatalogLocked(work: () => Promise<void>): Promise<void> {
    const lockerPool = new pg.Pool({ connectionString: db.url, max: 1 });
    const locker = await lockerPool.connect();
    try {
      await locker.query("begin");
      await locker.query("lock table pg_catalog.pg_policy in access exclusive mode");
      await work();
    } finally {
      await locker.query("rollback");
      locker.release();
      await lockerPool.end();
    }
  }

  test("a read stuck behind a catalog lock: schema unknown (timed out), the rest of the document in time, the pool not left a client short", async () => {
    await whilePolicyCatalogLocked(async () => {
      await withPool(
        db,
        async (pool) => {
          const started = performance.now();
          const report = await checkDatabaseHealth({ pool, migrations: await seedMigrations(), timeoutMs: 600 });
          expect(performance.now() - started).toBeLessThan(900);
          expect(report).toMatchObject({ status: "healthy", database: "connected", migrations: { pending: [] }, tables: { missing: [] } });
          expect(report.schema).toMatchObject({ status: "unknown", missing: null, reason: expect.stringMatching(/^timed out/) });
          // The client that ran the stuck read was dropped: the pool's only slot answers at once, the lock still held.
          const answer = await Promise.race([pool.query("select 1 as one"), Bun.sleep(2000).then(() => "stuck")]);
          expect(answer).toMatchObject({ rows: [{ one: 1 }] });
        },
        1,
      );
    });
  });

  test("with postgres.js, the stuck read is cancelled: no query of the check is left waiting on the lock", async () => {
    await whilePolicyCatalogLocked(async () => {
      const report = await checkDatabaseHealth({ sql: db.sql, migrations: await seedMigrations(), timeoutMs: 600 });
      expect(report.schema).toMatchObject({ status: "unknown", reason: expect.stringMatching(/^timed out/) });
      // (pg_stat_activity keeps only the statement's first 1 KiB: it is recognised by its start.)
      let waiting: readonly unknown[] = [];
      for (let tries = 0; tries < 20; tries++) {
        waiting = await db.sql`select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like ${`${SCHEMA_READ.slice(0, 40)}%`}`;
        if (waiting.length === 0) break;
        await Bun.sleep(50);
      }
      expect(waiting).toEqual([]);
    });
  });
});
