/**
 * Hostile input to the compiled binary: file names a migrations directory
 * should never hold, a 20 MB file of SQL-ish text with NUL bytes and
 * unterminated quotes, and flags with values of the wrong type. Each ends in
 * a typed error (a code in brackets, a documented exit code) or works; none
 * crashes, prints a stack trace, floods the log, or touches the database.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunResult, runBinary } from "../support/cli.ts";
import { type TestDatabase, createTestDatabase, tablesOf } from "../support/database.ts";
import { errorCode, expectNoCrash, expectNoSecret, tableExists, testServer } from "./helpers.ts";

// The preload's setDefaultTimeout(60_000) reaches only the first file of a bun test run (Bun 1.4.5): set it here too.
setDefaultTimeout(120_000);

const work = mkdtempSync(join(tmpdir(), "st44-hostile-"));
const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  rmSync(work, { recursive: true, force: true });
});

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase("hostile");
  databases.push(database);
  return database;
}

async function run(args: string[], database: TestDatabase, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<RunResult> {
  const result = await runBinary(args, { env: { DATABASE_URL: database.url, ...env }, timeoutMs });
  expectNoSecret(result, [testServer().password], args.join(" ").slice(0, 200));
  expectNoCrash(result);
  return result;
}

let directoryCounter = 0;
/** A migrations directory holding `files` (name -> text). */
function directory(files: Record<string, string | Buffer>): string {
  const dir = join(work, `dir-${++directoryCounter}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const VALID = "-- migrate:up\ncreate table fine_table (id int);\n-- migrate:down\ndrop table fine_table;\n";

describe("hostile file names in the migrations directory", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase();
  });

  const names = [
    "001 bad.sql", // a space
    "002_ünï.sql", // not ASCII
    "003_..sql", // dots for a name
    "004_.sql", // no name
    "_005_x.sql", // no version
    "006_a;drop table users;.sql", // SQL in the name
    "007_new\nline.sql", // a newline: could forge a log line
    "008_$(touch pwned).sql", // shell syntax
    "009_x.SQL", // the extension in capitals: meant as a migration, so it must be valid
    "-010_x.sql", // looks like a flag
  ];
  for (const name of names) {
    test(`${JSON.stringify(name)} is refused with exit 2 and FILE_NAME_INVALID naming the file, nothing applied`, async () => {
      const dir = directory({ "000_fine.sql": VALID, [name]: "-- migrate:up\nselect 1;\n" });
      for (const command of [["up"], ["plan"], ["status"], ["verify"]]) {
        const result = await run([...command, "--dir", dir], database);
        expect({ command: command[0], code: result.code, error: errorCode(result) }).toEqual({ command: command[0], code: 2, error: "FILE_NAME_INVALID" });
        // Named as JSON, so a newline in it cannot start a line of its own.
        expect(result.stderr).toContain(JSON.stringify(name));
        expect(result.stderr.trim().split("\n")).toHaveLength(1);
      }
      expect(existsSync(join(work, "pwned"))).toBe(false);
      expect(await tablesOf(database.sql)).toEqual([]);
    });
  }

  test("several bad names are all listed in one run", async () => {
    const dir = directory({ "001 bad.sql": VALID, "002_ünï.sql": VALID, "003_..sql": VALID });
    const result = await run(["up", "--dir", dir], database);
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 2, error: "FILE_NAME_INVALID" });
    for (const name of ["001 bad.sql", "002_ünï.sql", "003_..sql"]) expect(result.stderr).toContain(JSON.stringify(name));
    expect(await tablesOf(database.sql)).toEqual([]);
  });

  test("a directory that does not exist, or a file given as --dir, is SOURCE_UNREADABLE (exit 2)", async () => {
    const file = join(work, "a-file.sql");
    writeFileSync(file, VALID);
    for (const dir of [join(work, "no-such-dir"), file]) {
      const result = await run(["up", "--dir", dir], database);
      expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 2, error: "SOURCE_UNREADABLE" });
      expect(result.stderr).toContain(dir);
    }
  });
});

describe("a 20 MB migration file with NUL bytes and unterminated quotes", () => {
  const MB20 = 20 * 1024 * 1024;

  /** Many lines of plausible SQL, with NUL bytes sprinkled in (unless `nul` is false) and an unterminated quote near the end. */
  function hostileSql(header: string, nul = true): Buffer {
    const lines = [header, "create table big_table (id int, note text);\n"];
    let size = 0;
    for (let index = 0; size < MB20; index++) {
      const line =
        index % 997 === 500
          ? `insert into big_table values (${index}, 'it''s ${nul ? "\u0000" : "NUL"} here');\n`
          : index % 1499 === 700
            ? `select $tag$ unclosed dollar quote\n`
            : `insert into big_table values (${index}, 'row ${index} -- not a comment; /* nor this */');\n`;
      lines.push(line);
      size += line.length;
    }
    lines.push("select 'this quote never ends;\n-- migrate:down\ndrop table big_table;\n");
    return Buffer.from(lines.join(""), "utf8");
  }

  let withNul: string;
  let inTransaction: string;
  let statementByStatement: string;
  let oneLine: string;
  let unterminatedEarly: string;
  beforeAll(() => {
    withNul = directory({ "001_big.sql": hostileSql("-- migrate:up\n") });
    // The same 20 MB of hostile text without NUL bytes (which are refused before anything else).
    inTransaction = directory({ "001_big.sql": hostileSql("-- migrate:up\n", false) });
    statementByStatement = directory({ "001_big.sql": hostileSql("-- migrate:up transaction:false\n", false) });
    // One 20 MB line with a syntax error at its very end.
    oneLine = directory({ "001_one_line.sql": `-- migrate:up\n${"select 1; ".repeat(MB20 / 10)}selec 2;\n` });
    // Left to the server, its message would quote the unterminated literal up to the end of the text: here, 20 MB.
    unterminatedEarly = directory({ "001_early.sql": `-- migrate:up\nselect 'oops;\n${"insert into t values (1);\n".repeat(MB20 / 26)}` });
  });

  test("is at least 20 MB and holds NUL bytes", async () => {
    const file = Bun.file(join(withNul, "001_big.sql"));
    expect(file.size).toBeGreaterThanOrEqual(MB20);
    expect((await file.text()).includes("\u0000")).toBe(true);
  });

  test("NUL bytes are refused before anything else, naming the file and line (PARSE_NUL_BYTE, exit 2)", async () => {
    const database = await freshDatabase();
    for (const args of [["up"], ["plan"], ["status"]]) {
      const result = await run([...args, "--dir", withNul], database);
      expect(result.code).toBe(2);
      expect(errorCode(result)).toBe("PARSE_NUL_BYTE");
      expect(result.stderr).toContain("001_big.sql contains a NUL byte (line 503)");
    }
    expect(await tablesOf(database.sql)).toEqual([]);
  });

  test("up (one transaction) fails with a typed error, exit 1, and applies nothing", async () => {
    const database = await freshDatabase();
    const result = await run(["up", "--dir", inTransaction], database);
    expect(result.code).toBe(1);
    expect(errorCode(result)).toBe("MIGRATION_FAILED");
    expect(result.stderr).toContain("001_big.sql");
    expect(await tableExists(database.sql, "big_table")).toBe(false);
    if (await tableExists(database.sql, "schema_migrations")) {
      const [count] = await database.sql<{ n: number }[]>`select count(*)::int as n from schema_migrations`;
      expect(count?.n).toBe(0);
    }
  });

  test("up (transaction:false) fails with a typed error before running anything", async () => {
    const database = await freshDatabase();
    const result = await run(["up", "--dir", statementByStatement], database);
    expect([1, 2]).toContain(result.code);
    expect(errorCode(result)).toMatch(/^(MIGRATION_FAILED|PARSE_[A-Z_]+)$/);
    expect(result.stderr).toContain("001_big.sql");
    expect(await tableExists(database.sql, "big_table")).toBe(false);
  });

  test("plan shows it (exit 0, the whole SQL on stdout) and writes nothing", async () => {
    const database = await freshDatabase();
    for (const dir of [inTransaction, statementByStatement]) {
      const result = await run(["plan", "--dir", dir], database);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("1 migration(s) would be applied");
      expect(result.stdout.length).toBeGreaterThan(MB20);
    }
    const json = await run(["plan", "--json", "--dir", inTransaction], database);
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout);
    expect(document.pending).toHaveLength(1);
    expect(document.pending[0].sql.length).toBeGreaterThan(MB20);
    expect(await tablesOf(database.sql)).toEqual([]);
  });

  test("status, verify and version read it without crashing", async () => {
    const database = await freshDatabase();
    const status = await run(["status", "--dir", inTransaction], database);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^001\s+big\s+pending/m);
    const verify = await run(["verify", "--dir", inTransaction], database);
    expect(verify.code).toBe(4);
    expect(errorCode(verify)).toBe("VERIFY_FAILED");
    const version = await run(["version", "--json", "--dir", inTransaction], database);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout).migrations.count).toBe(1);
  });

  test("a failing 20 MB single-line file shows where it failed without copying the line into the log", async () => {
    const database = await freshDatabase();
    for (const format of ["plain", "json"]) {
      const result = await run(["up", "--dir", oneLine, "--log-format", format], database);
      expect(result.code).toBe(1);
      expect(errorCode(result)).toBe("MIGRATION_FAILED");
      expect(result.stderr).toContain("001_one_line.sql:2:");
      expect(result.stderr).toContain("selec");
      // The caret context is an excerpt around the error, not the 20 MB line (and 20 MB of spaces under it).
      expect(result.stderr.length).toBeLessThan(64 * 1024);
    }
    expect(await tableExists(database.sql, "big_table")).toBe(false);
  });

  test("an unterminated quote at the top of a 20 MB file is refused before anything is sent, in a short message pointing at it", async () => {
    const database = await freshDatabase();
    const result = await run(["up", "--dir", unterminatedEarly], database);
    expect(result.code).toBe(1);
    expect(errorCode(result)).toBe("MIGRATION_FAILED");
    expect(result.stderr).toContain("has an unterminated string starting at line 2, column 8");
    expect(result.stderr).toContain("--> 001_early.sql:2:8");
    expect(result.stderr).toContain("Nothing of 001_early.sql was run");
    expect(result.stderr.length).toBeLessThan(64 * 1024);
    expect(await tableExists(database.sql, "t")).toBe(false);
  });
});

