/**
 * The same src/ under Deno 2 (the `deno` npm devDependency): `deno run
 * src/bin.ts` applies, reports and checks migrations against real PostgreSQL,
 * from the generated embedded module and from --dir, and `run` replaces the
 * Deno process with the application through Deno.dlopen + execve (the PID is
 * kept). Each command gets only the permissions docs/deployment.md
 * ("Running under Deno") lists for it, so this test also proves that list is
 * enough.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestDatabase, createTestDatabase, tablesOf } from "../support/database.ts";

const ROOT = join(import.meta.dir, "../..");
const DENO = join(ROOT, "node_modules/.bin/deno");
const SEED_VERSIONS = ["000", "001", "011", "012", "013", "014", "015", "016"];

/** The permission sets of docs/deployment.md, "Running under Deno". */
function permissions(databaseUrl: string) {
  const { hostname, port } = new URL(databaseUrl);
  const net = `--allow-net=${hostname}:${port || "5432"}`;
  return {
    /** up, status, health with the embedded migrations: the database, the environment, the host name for application_name. */
    database: [net, "--allow-env", "--allow-sys=hostname"],
    /** the same with --dir: read access to that directory only. */
    directory: (dir: string) => [net, "--allow-env", "--allow-sys=hostname", `--allow-read=${dir}`],
    /** run: PATH lookup (read, uid for the executable bit) and execve through Deno.dlopen (ffi). */
    run: [net, "--allow-env", "--allow-sys=hostname,uid", "--allow-read", "--allow-ffi"],
  };
}

interface DenoResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly pid: number;
}

