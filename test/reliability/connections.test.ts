/**
 * Connections that are not what they seem, with the compiled binary against
 * real PostgreSQL: PgBouncer reaching PostgreSQL over a Unix socket or on
 * the same port number, a plain TCP forwarder, a proxy that stalls, a
 * backend terminated while its runner waits for the lock, a role's
 * connection limit, a read-only database.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATION_LOCK_KEY } from "../../src/db/lock.ts";
import { BINARY, runBinary } from "../support/cli.ts";
import { type TestSql, client, freshDatabases, reserveConnection } from "../support/database.ts";
import { type EmbeddedServer, startEmbeddedPostgres } from "../support/embedded-postgres.ts";
import { startPgBouncer } from "../support/pgbouncer.ts";
import { spawnWatched } from "../support/process.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";

const freshDatabase = freshDatabases("conn");
const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1", ...extra });

function withPort(url: string, port: number, host = "127.0.0.1"): string {
  const next = new URL(url);
  next.hostname = host;
  next.port = String(port);
  next.searchParams.set("sslmode", "disable");
  return next.toString();
}

async function advisoryLocks(sql: TestSql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
  return row?.n ?? 0;
}

/** A directory with one transactional and one transaction:false migration. */
function concurrentIndexDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "st44-conn-"));
  writeFileSync(join(dir, "001_t.sql"), "create table ct (id int);\n");
  writeFileSync(join(dir, "002_idx.sql"), "-- migrate:up transaction:false\ncreate index concurrently ct_id on ct (id);\n");
  return dir;
}

describe("PgBouncer that reaches PostgreSQL over a Unix socket (inet_server_port() is NULL)", () => {
  let server: EmbeddedServer;
  let socketDir: string;
  beforeAll(async () => {
    socketDir = mkdtempSync(join(tmpdir(), "st44-sock-"));
    chmodSync(socketDir, 0o777);
    server = await startEmbeddedPostgres({ password: "unix-sock-pw", postgresFlags: ["-c", `unix_socket_directories=${socketDir}`] });
  });
  afterAll(async () => {
    await server.stop();
  });

  test("16 concurrent run: all succeed, each migration applied once, no advisory lock left on the pooled server connections", async () => {
    const admin = client(server.url);
    const bouncer = await startPgBouncer(new URL(server.url), { serverSocketDir: socketDir });
    try {
      await admin`create database crowd`;
      const url = withPort(server.url.replace(/\/postgres$/, "/crowd"), bouncer.port);
      const results = await Promise.all(
        Array.from({ length: 16 }, () => runBinary(["run", "--lock-wait", "60", "--", "true"], { env: { DATABASE_URL: url }, timeoutMs: 90_000 })),
      );
      expect(results.map((result) => result.code)).toEqual(Array(16).fill(0));
      // A runner that starts after the others applied everything has nothing to lock, so it never probes the pooler.
      expect(results.some((result) => result.stderr.includes("a connection pooler"))).toBe(true);
      const crowd = client(server.url.replace(/\/postgres$/, "/crowd"));
      try {
        const [rows] = await crowd`select count(*)::int as n, count(distinct version)::int as d from schema_migrations`;
        expect(rows).toEqual({ n: 8, d: 8 });
        // PgBouncer keeps its server connections open: a session lock taken through one would still be held.
        expect(await advisoryLocks(crowd)).toBe(0);
      } finally {
        await crowd.end();
      }
      // And the next deploy is not blocked by anything left behind.
      const next = await runBinary(["up", "--lock-wait", "2"], { env: { DATABASE_URL: url } });
      expect(next.code).toBe(0);
    } finally {
      await bouncer.stop();
      await admin.end();
    }
  }, 120_000);

  test("PgBouncer on the same port number as PostgreSQL (another loopback address) is still seen as a pooler", async () => {
    const admin = client(server.url);
    await admin`create database sameport`;
    await admin.end();
    const bouncer = await startPgBouncer(new URL(server.url), { listenAddr: "127.0.0.2", listenPort: server.port });
    try {
      const url = withPort(server.url.replace(/\/postgres$/, "/sameport"), server.port, "127.0.0.2");
      const result = await runBinary(["up", "--dir", concurrentIndexDir()], { env: { DATABASE_URL: url } });
      expect(result.stderr).toContain("a connection pooler");
      expect(result.code).toBe(4);
      expect(result.stderr).toContain("[LOCK_MODE_UNSUPPORTED]");
    } finally {
      await bouncer.stop();
    }
  });
});