describe("flags with values of the wrong type", () => {

  const cases: { args: string[]; names: string; env?: Record<string, string> }[] = [
    { args: ["up", "--wait", "abc"], names: "--wait" },
    { args: ["up", "--wait=abc"], names: "--wait" },
    { args: ["status", "--wait", "abc"], names: "--wait" },
    { args: ["up", "--wait", "-5"], names: "--wait" },
    { args: ["up", "--wait", "1e3"], names: "--wait" },
    { args: ["up", "--wait"], names: "--wait" },
    { args: ["up", "--lock-timeout", "-1"], names: "--lock-timeout" },
    { args: ["up", "--lock-timeout=-1"], names: "--lock-timeout" },
    { args: ["up", "--lock-timeout", "ten"], names: "--lock-timeout" },
    // Beyond PostgreSQL's lock_timeout range (2147483647 ms, 24.8 days): a usage error, not a failed migration.
    { args: ["up", "--lock-timeout", "99999999"], names: "--lock-timeout" },
    { args: ["up", "--statement-timeout", "5x"], names: "--statement-timeout" },
    { args: ["up", "--statement-timeout", "9999999"], names: "--statement-timeout" },
    { args: ["up", "--lock-wait", "xyz"], names: "--lock-wait" },
    { args: ["up", "--on-unknown", "maybe"], names: "--on-unknown" },
    { args: ["up", "--log-format", "xml"], names: "--log-format" },
    { args: ["down", "--steps", "x", "--yes"], names: "--steps" },
    { args: ["down", "--steps", "0", "--yes"], names: "--steps" },
    { args: ["down", "--steps", "1.5", "--yes"], names: "--steps" },
    { args: ["down", "--steps", "-1", "--yes"], names: "--steps" },
    { args: ["health", "--timeout", "abc"], names: "--timeout" },
    // Beyond what a timer can wait (2^31-1 ms): it fired at once, so health said "timeout" and printed TimeoutOverflowWarning.
    { args: ["health", "--timeout", "99999999"], names: "--timeout" },
    // A boolean flag with a value: citty took any value as true (--json=maybe printed JSON).
    { args: ["status", "--json=maybe"], names: "--json" },
    { args: ["up", "--dry-run=no"], names: "--dry-run" },
    { args: ["up"], names: "MIGRATE_WAIT", env: { MIGRATE_WAIT: "abc" } },
    { args: ["up"], names: "MIGRATE_LOCK_TIMEOUT", env: { MIGRATE_LOCK_TIMEOUT: "-1" } },
  ];
  for (const { args, names, env } of cases) {
    // health exits 0 or 1 only (Docker reserves 2): a usage error is "unhealthy" there.
    const exitCode = args[0] === "health" ? 1 : 2;
    test(`${env ? `${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")} ` : ""}${args.join(" ")}: exit ${exitCode} (USAGE) naming ${names}, nothing written`, async () => {
      // A database of its own: a case that wrongly writes must not spoil the next.
      const database = await freshDatabase();
      const result = await run(args, database, env);
      expect({ code: result.code, error: errorCode(result) }).toEqual({ code: exitCode, error: "USAGE" });
      expect(result.stderr).toContain(names);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(await tablesOf(database.sql)).toEqual([]);
    });
  }

  test("run --on-error maybe: exit 2 naming --on-error, and the command is not started", async () => {
    const marker = join(work, "on-error-started");
    const database = await freshDatabase();
    const result = await run(["run", "--on-error", "maybe", "--", "sh", "-c", `touch ${marker}`], database);
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 2, error: "USAGE" });
    expect(result.stderr).toContain("--on-error");
    expect(existsSync(marker)).toBe(false);
    expect(await tablesOf(database.sql)).toEqual([]);
  });

  test("run with a bad --wait does not start the command either", async () => {
    const marker = join(work, "wait-started");
    const database = await freshDatabase();
    const result = await run(["run", "--wait", "soon", "--on-error", "start", "--", "sh", "-c", `touch ${marker}`], database);
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 2, error: "USAGE" });
    expect(result.stderr).toContain("--wait");
    expect(existsSync(marker)).toBe(false);
  });
});
