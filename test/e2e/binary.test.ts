/**
 * The compiled binary, spawned as a process against real PostgreSQL: exit
 * codes and output are what an operator and the container runtime see.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestDatabase, freshDatabases, tablesOf } from "../support/database.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { BINARY, runBinary } from "../support/cli.ts";

const freshDatabase = freshDatabases("e2e");

const SEED_VERSIONS = ["000", "001", "011", "012", "013", "014", "015", "016"];

describe("up and status on a fresh database", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });

  test("up applies the eight seed migrations and the registration transaction succeeds", async () => {
    const result = await runBinary(["up"], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(0);
    for (const version of SEED_VERSIONS) expect(result.stderr).toContain(`applied ${version}_`);
    expect(result.stderr).toContain("applied 8 migration(s)");
    expect(await tablesOf(db.sql)).toEqual([
      "children", "household_members", "households", "schema_migrations", "task_assignments", "task_completions", "tasks", "users",
    ]);
    const [member] = await db.sql.begin(async (tx) => {
      const [user] = await tx`insert into users (email, password_hash) values ('a@example.com', 'x') returning id`;
      const [household] = await tx`insert into households (name) values ('Home') returning id`;
      return tx`insert into household_members (household_id, user_id, role) values (${household!.id}, ${user!.id}, 'admin') returning role`;
    });
    expect(member?.role).toBe("admin");
  });

  test("up again is a no-op that exits 0", async () => {
    const result = await runBinary(["up"], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("nothing to do: 8 migrations applied, latest 016");
    expect(result.stderr).not.toContain("applied 0");
    const [rows] = await db.sql`select count(*)::int as n from schema_migrations`;
    expect(rows?.n).toBe(8);
  });

  test("status --json agrees with the database", async () => {
    const result = await runBinary(["status", "--json", "--exit-code"], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.applied).toEqual(SEED_VERSIONS);
    expect(document.pending).toEqual([]);
    expect(document.latest).toBe("016");
    expect(document.changed).toEqual([]);
    expect(document.unknown).toEqual([]);
    expect(document.migrations).toHaveLength(8);
    expect(document.migrations[1]).toMatchObject({ version: "001", name: "create_users_table", state: "applied" });
  });

  test("status prints a table with each migration's state", async () => {
    const result = await runBinary(["status"], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^VERSION\s+NAME\s+STATE\s+APPLIED AT\s+DURATION$/m);
    expect(result.stdout).toMatch(/^016\s+create_task_completions_table\s+applied\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d+ ms$/m);
    expect(result.stdout).toContain("8 applied, 0 pending, 0 changed, 0 unknown; latest 016 of 016");
  });

  test("--log-format json writes one JSON object per line on stderr", async () => {
    const result = await runBinary(["up", "--log-format", "json"], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split("\n").map((line) => JSON.parse(line));
    expect(lines.at(-1)).toMatchObject({ level: "info", event: "up_done", applied_total: 8, latest: "016", pending: 0 });
  });
});

describe("what the binary writes", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
    expect((await runBinary(["up"], { env: { DATABASE_URL: db.url } })).code).toBe(0);
  });

  test("--log-format pretty: an icon and the message, no timestamp; colour only on a terminal without NO_COLOR", async () => {
    const piped = await runBinary(["up", "--log-format", "pretty"], { env: { DATABASE_URL: db.url } });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toMatch(/^ℹ nothing to do: 8 migrations applied, latest 016 \(\d+ ms\)\n$/);
    // script(1) gives the binary a terminal, as an operator's ssh session does.
    const onTerminal = (noColor: string) =>
      Bun.spawnSync(["script", "-qec", `${BINARY} up`, "/dev/null"], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DATABASE_URL: db.url, NO_COLOR: noColor, TERM: "xterm" },
      }).stdout.toString();
    expect(onTerminal("")).toContain("\x1b[36mℹ\x1b[0m nothing to do");
    expect(onTerminal("1")).toMatch(/^ℹ nothing to do/m);
    expect(onTerminal("1")).not.toContain("\x1b[");
  });

  test("an error in pretty format: the code and message on the first line, the details indented under it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-pretty-"));
    writeFileSync(join(dir, "001_create_users_table.sql"), "-- migrate:up\ncreate table users (id int);\n");
    const result = await runBinary(["up", "--dir", dir, "--log-format", "pretty"], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^✖ \[CHECKSUM_MISMATCH\] [^\n]+\n  {3}001: database [0-9a-f]{64} != file [0-9a-f]{64}\n$/);
  });

  test("a reader that goes away early (status | head -1) ends the run quietly with the command's exit code", () => {
    const result = Bun.spawnSync(["bash", "-c", `"${BINARY}" status | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DATABASE_URL: db.url },
    });
    expect(result.stdout.toString()).toMatch(/^VERSION\s+NAME/);
    expect(result.stderr.toString()).toBe("exit=0\n");
  });

  test("a slow reader still gets every byte of a large output before the process exits", () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-big-"));
    const statement = "create table t (id int); -- some padding to make the line longer than it needs to be\n";
    writeFileSync(join(dir, "900_big.sql"), `-- migrate:up\n${statement.repeat(20_000)}`);
    const result = Bun.spawnSync(["bash", "-c", `"${BINARY}" plan --dir "${dir}" | (sleep 1; wc -c)`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DATABASE_URL: db.url },
    });
    expect(Number(result.stdout.toString().trim())).toBeGreaterThan(statement.length * 20_000);
  });
});

describe("arguments", () => {
  test("a switch takes --no-NAME and =true/=false; a stray argument is refused, with the -- hint for run", async () => {
    const env = { DATABASE_URL: "postgres://u:secret-pw@127.0.0.1:1/x" };
    const negated = await runBinary(["version", "--no-json"]);
    expect(negated.code).toBe(0);
    expect(negated.stdout).toStartWith("st44-migrate ");
    const explicitFalse = await runBinary(["version", "--json=false"]);
    expect(explicitFalse.stdout).toBe(negated.stdout);
    expect(JSON.parse((await runBinary(["version", "--json=true"])).stdout).migrations.count).toBe(8);
    const stray = await runBinary(["status", "extra"], { env });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('[USAGE] Unexpected argument "extra" for "st44-migrate status"');
    const runWithoutDashes = await runBinary(["run", "node", "server.js"], { env });
    expect(runWithoutDashes.code).toBe(2);
    expect(runWithoutDashes.stderr).toContain('goes after "--": st44-migrate run -- node server.js');
    const negatedString = await runBinary(["up", "--no-url"], { env });
    expect(negatedString.code).toBe(2);
    expect(negatedString.stderr).toContain("Unknown flag --no-url");
  });
});

describe("migrations from --dir", () => {
  test("a syntax error is reported with file, line, column and the line itself, and the database is unchanged", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-dir-"));
    writeFileSync(join(dir, "001_first.sql"), "-- migrate:up\ncreate table first (id int);\n-- migrate:down\ndrop table first;\n");
    writeFileSync(join(dir, "002_broken.sql"), "-- migrate:up\ncreate table second (id int);\n\ncreate tabel third (id int);\n-- migrate:down\ndrop table second;\n");
    const result = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[MIGRATION_FAILED] Migration 002_broken.sql failed at line 4, column 8");
    expect(result.stderr).toContain('syntax error at or near "tabel"');
    expect(result.stderr).toContain("--> 002_broken.sql:4:8");
    expect(result.stderr).toContain("4 | create tabel third (id int);");
    expect(await tablesOf(db.sql)).toEqual(["first", "schema_migrations"]);
    const rows = await db.sql`select version from schema_migrations`;
    expect(rows.map((row) => row.version)).toEqual(["001"]);
  });

  test("pending migrations make status --exit-code exit 6; an edited applied file makes up exit 4", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-dir-"));
    writeFileSync(join(dir, "001_a.sql"), "create table a (id int);\n");
    expect((await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    writeFileSync(join(dir, "002_b.sql"), "create table b (id int);\n");
    const pending = await runBinary(["status", "--exit-code", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(pending.code).toBe(6);
    expect(pending.stdout).toMatch(/^002\s+b\s+pending/m);
    writeFileSync(join(dir, "001_a.sql"), "create table a (id bigint);\n");
    const changed = await runBinary(["up", "--dir", dir], { env: { MIGRATIONS_DIR: dir, DATABASE_URL: db.url } });
    expect(changed.code).toBe(4);
    expect(changed.stderr).toContain("[CHECKSUM_MISMATCH]");
    expect(await tablesOf(db.sql)).not.toContain("b");
  });

  test("two files with one version are refused, naming both files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-dir-"));
    writeFileSync(join(dir, "046_a.sql"), "select 1;\n");
    writeFileSync(join(dir, "46_b.sql"), "select 1;\n");
    const result = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: "postgres://u@127.0.0.1:1/x" } });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("046_a.sql and 46_b.sql have the same version (46)");
  });

  test("COPY FROM STDIN and PREPARE TRANSACTION are refused before anything is sent, naming file, line and fix", async () => {
    const db = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "st44-dir-"));
    writeFileSync(join(dir, "001_first.sql"), "-- migrate:up\ncreate table first (id int);\n-- migrate:down\ndrop table first;\n");
    writeFileSync(join(dir, "002_load.sql"), "-- migrate:up\ncreate table loaded (id int);\ncopy loaded from stdin;\n1\n\\.\n");
    writeFileSync(join(dir, "003_two_phase.sql"), "-- migrate:up\nbegin;\ncreate table prepared (id int);\nprepare transaction 'x';\n");
    for (const command of [["up", "--dir", dir], ["plan", "--dir", dir]]) {
      const result = await runBinary(command, { env: { DATABASE_URL: db.url }, timeoutMs: 30_000 });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("[STATEMENT_REFUSED]");
      expect(result.stderr).toContain("002_load.sql, line 3: COPY FROM STDIN waits for data the runner never sends");
      expect(result.stderr).toContain("003_two_phase.sql, line 4: PREPARE TRANSACTION would leave a prepared transaction behind");
    }
    expect(await tablesOf(db.sql)).toEqual([]);
    const [prepared] = await db.sql`select count(*)::int as n from pg_prepared_xacts`;
    expect(prepared?.n).toBe(0);
  });

  test("broken files are reported at once, even while the database is still being waited for", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-dir-"));
    writeFileSync(join(dir, "001 bad.sql"), "select 1;\n");
    for (const command of [["up", "--dir", dir], ["status", "--dir", dir], ["run", "--dir", dir, "--", "true"]]) {
      const result = await runBinary(command, { env: { DATABASE_URL: `postgres://u@127.0.0.1:${await freePort()}/x`, MIGRATE_WAIT: "30" } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("[FILE_NAME_INVALID]");
      // The connection attempts started meanwhile stop quietly.
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.ms).toBeLessThan(5_000);
    }
  });
});

describe("configuration and connection errors", () => {
  test("no database configured: exit 2 naming the variables to set", async () => {
    const result = await runBinary(["up"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("[CONFIG_MISSING]");
    expect(result.stderr).toContain("DATABASE_URL");
  });

  test("a malformed URL: exit 2, and its text (which may hold a password) is not printed", async () => {
    const result = await runBinary(["up"], { env: { DATABASE_URL: "postgres://user:hunter2-secret@host:notaport/db" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("[CONFIG_INVALID]");
    expect(result.output).not.toContain("hunter2-secret");
  });

  test("a wrong password: exit 3, and the password never appears", async () => {
    const db = await freshDatabase();
    const url = new URL(db.url);
    url.password = "wrong-pass-xyzzy";
    const result = await runBinary(["up", "--wait", "2"], { env: { DATABASE_URL: url.toString() } });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("[DB_AUTH_FAILED]");
    expect(result.output).not.toContain("wrong-pass-xyzzy");
  });

  test("a server that never comes: retries with backoff for --wait, then exit 3", async () => {
    const port = await freePort();
    const result = await runBinary(["up", "--wait", "1.5"], { env: { DATABASE_URL: `postgres://u:topsecret-77@127.0.0.1:${port}/x` } });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("not ready");
    expect(result.stderr).toContain("retry 1");
    expect(result.stderr).toContain("[DB_UNREACHABLE]");
    expect(result.ms).toBeGreaterThan(1000);
    expect(result.ms).toBeLessThan(10_000);
    expect(result.output).not.toContain("topsecret-77");
  });

  test("DB_* variables with DB_PASSWORD_FILE connect; an unreadable password file is a usage error", async () => {
    const db = await freshDatabase();
    const url = new URL(db.url);
    const dir = mkdtempSync(join(tmpdir(), "st44-secret-"));
    writeFileSync(join(dir, "password"), `${decodeURIComponent(url.password)}\n`);
    const env = { DB_HOST: url.hostname, DB_PORT: url.port, DB_NAME: db.name, DB_USER: url.username, DB_SSLMODE: "disable" };
    const ok = await runBinary(["status"], { env: { ...env, DB_PASSWORD_FILE: join(dir, "password") } });
    expect(ok.code).toBe(0);
    const missing = await runBinary(["status"], { env: { ...env, DB_PASSWORD_FILE: join(dir, "nope") } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("DB_PASSWORD_FILE");
  });

  test("unknown flags and flags without their value are usage errors", async () => {
    const unknown = await runBinary(["up", "--dry-runn"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown flag --dry-runn");
    const missing = await runBinary(["up", "--wait"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--wait needs a value");
    const badDuration = await runBinary(["up", "--wait", "soon"], { env: { DATABASE_URL: "postgres://u@127.0.0.1:1/x" } });
    expect(badDuration.code).toBe(2);
    expect(badDuration.stderr).toContain("--wait must be a duration");
  });
});

describe("the binary itself", () => {
  test("works copied alone into an empty directory, with the migrations inside", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-alone-"));
    mkdirSync(join(dir, "bin"));
    const copy = join(dir, "bin", "st44-migrate");
    copyFileSync(BINARY, copy);
    const result = await runBinary(["version", "--json"], { binary: copy, cwd: dir });
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.migrations.count).toBe(8);
    expect(document.migrations.latest).toBe("016");
    expect(document.commit).toMatch(/^[0-9a-f]{7,}(-dirty)?$|^unknown$/);
    expect(document.build_time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(Object.keys(document.migrations.checksums)).toContain("001_create_users_table.sql");
  });

  test("--help exits 0 and lists the commands; no command is a usage error", async () => {
    const help = await runBinary(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("up");
    expect(help.stdout).toContain("status");
    const none = await runBinary([]);
    expect(none.code).toBe(2);
    const version = await runBinary(["--version"]);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
