import { beforeEach, describe, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { MIGRATION_LOCK_KEY } from "../../src/db/lock.ts";
import { type TestDatabase, client, freshDatabases, reserveConnection } from "../support/database.ts";
import { migrationsFrom, recordingLogger, seedMigrations, up } from "../support/migrator.ts";

let db: TestDatabase;
const freshDatabase = freshDatabases("lock");
beforeEach(async () => {
  db = await freshDatabase();
});

describe("the migration lock", () => {
  test("six runners at once: every one succeeds and each migration is applied exactly once", async () => {
    const seed = await seedMigrations();
    const counted = migrationsFrom({
      "900_counter.sql": "create table if not exists runs (n int); insert into runs values (1); select pg_sleep(0.2);",
    });
    const migrations = [...seed, ...counted];
    const results = await Promise.all(Array.from({ length: 6 }, () => up(db.url, migrations, { lockWaitMs: 60_000 })));
    const appliedCounts = results.map((result) => result.applied.length);
    expect(appliedCounts.reduce((sum, count) => sum + count, 0)).toBe(9);
    expect(results.every((result) => result.plan.pending.length === 0)).toBe(true);
    const [runs] = await db.sql`select count(*)::int as n from runs`;
    expect(runs?.n).toBe(1);
    const [rows] = await db.sql`select count(*)::int as n from schema_migrations`;
    expect(rows?.n).toBe(9);
  });

  test("a runner waiting for the lock names the holder, and gives up after --lock-wait with LOCK_TIMEOUT", async () => {
    const holder = client(db.url);
    try {
      const [session] = await holder`select pg_backend_pid() as pid, pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`;
      const log = recordingLogger();
      const started = Date.now();
      let caught: unknown;
      try {
        await up(db.url, migrationsFrom({ "001_a.sql": "create table a (id int);" }), { lockWaitMs: 700, log });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MigrateError);
      const error = caught as MigrateError;
      expect(error.code).toBe("LOCK_TIMEOUT");
      expect(error.exitCode).toBe(5);
      expect(error.message).toContain(`pid ${session?.pid}`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(650);
      expect(log.lines.some((line) => line.message.includes(`waiting for the migration lock held by pid ${session?.pid}`))).toBe(true);
      const [table] = await db.sql`select to_regclass('a') as t`;
      expect(table?.t).toBeNull();
    } finally {
      await holder.end();
    }
  });

  test("a waiter proceeds once the lock is released and re-reads what the holder applied", async () => {
    await up(db.url, migrationsFrom({ "000_init.sql": "select 1;" }));
    const migrations = migrationsFrom({ "000_init.sql": "select 1;", "001_a.sql": "create table a (id int);" });
    const holder = client(db.url);
    const reserved = await reserveConnection(holder);
    try {
      await reserved`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`;
      const waiting = up(db.url, migrations, { lockWaitMs: 10_000 });
      await Bun.sleep(300);
      // While the waiter waits, the holder applies 001 the way another runner would.
      await reserved.unsafe("create table a (id int)");
      await reserved`insert into schema_migrations (version, name, checksum) values ('001', 'a', ${migrations[1]!.checksum})`;
      await reserved`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`;
      // Had the waiter not re-read under the lock, "create table a" would fail here.
      const result = await waiting;
      expect(result.applied).toEqual([]);
      expect(result.plan.pending).toEqual([]);
    } finally {
      reserved.release();
      await holder.end();
    }
  });
});

describe("lock_timeout against application traffic", () => {
  test("a migration that needs a lock held by a long transaction fails after lock_timeout instead of queueing", async () => {
    await up(db.url, migrationsFrom({ "001_t.sql": "create table t (id int);" }));
    const app = client(db.url);
    const tx = await reserveConnection(app);
    try {
      await tx.unsafe("begin; lock table t in access share mode");
      const started = Date.now();
      let caught: unknown;
      try {
        await up(db.url, migrationsFrom({ "001_t.sql": "create table t (id int);", "002_alter.sql": "alter table t add column note text;" }), {
          lockTimeoutMs: 300,
        });
      } catch (error) {
        caught = error;
      }
      expect((caught as MigrateError).code).toBe("MIGRATION_FAILED");
      expect((caught as MigrateError).message).toContain("SQLSTATE 55P03");
      expect((caught as MigrateError).message).toContain("lock_timeout");
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await tx.unsafe("rollback");
      tx.release();
      await app.end();
    }
    const columns = await db.sql`select column_name from information_schema.columns where table_name = 't'`;
    expect(columns.map((column) => column.column_name)).toEqual(["id"]);
  });
});
