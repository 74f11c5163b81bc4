/**
 * No secret in any output: the compiled binary, run for every command on its
 * success and failure paths, never prints the database password, raw or
 * percent-encoded, on stdout or stderr, whichever way the password was given
 * (DATABASE_URL, --url, DB_PASSWORD, DB_PASSWORD_FILE).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunResult, runBinary } from "../support/cli.ts";
import { type TestDatabase, tablesOf } from "../support/database.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { SEED_VERSIONS, type TestRole, createRole, databaseOwnedBy, errorCode, expectNoCrash, expectNoSecret, testServer } from "./helpers.ts";

// The preload's setDefaultTimeout(60_000) reaches only the first file of a bun test run (Bun 1.4.5): set it here too.
setDefaultTimeout(120_000);

/** Distinctive, and full of characters a URL must percent-encode (@, %) or may leave alone (!). */
const PASSWORD = "Pw-7f3a!x@y%z";
/** A wrong password, also with characters that need encoding (#, ?, &, /). */
const WRONG = "Wr0ng-#Pw?9&q/x";
/** The test server's superuser password (from TEST_DATABASE_URL): never printed either. */
const ADMIN_PASSWORD = testServer().password;
const FORBIDDEN = [PASSWORD, WRONG, ADMIN_PASSWORD];

const work = mkdtempSync(join(tmpdir(), "st44-secrets-"));
let role: TestRole;
const databases: TestDatabase[] = [];
let closedPort: number;

/** How the connection is given to the binary. */
type Style = "DATABASE_URL" | "--url" | "DB_PASSWORD" | "DB_PASSWORD_FILE";
const STYLES: readonly Style[] = ["DATABASE_URL", "--url", "DB_PASSWORD", "DB_PASSWORD_FILE"];

interface Target {
  database: string;
  password?: string;
  host?: string;
  port?: number;
}

function urlOf(target: Target): string {
  const { host, port } = { ...testServer(), ...target };
  const password = target.password ?? PASSWORD;
  return `postgres://${role.name}:${encodeURIComponent(password)}@${host}:${port}/${target.database}`;
}

let fileCounter = 0;
/** The environment and flags that give `target` to the binary in `style`. */
function connection(style: Style, target: Target): { env: Record<string, string>; args: string[] } {
  const { host, port } = { ...testServer(), ...target };
  const password = target.password ?? PASSWORD;
  const parts = { DB_HOST: host, DB_PORT: String(port), DB_NAME: target.database, DB_USER: role.name };
  switch (style) {
    case "DATABASE_URL":
      return { env: { DATABASE_URL: urlOf(target) }, args: [] };
    case "--url":
      return { env: {}, args: ["--url", urlOf(target)] };
    case "DB_PASSWORD":
      return { env: { ...parts, DB_PASSWORD: password }, args: [] };
    case "DB_PASSWORD_FILE": {
      // As Docker and Kubernetes mount it: the password and a trailing newline.
      const file = join(work, `password-${++fileCounter}`);
      writeFileSync(file, `${password}\n`, { mode: 0o600 });
      return { env: { ...parts, DB_PASSWORD_FILE: file }, args: [] };
    }
  }
}

/** Runs `command` (with its flags) against `target`; `passthrough` goes after "--" (run). */
async function run(style: Style, target: Target, command: string[], passthrough: string[] = [], connects = true): Promise<RunResult> {
  const { env, args } = connection(style, target);
  const argv = [...command, ...(connects ? args : []), ...(passthrough.length > 0 ? ["--", ...passthrough] : [])];
  const result = await runBinary(argv, { env: { ...env, LOG_FORMAT: "plain" } });
  expectNoSecret(result, FORBIDDEN, `${style}: st44-migrate ${command.join(" ")}`);
  expectNoCrash(result);
  return result;
}

/** A migrations directory whose second file fails on the server. */
const brokenDir = join(work, "broken");
/** One whose failing line holds the password itself: the error context must be redacted too. */
const leakyDir = join(work, "leaky");

beforeAll(async () => {
  role = await createRole("sec", PASSWORD);
  closedPort = await freePort();
  mkdirSync(brokenDir);
  writeFileSync(join(brokenDir, "001_first.sql"), "-- migrate:up\ncreate table first_table (id int);\n-- migrate:down\ndrop table first_table;\n");
  writeFileSync(join(brokenDir, "002_broken.sql"), "-- migrate:up\ncreate tabel second_table (id int);\n");
  mkdirSync(leakyDir);
  writeFileSync(join(leakyDir, "001_leaky.sql"), `-- migrate:up\nselect '${PASSWORD}' as pw from no_such_table;\n`);
});

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  await role.drop();
  rmSync(work, { recursive: true, force: true });
});