describe("a plain TCP forwarder (a Docker port mapping, an SSH tunnel)", () => {
  test("is a direct connection: the session lock is used and transaction:false migrations run", async () => {
    const db = await freshDatabase();
    const target = new URL(db.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    try {
      const result = await runBinary(["up", "--dir", concurrentIndexDir()], { env: { DATABASE_URL: withPort(db.url, proxy.port) } });
      expect(result.stderr).not.toContain("pooler");
      expect(result.code).toBe(0);
      const versions = await db.sql`select version from schema_migrations order by version`;
      expect(versions.map((row) => row.version)).toEqual(["001", "002"]);
      expect(await advisoryLocks(db.sql)).toBe(0);
    } finally {
      await proxy.stop();
    }
  });
});

describe("a connection that stalls while the runner waits for the lock (a hung proxy)", () => {
  async function stalledWaiter(extraArgs: string[]) {
    const db = await freshDatabase();
    const target = new URL(db.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    const holder = await reserveConnection(db.sql);
    await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`;
    const waiter = spawnWatched([BINARY, "up", ...extraArgs], { env: env({ DATABASE_URL: withPort(db.url, proxy.port) }) });
    await waiter.waitFor(/waiting for the migration lock/, 20_000);
    proxy.stall();
    const stalledAt = Date.now();
    return {
      waiter,
      stalledAt,
      async cleanUp() {
        if (waiter.child.exitCode === null) waiter.child.kill("SIGKILL");
        await holder`select pg_advisory_unlock_all()`;
        holder.release();
        await proxy.stop();
      },
    };
  }

  test("--lock-wait 3 ends within about 3 s with a clear stalled-connection error", async () => {
    const started = Date.now();
    const { waiter, cleanUp } = await stalledWaiter(["--lock-wait", "3"]);
    try {
      const code = await Promise.race([waiter.exited, Bun.sleep(15_000).then(() => "still running")]);
      const took = Date.now() - started;
      console.log(`stalled lock wait with --lock-wait 3: exit ${code} after ${took} ms`);
      expect(code).toBe(3);
      expect(took).toBeLessThan(5000);
      expect(waiter.stderr()).toContain("[DB_UNREACHABLE]");
      expect(waiter.stderr()).toContain("stopped answering");
      expect(waiter.stderr()).not.toContain("[INTERNAL]");
    } finally {
      await cleanUp();
    }
  });

  test("SIGTERM ends it within about 2 s although the cancel request cannot get through", async () => {
    const { waiter, cleanUp } = await stalledWaiter(["--lock-wait", "60"]);
    try {
      await Bun.sleep(500);
      const signalled = Date.now();
      waiter.child.kill("SIGTERM");
      const code = await Promise.race([waiter.exited, Bun.sleep(15_000).then(() => "still running")]);
      const took = Date.now() - signalled;
      console.log(`SIGTERM on a stalled lock wait: exit ${code} after ${took} ms`);
      expect(code).toBe(143);
      expect(took).toBeLessThan(2500);
    } finally {
      await cleanUp();
    }
  });
});

describe("SIGTERM while the connection does not answer", () => {
  test("mid-migration through a stalled proxy: the cancel request cannot get through, the process still exits 143 within about 2 s", async () => {
    const db = await freshDatabase();
    const target = new URL(db.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    const dir = mkdtempSync(join(tmpdir(), "st44-stall-"));
    writeFileSync(join(dir, "001_slow.sql"), "create table stall_result (id int);\nselect pg_sleep(30);\n");
    const victim = spawnWatched([BINARY, "up", "--dir", dir], { env: env({ DATABASE_URL: withPort(db.url, proxy.port) }) });
    try {
      for (let tries = 0; ; tries++) {
        const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`;
        if ((row?.n ?? 0) > 0) break;
        if (tries > 300) throw new Error(`the migration never started:\n${victim.stderr()}`);
        await Bun.sleep(50);
      }
      proxy.stall();
      const signalled = Date.now();
      victim.child.kill("SIGTERM");
      const code = await Promise.race([victim.exited, Bun.sleep(15_000).then(() => "still running")]);
      const took = Date.now() - signalled;
      console.log(`SIGTERM mid-migration through a stalled proxy: exit ${code} after ${took} ms`);
      expect(code).toBe(143);
      expect(took).toBeLessThan(3000);
      expect(victim.stderr()).toContain("the cancellation did not complete");
    } finally {
      if (victim.child.exitCode === null) victim.child.kill("SIGKILL");
      await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`;
      await proxy.stop();
    }
  });
});

describe("a runner waiting for the lock loses its connection", () => {
  test("pg_terminate_backend of the waiter: a clean DB_UNREACHABLE, never INTERNAL", async () => {
    const db = await freshDatabase();
    const holder = await reserveConnection(db.sql);
    await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`;
    const url = new URL(db.url);
    url.searchParams.set("application_name", "st44-waiter");
    const waiter = spawnWatched([BINARY, "up", "--lock-wait", "30", "--wait", "0"], { env: env({ DATABASE_URL: url.toString() }) });
    try {
      await waiter.waitFor(/waiting for the migration lock/, 20_000);
      await Bun.sleep(300);
      await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'st44-waiter'`;
      const code = await Promise.race([waiter.exited, Bun.sleep(15_000).then(() => "still running")]);
      expect(waiter.stderr()).not.toContain("[INTERNAL]");
      expect(waiter.stderr()).not.toContain("TypeError");
      expect(waiter.stderr()).toContain("[DB_UNREACHABLE]");
      expect(waiter.stderr()).toContain("lost while waiting for the migration lock");
      expect(code).toBe(3);
      const [table] = await db.sql`select to_regclass('schema_migrations') as t`;
      expect(table?.t).toBeNull();
    } finally {
      if (waiter.child.exitCode === null) waiter.child.kill("SIGKILL");
      await holder`select pg_advisory_unlock_all()`;
      holder.release();
    }
  });
});

describe("too many connections (SQLSTATE 53300)", () => {
  test("16 runners against a role limited to 12 connections: all retry within --wait and succeed", async () => {
    const db = await freshDatabase();
    const role = `limited_${db.name}`;
    await db.sql.unsafe(`create role ${role} login password 'Limited-pw-53300' connection limit 12`);
    await db.sql.unsafe(`grant all on schema public to ${role}; grant create on database ${db.name} to ${role}`);
    await db.sql.unsafe(`alter database ${db.name} owner to ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = "Limited-pw-53300";
    // Slow enough that the first runners still hold their connections while the last ones try to log in.
    const dir = mkdtempSync(join(tmpdir(), "st44-limit-"));
    writeFileSync(join(dir, "001_slow.sql"), "create table limited (id int);\nselect pg_sleep(1);\n");
    const results = await Promise.all(
      Array.from({ length: 16 }, () => runBinary(["up", "--dir", dir, "--wait", "60"], { env: { DATABASE_URL: url.toString() }, timeoutMs: 90_000 })),
    );
    const failures = results.filter((result) => result.code !== 0).map((result) => result.stderr.slice(-400));
    expect(failures).toEqual([]);
    expect(results.some((result) => result.stderr.includes("too many connections"))).toBe(true);
    const [rows] = await db.sql`select count(*)::int as n from schema_migrations`;
    expect(rows?.n).toBe(1);
  }, 120_000);
});

describe("a read-only database or hot standby", () => {
  test("default_transaction_read_only = on: DB_READ_ONLY (exit 3) saying so, nothing created", async () => {
    const db = await freshDatabase();
    await db.sql.unsafe(`alter database ${db.name} set default_transaction_read_only = on`);
    const result = await runBinary(["up"], { env: { DATABASE_URL: db.url } });
    expect(result.stderr).not.toContain("[INTERNAL]");
    expect(result.stderr).toContain("[DB_READ_ONLY]");
    expect(result.stderr).toContain("read-only");
    expect(result.stderr).toContain("target_session_attrs=read-write");
    expect(result.code).toBe(3);
    const fresh = client(db.url);
    try {
      const [table] = await fresh`select to_regclass('schema_migrations') as t`;
      expect(table?.t).toBeNull();
    } finally {
      await fresh.end();
    }
  });
});