/** `deno run [permissions] src/bin.ts ARGS` as a separate process, offline, never prompting. */
async function deno(allow: readonly string[], args: readonly string[], env: Record<string, string>): Promise<DenoResult> {
  const child = Bun.spawn([DENO, "run", "--no-prompt", "--cached-only", ...allow, "src/bin.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr, pid: child.pid };
}

const show = (result: DenoResult) => `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;

const databases: TestDatabase[] = [];
let scratch = "";
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "st44-deno-"));
});
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase("deno");
  databases.push(database);
  return database;
}

describe("under Deno", () => {
  test("the deno binary from the npm package is there", () => {
    expect(existsSync(DENO)).toBe(true);
  });

  test("--version and version --json report the package version (commit dev: not a compiled build)", async () => {
    const packageVersion = (await Bun.file(join(ROOT, "package.json")).json()).version as string;
    const plain = await deno(["--allow-env"], ["--version"], {});
    expect(plain.code, show(plain)).toBe(0);
    expect(plain.stdout.trim()).toBe(packageVersion);
    const json = await deno(["--allow-env"], ["version", "--json"], {});
    expect(json.code, show(json)).toBe(0);
    const document = JSON.parse(json.stdout) as { version: string; commit: string; migrations: { count: number; latest: string } };
    expect(document.version).toBe(packageVersion);
    expect(document.commit).toBe("dev");
    expect(document.migrations).toMatchObject({ count: SEED_VERSIONS.length, latest: "016" });
  });

  test("embedded migrations: status (pending), up, up again (nothing to do), status --json, health", async () => {
    const db = await freshDatabase();
    const allow = permissions(db.url).database;
    const env = { DATABASE_URL: db.url };

    const before = await deno(allow, ["status", "--json"], env);
    expect(before.code, show(before)).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ applied: [], pending: SEED_VERSIONS, latest: null, expected_latest: "016" });

    const up = await deno(allow, ["up"], env);
    expect(up.code, show(up)).toBe(0);
    expect(up.stderr).toContain("applied 016_create_task_completions_table.sql");
    expect(up.stderr).toContain("applied 8 migration(s)");
    const rows = await db.sql<{ version: string; checksum: string | null }[]>`select version, checksum from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(SEED_VERSIONS);
    expect(rows.every((row) => row.checksum !== null && /^[0-9a-f]{64}$/.test(row.checksum))).toBe(true);
    expect(await tablesOf(db.sql)).toContain("users");

    const again = await deno(allow, ["up"], env);
    expect(again.code, show(again)).toBe(0);
    expect(again.stderr).toContain("nothing to do: 8 migrations applied, latest 016");

    const status = await deno(allow, ["status", "--json", "--exit-code"], env);
    expect(status.code, show(status)).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ applied: SEED_VERSIONS, pending: [], latest: "016", expected_latest: "016", changed: [], unknown: [] });

    const health = await deno(allow, ["health"], env);
    expect(health.code, show(health)).toBe(0);
    const report = JSON.parse(health.stdout) as { status: string; database: string; migrations: { latest: string; pending: string[] }; tables: unknown };
    expect(report).toMatchObject({ status: "healthy", database: "connected", migrations: { latest: "016", pending: [] }, tables: { expected: 8, missing: [] } });
    expect(health.stdout + health.stderr).not.toContain(new URL(db.url).password);
  });

  test("--dir: up, status --json and health use the files on disk (read access to that directory only)", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(scratch, "migrations-"));
    writeFileSync(join(dir, "001_create_alpha.sql"), "-- migrate:up\ncreate table alpha (id int primary key);\n\n-- migrate:down\ndrop table alpha;\n");
    writeFileSync(join(dir, "002_create_beta.sql"), "create table beta (id int primary key, alpha_id int references alpha (id));\n");
    const allow = permissions(db.url).directory(dir);
    const env = { DATABASE_URL: db.url };

    const up = await deno(allow, ["up", "--dir", dir], env);
    expect(up.code, show(up)).toBe(0);
    expect(await tablesOf(db.sql)).toEqual(["alpha", "beta", "schema_migrations"]);

    const status = await deno(allow, ["status", "--json", "--dir", dir], env);
    expect(status.code, show(status)).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ applied: ["001", "002"], pending: [], latest: "002", expected_latest: "002" });

    const health = await deno(allow, ["health", "--dir", dir], env);
    expect(health.code, show(health)).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ status: "healthy", migrations: { latest: "002" } });

    // Against the embedded set, the same database is unhealthy: exit 1 (Docker HEALTHCHECK semantics).
    const embedded = await deno(permissions(db.url).database, ["health"], env);
    expect(embedded.code, show(embedded)).toBe(1);
    expect(JSON.parse(embedded.stdout).status).toBe("unhealthy");
  });

  test("errors keep their codes and exit codes: a failing migration (1), no such database (3)", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(scratch, "broken-"));
    writeFileSync(join(dir, "001_ok.sql"), "create table ok (id int);\n");
    writeFileSync(join(dir, "002_broken.sql"), "create table fine (id int);\ncreate tabel broken (id int);\n");
    const failed = await deno(permissions(db.url).directory(dir), ["up", "--dir", dir], { DATABASE_URL: db.url });
    expect(failed.code, show(failed)).toBe(1);
    expect(failed.stderr).toContain("[MIGRATION_FAILED] Migration 002_broken.sql failed at line 2, column 8");
    expect(await tablesOf(db.sql)).toEqual(["ok", "schema_migrations"]);

    const url = new URL(db.url);
    url.pathname = "/no_such_database_here";
    const missing = await deno(permissions(db.url).database, ["status", "--wait", "0"], { DATABASE_URL: url.toString() });
    expect(missing.code, show(missing)).toBe(3);
    expect(missing.stderr).toContain("[DB_NOT_FOUND]");
    expect(missing.stderr).not.toContain(url.password);
  });

  test("run: migrates, then execve through Deno.dlopen: the command keeps Deno's PID and its exit status", async () => {
    const db = await freshDatabase();
    const result = await deno(permissions(db.url).run, ["run", "--", "sh", "-c", 'echo "pid $$"; exit 7'], { DATABASE_URL: db.url });
    expect(result.code, show(result)).toBe(7);
    expect(result.stdout.trim()).toBe(`pid ${result.pid}`);
    expect(result.stderr).toMatch(/starting sh -c .*: st44-migrate \S+ \(dev\), schema at 016, 8 applied \(8 now\), 0 pending, 0 unknown, \d+ ms/);
    expect(result.stderr).not.toContain("execve is not available");
  });
});
