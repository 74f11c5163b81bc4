/**
 * Faults the migrator meets on container starts, each against real
 * PostgreSQL with the compiled binary: a crowd, a kill, a late or vanishing
 * server, a lock held by the application, SIGTERM, a pooler.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATION_LOCK_KEY } from "../../src/db/lock.ts";
import { BINARY, runBinary } from "../support/cli.ts";
import { type TestDatabase, client, freshDatabases, reserveConnection, tablesOf } from "../support/database.ts";
import { freePort, startEmbeddedPostgres } from "../support/embedded-postgres.ts";
import { startPgBouncer } from "../support/pgbouncer.ts";
import { spawnWatched } from "../support/process.ts";

const freshDatabase = freshDatabases("fault");

const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1", ...extra });

/** A migration that is slow while the table slow_flag exists, and instant otherwise. */
function slowMigrationDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "st44-slow-"));
  writeFileSync(join(dir, "001_first.sql"), "create table first (id int);\n");
  writeFileSync(
    join(dir, "002_slow.sql"),
    "create table slow_result (id int);\nselect pg_sleep(case when to_regclass('slow_flag') is not null then 30 else 0 end);\n",
  );
  return dir;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
  return Date.now() - started;
}

async function migrationLockHeld(db: TestDatabase): Promise<boolean> {
  const [row] = await db.sql`
    select count(*)::int as n from pg_locks where locktype = 'advisory' and granted
      and ((classid::bigint << 32) | objid::bigint) = ${MIGRATION_LOCK_KEY}::bigint
      and database = (select oid from pg_database where datname = current_database())`;
  return (row?.n ?? 0) > 0;
}

async function sleeping(db: TestDatabase): Promise<{ pid: number } | undefined> {
  const [row] = await db.sql<{ pid: number }[]>`
    select pid from pg_stat_activity where datname = current_database() and query like '%pg_sleep(case%' and state = 'active' and pid <> pg_backend_pid()`;
  return row;
}

describe("a crowd at start", () => {
  test("16 processes on an empty database: all exit 0, each migration applied once", async () => {
    const single = await freshDatabase();
    const one = await runBinary(["up"], { env: { DATABASE_URL: single.url } });
    expect(one.code).toBe(0);

    const db = await freshDatabase();
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 16 }, () => runBinary(["up", "--log-format", "json"], { env: { DATABASE_URL: db.url }, timeoutMs: 60_000 })));
    const crowdMs = performance.now() - started;
    expect(results.map((result) => result.code)).toEqual(Array(16).fill(0));
    const appliedLines = results.flatMap((result) => result.stderr.split("\n").filter((line) => line.includes('"event":"migration_applied"')));
    expect(appliedLines).toHaveLength(8);
    const [rows] = await db.sql`select count(*)::int as n, count(distinct version)::int as d from schema_migrations`;
    expect(rows).toEqual({ n: 8, d: 8 });
    console.log(`crowd of 16: ${Math.round(crowdMs)} ms; one run: ${Math.round(one.ms)} ms`);
    // 16 process starts share 2 cores; the database work happens once.
    expect(crowdMs).toBeLessThan(one.ms + 8000);
  });
});

