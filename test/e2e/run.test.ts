/**
 * The container flow, with the compiled binary and the example API on real
 * PostgreSQL: st44-migrate run -- node examples/api/server.mjs.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshDatabases } from "../support/database.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { BINARY, runBinary } from "../support/cli.ts";
import { spawnWatched } from "../support/process.ts";
import type { HealthReport } from "../../src/health.ts";

const ROOT = join(import.meta.dir, "../..");
const API = ["node", "examples/api/server.mjs"];
const freshDatabase = freshDatabases("run");

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...extra };
}

async function startApi(env: Record<string, string>, args: string[] = [], argv = [BINARY, "run", ...args, "--", ...API]) {
  const port = await freePort();
  const process = spawnWatched(argv, { env: baseEnv({ PORT: String(port), ...env }), cwd: ROOT });
  return { process, port, url: `http://127.0.0.1:${port}` };
}

async function register(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/api/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

describe("run -- the example API", () => {
  test("empty database: migrates, execs the API in the same process, registration works, health is healthy, SIGTERM stops it with its own code", async () => {
    const db = await freshDatabase();
    const api = await startApi({ DATABASE_URL: db.url, SHUTDOWN_EXIT_CODE: "23" });
    const [, pid] = await api.process.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+ \(pid (\d+)\)/);
    expect(Number(pid)).toBe(api.process.child.pid);
    expect(api.process.stderr()).toContain("applied 016_create_task_completions_table.sql");
    expect(api.process.stderr()).toMatch(/starting node examples\/api\/server\.mjs: st44-migrate \S+ \(\S+\), schema at 016, 8 applied \(8 now\), 0 pending, 0 unknown, \d+ ms/);

    const created = await register(api.url, { email: "Parent@Example.com", password: "correct horse" });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; email: string };
    expect(body.email).toBe("parent@example.com");
    const [membership] = await db.sql`select role from household_members where user_id = ${body.id}`;
    expect(membership?.role).toBe("admin");
    expect((await register(api.url, { email: "parent@example.com", password: "another one" })).status).toBe(409);
    expect((await register(api.url, { email: "not-an-email", password: "long enough" })).status).toBe(400);

    const health = await fetch(`${api.url}/health/database`);
    expect(health.status).toBe(200);
    const report = (await health.json()) as HealthReport;
    expect(report.status).toBe("healthy");
    expect(report.database).toBe("connected");
    expect(report.migrations.applied).toEqual(["000", "001", "011", "012", "013", "014", "015", "016"]);
    expect(report.migrations.latest).toBe("016");
    expect(report.migrations.pending).toEqual([]);
    expect(report.tables).toEqual({ expected: 8, missing: [] });
    expect(JSON.stringify(report)).not.toContain(new URL(db.url).password);

    process.kill(Number(pid), "SIGTERM");
    expect(await api.process.exited).toBe(23);
    expect(api.process.stdout()).toContain(`SIGTERM received (pid ${pid})`);
  });

  test("a second start applies nothing and starts the API", async () => {
    const db = await freshDatabase();
    expect((await runBinary(["up"], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const api = await startApi({ DATABASE_URL: db.url });
    await api.process.waitFor(/listening on/);
    expect(api.process.stderr()).toContain("8 applied (0 now), 0 pending");
    expect(api.process.stderr()).not.toContain("applied 000_");
    api.process.child.kill("SIGTERM");
    expect(await api.process.exited).toBe(0);
  });

  test("a failing migration keeps the API from starting and exits 1; --on-error start starts it anyway, loudly", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-run-"));
    for (const file of ["000_create_migrations_table.sql", "001_create_users_table.sql"]) {
      writeFileSync(join(dir, file), readFileSync(join(ROOT, "migrations", file)));
    }
    writeFileSync(join(dir, "011_broken.sql"), "create table households (id uuid primary key;\n");
    const failed = await startApi({ DATABASE_URL: db.url }, ["--dir", dir]);
    expect(await failed.process.exited).toBe(1);
    expect(failed.process.stdout()).not.toContain("listening");
    expect(failed.process.stderr()).toContain("[MIGRATION_FAILED] Migration 011_broken.sql failed at line 1");

    const forced = await startApi({ DATABASE_URL: db.url }, ["--dir", dir, "--on-error", "start"]);
    await forced.process.waitFor(/listening on/);
    expect(forced.process.stderr()).toContain("ANYWAY (--on-error start): THE DATABASE SCHEMA IS BEHIND");
    // The API's own health check sees what is missing (its build expects all eight).
    const health = await fetch(`${forced.url}/health/database`);
    expect(health.status).toBe(503);
    const report = (await health.json()) as HealthReport;
    expect(report.status).toBe("unhealthy");
    expect(report.migrations.pending).toEqual(["011", "012", "013", "014", "015", "016"]);
    expect(report.tables.missing).toContain("households");
    forced.process.child.kill("SIGTERM");
    await forced.process.exited;
  });

  test("a database ahead of the binary (a deploy rollback) gives degraded and still starts; --on-unknown fail refuses", async () => {
    const db = await freshDatabase();
    expect((await runBinary(["up"], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    await db.sql`insert into schema_migrations (version, name, checksum) values ('017', 'from_a_newer_release', ${"0".repeat(64)})`;
    const api = await startApi({ DATABASE_URL: db.url });
    await api.process.waitFor(/listening on/);
    expect(api.process.stderr()).toContain("does not know: 017 (from_a_newer_release)");
    const health = await fetch(`${api.url}/health/database`);
    expect(health.status).toBe(200);
    const report = (await health.json()) as HealthReport;
    expect(report.status).toBe("degraded");
    expect(report.migrations.unknown).toEqual(["017"]);
    expect(report.migrations.latest).toBe("017");
    expect(report.migrations.expected_latest).toBe("016");
    api.process.child.kill("SIGTERM");
    await api.process.exited;

    const refused = await startApi({ DATABASE_URL: db.url }, ["--on-unknown", "fail"]);
    expect(await refused.process.exited).toBe(4);
    expect(refused.process.stderr()).toContain("[UNKNOWN_MIGRATIONS]");
  });

  test("the spawn fallback forwards SIGTERM and exits with the API's code", async () => {
    const db = await freshDatabase();
    const api = await startApi({ DATABASE_URL: db.url, ST44_EXEC: "spawn", SHUTDOWN_EXIT_CODE: "9" });
    const [, pid] = await api.process.waitFor(/\(pid (\d+)\)/);
    expect(Number(pid)).not.toBe(api.process.child.pid);
    expect(api.process.stderr()).toContain("starting node as a child process and forwarding signals");
    api.process.child.kill("SIGTERM");
    expect(await api.process.exited).toBe(9);
  });

  test("run without a command, or with one that does not exist, is refused before anything is migrated", async () => {
    const db = await freshDatabase();
    const none = await runBinary(["run"], { env: { DATABASE_URL: db.url } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('run needs the command to start after "--"');
    const missing = await runBinary(["run", "--", "no-such-server-binary"], { env: { DATABASE_URL: db.url } });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("not found on PATH");
    const [table] = await db.sql`select to_regclass('schema_migrations') as t`;
    expect(table?.t).toBeNull();
  });
});

describe("the Dockerfile", () => {
  test("its ENTRYPOINT and CMD, run as written with the compiled binary, migrate and start the API", async () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const entrypoint = JSON.parse(/^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1] ?? "null") as string[];
    const cmd = JSON.parse(/^CMD\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1] ?? "null") as string[];
    const healthcheck = /^HEALTHCHECK .* CMD\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
    expect(entrypoint).toEqual(["st44-migrate", "run", "--"]);
    expect(cmd[0]).toBe("node");
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain("bun-linux-x64-musl");
    // The image puts the binary on PATH as st44-migrate; here it is dist/st44-migrate.
    const argv = [...entrypoint, ...cmd].map((part) => (part === "st44-migrate" ? BINARY : part));
    const db = await freshDatabase();
    const api = await startApi({ DATABASE_URL: db.url, LOG_FORMAT: "json" }, [], argv);
    const [, pid] = await api.process.waitFor(/\(pid (\d+)\)/);
    expect(Number(pid)).toBe(api.process.child.pid);
    const startup = api.process
      .stderr()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .find((line) => line.event === "startup");
    expect(startup).toMatchObject({ applied: 8, applied_now: 8, latest: "016", pending: 0, migrated: true });

    const healthArgv = (JSON.parse(healthcheck ?? "[]") as string[]).map((part) => (part === "st44-migrate" ? BINARY : part));
    const probe = spawnWatched(healthArgv, { env: baseEnv({ DATABASE_URL: db.url }) });
    expect(await probe.exited).toBe(0);
    expect(JSON.parse(probe.stdout()).status).toBe("healthy");
    api.process.child.kill("SIGTERM");
    expect(await api.process.exited).toBe(0);
  });
});

describe("health when the database is down", () => {
  test("a closed port: st44-migrate health exits 1 with an unhealthy document, quickly", async () => {
    const port = await freePort();
    const result = await runBinary(["health", "--url", `postgres://u:pw-never-shown@127.0.0.1:${port}/x`]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.status).toBe("unhealthy");
    expect(report.database).toBe("unreachable");
    // Not read: unknown, never "nothing pending".
    expect(report.migrations.pending).toBeNull();
    expect(report.tables.missing).toBeNull();
    expect(result.output).not.toContain("pw-never-shown");
    expect(result.ms).toBeLessThan(5000);
  });

  test("a wrong password: the document says auth_failed (not unreachable), exit 1, the password nowhere", async () => {
    const db = await freshDatabase();
    const url = new URL(db.url);
    url.password = "Wrong-Secret-42";
    const result = await runBinary(["health", "--url", url.toString()]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as HealthReport;
    expect(report).toMatchObject({ status: "unhealthy", database: "auth_failed", migrations: { pending: null }, tables: { missing: null } });
    expect(result.output).not.toContain("Wrong-Secret-42");
  });

  test("a server that accepts but never answers: 503 within the time bound", async () => {
    const sockets: import("node:net").Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = performance.now();
      const result = await runBinary(["health", "--timeout", "1", "--url", `postgres://u:pw@127.0.0.1:${port}/x?sslmode=disable`]);
      const elapsed = performance.now() - started;
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout);
      expect(report.database).toBe("timeout");
      expect(report.reasons).toEqual(["the database did not answer within 1000 ms"]);
      expect(elapsed).toBeLessThan(4000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe("a SIGTERM as the last migration finishes", () => {
  // The migration swallows the cancel the SIGTERM sends (a PL/pgSQL handler) and commits: deterministically,
  // the signal arrives and the last migration still finishes, the window in which run used to exec the app.
  for (const onError of ["fail", "start"]) {
    test(`ends the run with 143 and never starts the command (--on-error ${onError})`, async () => {
      const db = await freshDatabase();
      const dir = mkdtempSync(join(tmpdir(), "st44-late-term-"));
      writeFileSync(
        join(dir, "001_swallows_cancel.sql"),
        "create table late (id int);\ndo $$ begin perform pg_sleep(3); exception when query_canceled then null; end $$;\n",
      );
      const victim = spawnWatched([BINARY, "run", "--dir", dir, "--on-error", onError, "--", "sh", "-c", "echo STARTED"], {
        env: baseEnv({ DATABASE_URL: db.url }),
      });
      for (let tries = 0; ; tries++) {
        const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(3)%' and state = 'active' and pid <> pg_backend_pid()`;
        if ((row?.n ?? 0) > 0) break;
        if (tries > 300) throw new Error(`the migration never ran:\n${victim.stderr()}`);
        await Bun.sleep(50);
      }
      victim.child.kill("SIGTERM");
      expect(await victim.exited).toBe(143);
      expect(victim.stdout()).not.toContain("STARTED");
      expect(victim.stderr()).toContain("[INTERRUPTED]");
      // The migration finished before the signal could stop it: it stays applied and recorded.
      expect([...(await db.sql`select version from schema_migrations`)]).toEqual([{ version: "001" }]);
    });
  }
});

describe("run passes the command and the environment on byte for byte (12.29)", () => {
  test("argument and variable bytes that are not UTF-8 reach the application unchanged, not as U+FFFD", async () => {
    const db = await freshDatabase();
    // A shell makes the bytes (the test runner's own argv and env are strings): \377\376 in an argument, \377 in a variable.
    const script = `X="$(printf 'a\\377b')" exec "$0" run -- /bin/sh -c 'printf %s "$1" | od -An -tx1; printf %s "$X" | od -An -tx1' sh "$(printf '\\377\\376')"`;
    const result = await runBinary(["-c", script, BINARY], { binary: "/bin/sh", env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n").map((line) => line.trim());
    expect(lines).toEqual(["ff fe", "61 ff 62"]);
  });
});

describe("--on-error start with the database down", () => {
  test("says the schema is unknown, not behind (17.27)", async () => {
    const port = await freePort();
    const result = await runBinary(["run", "--on-error", "start", "--wait", "0", "--", "/bin/sh", "-c", "echo STARTED"], {
      env: { DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/x?sslmode=disable` },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("STARTED");
    expect(result.stderr).toContain("THE DATABASE COULD NOT BE REACHED, SO ITS SCHEMA IS UNKNOWN");
    expect(result.stderr).not.toContain("SCHEMA IS BEHIND");
  });
});