async function ownedDatabase(): Promise<TestDatabase> {
  const database = await databaseOwnedBy("sec", role);
  databases.push(database);
  return database;
}

for (const style of STYLES) {
  describe(`password given with ${style}`, () => {
    let seeded: TestDatabase;
    let broken: TestDatabase;
    beforeAll(async () => {
      [seeded, broken] = await Promise.all([ownedDatabase(), ownedDatabase()]);
    });

    test("up succeeds (8 migrations) without printing the password", async () => {
      const result = await run(style, { database: seeded.name }, ["up"]);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain("applied 8 migration(s)");
      const rows = await seeded.sql<{ version: string }[]>`select version from schema_migrations order by version`;
      expect(rows.map((row) => row.version)).toEqual(SEED_VERSIONS);
    });

    const readers: { command: string[]; passthrough?: string[]; connects?: boolean; check(result: RunResult): void }[] = [
      { command: ["status"], check: (r) => expect(r.stdout).toContain("8 applied, 0 pending") },
      { command: ["status", "--json"], check: (r) => expect(JSON.parse(r.stdout).applied).toEqual(SEED_VERSIONS) },
      { command: ["plan"], check: (r) => expect(r.stdout).toContain("Nothing to apply") },
      { command: ["plan", "--json"], check: (r) => expect(JSON.parse(r.stdout).pending).toEqual([]) },
      { command: ["verify"], check: (r) => expect(r.stdout).toContain("ok: the database matches this build") },
      { command: ["health"], check: (r) => expect(JSON.parse(r.stdout).status).toBe("healthy") },
      { command: ["version", "--json"], connects: false, check: (r) => expect(JSON.parse(r.stdout).migrations.count).toBe(8) },
      { command: ["run"], passthrough: ["sh", "-c", "exit 0"], check: (r) => expect(r.stderr).toContain("starting sh -c exit 0") },
      { command: ["up", "--log-format", "json"], check: (r) => expect(r.stderr).toContain('"event":"up_done"') },
      { command: ["up", "--log-format", "pretty"], check: (r) => expect(r.stderr).toContain("nothing to do") },
      { command: ["up", "--dry-run"], check: (r) => expect(r.stdout).toContain("Nothing to apply") },
    ];
    for (const reader of readers) {
      test(`${[...reader.command, ...(reader.passthrough ? ["--", ...reader.passthrough] : [])].join(" ")} exits 0 without printing the password`, async () => {
        const result = await run(style, { database: seeded.name }, reader.command, reader.passthrough, reader.connects ?? true);
        expect(result.code).toBe(0);
        reader.check(result);
      });
    }

    test("a failing migration (--dir with a broken file) shows the SQL error, not the password", async () => {
      for (const format of ["plain", "json"]) {
        const result = await run(style, { database: broken.name }, ["up", "--dir", brokenDir, "--log-format", format]);
        expect(result.code).toBe(1);
        expect(errorCode(result)).toBe("MIGRATION_FAILED");
        expect(result.stderr).toContain("002_broken.sql");
        expect(result.stderr).toContain("42601");
      }
      expect(await tablesOf(broken.sql)).toEqual(["first_table", "schema_migrations"]);
    });

    test("a wrong password is refused (exit 3, DB_AUTH_FAILED) and neither password is printed", async () => {
      const result = await run(style, { database: seeded.name, password: WRONG }, ["status"]);
      expect(result.code).toBe(3);
      expect(errorCode(result)).toBe("DB_AUTH_FAILED");
      expect(result.stderr).toContain(role.name);
      const up = await run(style, { database: seeded.name, password: WRONG }, ["up", "--wait", "5", "--log-format", "json"]);
      expect(up.code).toBe(3);
      expect(errorCode(up)).toBe("DB_AUTH_FAILED");
    });

    test("health with a wrong password is unhealthy (exit 1) and its document holds no password", async () => {
      const result = await run(style, { database: seeded.name, password: WRONG }, ["health"]);
      expect(result.code).toBe(1);
      const document = JSON.parse(result.stdout);
      expect(document.status).toBe("unhealthy");
      expect(document.database).toBe("auth_failed");
    });

    test("a closed port is DB_UNREACHABLE (exit 3) without the password", async () => {
      const result = await run(style, { database: seeded.name, host: "127.0.0.1", port: closedPort }, ["status", "--wait", "0"]);
      expect(result.code).toBe(3);
      expect(errorCode(result)).toBe("DB_UNREACHABLE");
      expect(result.stderr).toContain(`127.0.0.1:${closedPort}`);
      const up = await run(style, { database: seeded.name, host: "127.0.0.1", port: closedPort }, ["up", "--wait", "0"]);
      expect(up.code).toBe(3);
      expect(errorCode(up)).toBe("DB_UNREACHABLE");
    });

    test("an unknown database is DB_NOT_FOUND (exit 3) without the password", async () => {
      const result = await run(style, { database: "no_such_database_st44" }, ["up"]);
      expect(result.code).toBe(3);
      expect(errorCode(result)).toBe("DB_NOT_FOUND");
      expect(result.stderr).toContain("no_such_database_st44");
    });
  });
}