describe("killed or stopped mid-migration", () => {
  test("SIGKILL: nothing of the migration stays, the lock goes with the session, the next start applies it", async () => {
    const db = await freshDatabase();
    const dir = slowMigrationDir();
    await db.sql`create table slow_flag (id int)`;
    const victim = spawnWatched([BINARY, "up", "--dir", dir], { env: env({ DATABASE_URL: db.url }) });
    await waitUntil(async () => (await sleeping(db)) !== undefined, 15_000, "the slow statement");
    victim.child.kill("SIGKILL");
    await victim.exited;
    // client_connection_check_interval (1 s) lets the server notice the dead client during pg_sleep.
    const released = await waitUntil(async () => !(await migrationLockHeld(db)) && (await sleeping(db)) === undefined, 10_000, "the server to end the session");
    console.log(`SIGKILL: lock and transaction gone ${released} ms after the kill`);
    expect(released).toBeLessThan(5000);
    expect(await tablesOf(db.sql)).toEqual(["first", "schema_migrations", "slow_flag"]);
    await db.sql`drop table slow_flag`;
    const next = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(next.code).toBe(0);
    expect(await tablesOf(db.sql)).toContain("slow_result");
  });

  test("12.10: SIGKILL during a transaction:false statement: the statement and the lock go within seconds", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-slow-nt-"));
    writeFileSync(join(dir, "001_slow.sql"), "-- migrate:up transaction:false\nselect pg_sleep(20);\n");
    const victim = spawnWatched([BINARY, "up", "--dir", dir], { env: env({ DATABASE_URL: db.url }) });
    const slow = async () =>
      ((await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(20)%' and state = 'active' and pid <> pg_backend_pid()`)[0]?.n ?? 0) > 0;
    await waitUntil(slow, 15_000, "the slow statement");
    victim.child.kill("SIGKILL");
    await victim.exited;
    const released = await waitUntil(async () => !(await migrationLockHeld(db)) && !(await slow()), 15_000, "the server to end the session");
    console.log(`SIGKILL during transaction:false: lock and statement gone ${released} ms after the kill`);
    expect(released).toBeLessThan(5000);
    expect([...(await db.sql`select version from schema_migrations`)]).toEqual([]);
  });

  test("SIGTERM: the statement is cancelled and rolled back, the lock released, exit 143", async () => {
    const db = await freshDatabase();
    const dir = slowMigrationDir();
    await db.sql`create table slow_flag (id int)`;
    const victim = spawnWatched([BINARY, "up", "--dir", dir], { env: env({ DATABASE_URL: db.url }) });
    await waitUntil(async () => (await sleeping(db)) !== undefined, 15_000, "the slow statement");
    const signalled = Date.now();
    victim.child.kill("SIGTERM");
    expect(await victim.exited).toBe(143);
    console.log(`SIGTERM: exited 143 ${Date.now() - signalled} ms after the signal`);
    expect(Date.now() - signalled).toBeLessThan(5000);
    expect(victim.stderr()).toContain("SIGTERM received: cancelling the migration in progress");
    expect(victim.stderr()).toContain("[INTERRUPTED]");
    expect(await migrationLockHeld(db)).toBe(false);
    expect(await tablesOf(db.sql)).toEqual(["first", "schema_migrations", "slow_flag"]);
    await db.sql`drop table slow_flag`;
    expect((await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
  });

  test("the server terminates the connection mid-migration: rolled back, reported, the next run succeeds", async () => {
    const db = await freshDatabase();
    const dir = slowMigrationDir();
    await db.sql`create table slow_flag (id int)`;
    const victim = spawnWatched([BINARY, "up", "--dir", dir], { env: env({ DATABASE_URL: db.url }) });
    const target = await (async () => {
      await waitUntil(async () => (await sleeping(db)) !== undefined, 15_000, "the slow statement");
      return (await sleeping(db))!;
    })();
    await db.sql`select pg_terminate_backend(${target.pid}::int)`;
    expect(await victim.exited).toBe(1);
    expect(victim.stderr()).toContain("[MIGRATION_FAILED] Migration 002_slow.sql failed");
    expect(victim.stderr()).toContain("The connection to the database was lost");
    expect(await tablesOf(db.sql)).toEqual(["first", "schema_migrations", "slow_flag"]);
    await db.sql`drop table slow_flag`;
    expect((await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
  });
});

describe("a database that goes away", () => {
  test("the server shuts down mid-migration: the run ends promptly with a connection error instead of hanging or spinning", async () => {
    const server = await startEmbeddedPostgres({ password: "gone-pw" });
    let stopped = false;
    try {
      const url = server.url.replace(/\/postgres$/, "/postgres?sslmode=disable");
      const admin = client(url);
      await admin`create table slow_flag (id int)`;
      const victim = spawnWatched([BINARY, "up", "--dir", slowMigrationDir(), "--wait", "0"], { env: env({ DATABASE_URL: url }) });
      await waitUntil(
        async () => (await admin`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(case%' and pid <> pg_backend_pid()`)[0]?.n === 1,
        15_000,
        "the slow statement",
      );
      await admin.end({ timeout: 1 });
      const shutdown = Date.now();
      await server.stop();
      stopped = true;
      const code = await Promise.race([victim.exited, Bun.sleep(15_000).then(() => "still running")]);
      if (code === "still running") victim.child.kill("SIGKILL");
      expect(code).toBe(1);
      expect(Date.now() - shutdown).toBeLessThan(15_000);
      expect(victim.stderr()).toContain("[MIGRATION_FAILED] Migration 002_slow.sql failed");
      expect(victim.stderr()).toContain("The connection to the database was lost");
    } finally {
      if (!stopped) await server.stop();
    }
  });
});

describe("a database that is late", () => {
  test("the server starts 5 s after the migrator: it waits, retrying, and succeeds", async () => {
    const port = await freePort();
    const url = `postgres://postgres:late-pw@127.0.0.1:${port}/postgres?sslmode=disable`;
    const migrator = spawnWatched([BINARY, "up", "--wait", "60"], { env: env({ DATABASE_URL: url }) });
    await Bun.sleep(5000);
    expect(migrator.child.exitCode).toBeNull();
    const server = await startEmbeddedPostgres({ password: "late-pw", port });
    try {
      expect(await migrator.exited).toBe(0);
      expect(migrator.stderr()).toContain("not ready");
      expect(migrator.stderr()).toContain("applied 8 migration(s)");
    } finally {
      await server.stop();
    }
  });
});

describe("lock contention with the application", () => {
  test("a long transaction holding a table lock: the migration fails after lock_timeout naming the blocker; with --lock-retries it succeeds once the lock goes", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-contend-"));
    writeFileSync(join(dir, "001_t.sql"), "create table t (id int);\n");
    expect((await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    writeFileSync(join(dir, "002_alter.sql"), "alter table t add column note text;\n");

    const appUrl = new URL(db.url);
    appUrl.searchParams.set("application_name", "st44-api");
    const app = client(appUrl.toString());
    const tx = await reserveConnection(app);
    const [{ pid } = { pid: 0 }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
    await tx.unsafe("begin; select * from t; ");
    try {
      const failed = await runBinary(["up", "--dir", dir, "--lock-timeout", "1"], { env: { DATABASE_URL: db.url } });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("SQLSTATE 55P03");
      expect(failed.stderr).toContain(`blocked by: pid ${pid} (application "st44-api", idle in transaction`);
      const retrying = spawnWatched([BINARY, "up", "--dir", dir, "--lock-timeout", "0.5", "--lock-retries", "3"], { env: env({ DATABASE_URL: db.url }) });
      await retrying.waitFor(/trying again in 1 s/, 15_000);
      await tx.unsafe("commit");
      expect(await retrying.exited).toBe(0);
      expect(retrying.stderr()).toContain("applied 002_alter.sql");
    } finally {
      await tx.unsafe("rollback").catch(() => {});
      tx.release();
      await app.end();
    }
  });
});

describe("behind PgBouncer in transaction pooling mode", () => {
  test("detected: each migration takes a transaction-level lock, four runners apply each migration exactly once", async () => {
    const db = await freshDatabase();
    const bouncer = await startPgBouncer(new URL(process.env.TEST_DATABASE_URL!));
    try {
      const url = new URL(db.url);
      url.port = String(bouncer.port);
      url.searchParams.set("sslmode", "disable");
      const results = await Promise.all(Array.from({ length: 4 }, () => runBinary(["up"], { env: { DATABASE_URL: url.toString() } })));
      expect(results.map((result) => result.code)).toEqual([0, 0, 0, 0]);
      // A runner that starts after the others applied everything has nothing to lock, so it never probes the pooler.
      expect(results.some((result) => result.stderr.includes("a connection pooler (PgBouncer?) is in between"))).toBe(true);
      const [rows] = await db.sql`select count(*)::int as n from schema_migrations`;
      expect(rows?.n).toBe(8);
      const appliedCount = results.reduce((sum, result) => sum + (result.stderr.match(/applied \d{3}_/g)?.length ?? 0), 0);
      expect(appliedCount).toBe(8);
      // PgBouncer keeps its server connections open: a session lock taken through it would still be held here.
      const [locks] = await db.sql`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
      expect(locks?.n).toBe(0);

      // A transaction:false migration needs a session lock: refused with advice, nothing applied.
      const dir = mkdtempSync(join(tmpdir(), "st44-bouncer-dir-"));
      writeFileSync(join(dir, "001_t.sql"), "create table bt (id int);\n");
      writeFileSync(join(dir, "002_idx.sql"), "-- migrate:up transaction:false\ncreate index concurrently bt_id on bt (id);\n");
      const other = await freshDatabase();
      const otherUrl = new URL(other.url);
      otherUrl.port = String(bouncer.port);
      otherUrl.searchParams.set("sslmode", "disable");
      const refused = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: otherUrl.toString() } });
      expect(refused.code).toBe(4);
      expect(refused.stderr).toContain("[LOCK_MODE_UNSUPPORTED]");
      expect(refused.stderr).toContain("Run st44-migrate against PostgreSQL directly");
      const versions = await other.sql`select version from schema_migrations`;
      expect(versions.map((row) => row.version)).toEqual(["001"]);
      // The health check works through the pooler too.
      const health = await runBinary(["health"], { env: { DATABASE_URL: url.toString() } });
      expect(health.code).toBe(0);
    } finally {
      await bouncer.stop();
    }
  });
});