describe("malformed settings holding the password", () => {
  const { host, port } = testServer();
  // Each is a URL a user could paste; several carry the password unencoded.
  const malformed: Record<string, () => string> = {
    "@ and % not percent-encoded": () => `postgres://${role.name}:${PASSWORD}@${host}:${port}/db`,
    "a port that is not a number": () => `postgres://${role.name}:${encodeURIComponent(PASSWORD)}@${host}:port/db`,
    "a port out of range": () => `postgres://${role.name}:${encodeURIComponent(PASSWORD)}@${host}:99999/db`,
    "no scheme separator": () => `postgres//${role.name}:${PASSWORD}@${host}:${port}/db`,
    "another scheme": () => `mysql://${role.name}:${encodeURIComponent(PASSWORD)}@${host}:${port}/db`,
    "no database name": () => `postgres://${role.name}:${encodeURIComponent(PASSWORD)}@${host}:${port}/`,
    "a space in the password": () => `postgres://${role.name}:${PASSWORD} x@${host}:${port}/db`,
    "a bad percent-escape": () => `postgres://${role.name}:${encodeURIComponent(PASSWORD)}%E0%A4%A@${host}:${port}/db`,
  };
  for (const [what, url] of Object.entries(malformed)) {
    for (const via of ["DATABASE_URL", "--url"] as const) {
      test(`${via} with ${what} is a usage error (exit 2, CONFIG_INVALID) naming ${via}, password not shown`, async () => {
        const result = await runBinary(via === "--url" ? ["status", "--url", url()] : ["status"], {
          env: via === "--url" ? {} : { DATABASE_URL: url() },
        });
        expectNoSecret(result, FORBIDDEN, `${via}: ${what}`);
        expectNoCrash(result);
        expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 2, error: "CONFIG_INVALID" });
        expect(result.stderr).toContain(via);
      });
    }
  }

  test("DB_PORT that is not a number is a usage error, password not shown", async () => {
    const result = await runBinary(["status"], {
      env: { DB_HOST: host, DB_PORT: "54x32", DB_NAME: "db", DB_USER: role.name, DB_PASSWORD: PASSWORD },
    });
    expectNoSecret(result, FORBIDDEN, "DB_PORT");
    expect(result.code).toBe(2);
    expect(errorCode(result)).toBe("CONFIG_INVALID");
    expect(result.stderr).toContain("DB_PORT");
  });
});

describe("DB_PASSWORD_FILE", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await ownedDatabase();
  });
  const { host, port } = testServer();
  const parts = () => ({ DB_HOST: host, DB_PORT: String(port), DB_NAME: database.name, DB_USER: role.name });

  for (const [what, path] of [
    ["a directory", () => work],
    ["a missing path", () => join(work, "no-such-secret")],
  ] as const) {
    test(`pointing at ${what} is a usage error (exit 2) that names DB_PASSWORD_FILE`, async () => {
      // DB_PASSWORD is set too: the error must not fall back to it, nor print it.
      const result = await runBinary(["up"], { env: { ...parts(), DB_PASSWORD_FILE: path(), DB_PASSWORD: PASSWORD } });
      expectNoSecret(result, FORBIDDEN, `DB_PASSWORD_FILE: ${what}`);
      expectNoCrash(result);
      expect(result.code).toBe(2);
      expect(errorCode(result)).toBe("CONFIG_INVALID");
      expect(result.stderr).toContain("DB_PASSWORD_FILE");
      expect(result.stderr).toContain(path());
      expect(await tablesOf(database.sql)).toEqual([]);
    });
  }

  test("wins over DB_PASSWORD (a right file and a wrong variable connect)", async () => {
    const file = join(work, "right-password");
    writeFileSync(file, `${PASSWORD}\n`);
    const result = await runBinary(["status", "--json"], { env: { ...parts(), DB_PASSWORD_FILE: file, DB_PASSWORD: WRONG } });
    expectNoSecret(result, FORBIDDEN, "file wins");
    expect(result.code).toBe(0);
  });

  test("holds the password for a DATABASE_URL without one", async () => {
    const file = join(work, "url-password");
    writeFileSync(file, `${PASSWORD}\r\n`);
    const result = await runBinary(["status", "--json"], {
      env: { DATABASE_URL: `postgres://${role.name}@${host}:${port}/${database.name}`, DB_PASSWORD_FILE: file },
    });
    expectNoSecret(result, FORBIDDEN, "file with URL");
    expect(result.code).toBe(0);
  });

  test("a file holding a wrong password is DB_AUTH_FAILED (exit 3) and points at DB_PASSWORD_FILE, password not shown", async () => {
    const file = join(work, "wrong-password");
    writeFileSync(file, `${WRONG}\n`);
    const result = await runBinary(["up"], { env: { ...parts(), DB_PASSWORD_FILE: file } });
    expectNoSecret(result, FORBIDDEN, "wrong file");
    expect(result.code).toBe(3);
    expect(errorCode(result)).toBe("DB_AUTH_FAILED");
    expect(result.stderr).toContain("DB_PASSWORD_FILE");
  });
});

describe("the password inside a failing migration's SQL", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await ownedDatabase();
  });

  for (const format of ["plain", "json", "pretty"]) {
    test(`is cut out of the error context (--log-format ${format})`, async () => {
      const result = await runBinary(["up", "--dir", leakyDir, "--log-format", format], { env: { DATABASE_URL: urlOf({ database: database.name }) } });
      expectNoSecret(result, FORBIDDEN, `leaky SQL, ${format}`);
      expectNoCrash(result);
      expect(result.code).toBe(1);
      expect(errorCode(result)).toBe("MIGRATION_FAILED");
      expect(result.stderr).toContain("no_such_table");
      expect(result.stderr).toContain("001_leaky.sql");
    });
  }
});

describe("a URL given as an argument by mistake", () => {
  test("an unencoded @ in its password: the whole password goes from the echoed argument", async () => {
    const { host, port } = testServer();
    const result = await runBinary(["status", `postgres://st44:pa@ss:w0rd-Qz@${host}:${port}/db`], { env: { LOG_FORMAT: "plain" } });
    expectNoCrash(result);
    expect(result.code).toBe(2);
    expect(errorCode(result)).toBe("USAGE");
    expect(result.stderr).toContain(`"postgres://st44:***@${host}:${port}/db"`);
    expect(result.output).not.toContain("ss:w0rd");
    expect(result.output).not.toContain("w0rd-Qz");
  });
});

describe("a password with JSON's special characters in a failing migration line", () => {
  /** " and \ change when JSON-encoded: the line must be redacted before it is encoded. */
  const QUOTED = 'Qt"7\\bs-x!k';
  let quotedRole: TestRole;
  let database: TestDatabase;
  const quotedDir = join(work, "quoted");
  beforeAll(async () => {
    quotedRole = await createRole("secq", QUOTED);
    database = await databaseOwnedBy("secq", quotedRole);
    mkdirSync(quotedDir);
    writeFileSync(join(quotedDir, "001_quoted.sql"), `-- migrate:up\nselect '${QUOTED}' as pw from no_such_table;\n`);
  });
  afterAll(async () => {
    await database.drop();
    await quotedRole.drop();
  });

  for (const format of ["json", "plain"]) {
    test(`--log-format ${format}: neither the raw nor the encoded password is printed`, async () => {
      const { host, port } = testServer();
      const url = `postgres://${quotedRole.name}:${encodeURIComponent(QUOTED)}@${host}:${port}/${database.name}`;
      const result = await runBinary(["up", "--dir", quotedDir, "--log-format", format], { env: { DATABASE_URL: url } });
      expectNoCrash(result);
      expect(result.code).toBe(1);
      expect(errorCode(result)).toBe("MIGRATION_FAILED");
      expectNoSecret(result, [QUOTED, JSON.stringify(QUOTED).slice(1, -1)], `quoted password, ${format}`);
      expect(result.stderr).toContain("select '***' as pw from no_such_table;");
    });
  }
});
