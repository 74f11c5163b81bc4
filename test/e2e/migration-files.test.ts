/**
 * What the compiled binary does with migration files an operator really
 * has: a Kubernetes ConfigMap volume, a misspelt marker, a Latin-1 file, and
 * the file `create` writes, against real PostgreSQL.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshDatabases, tablesOf } from "../support/database.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { runBinary } from "../support/cli.ts";

const freshDatabase = freshDatabases("files");

/** Kubernetes' ConfigMap volume layout: the files in a timestamped directory, `..data` links to it, each key links through `..data`. */
function configMapDirectory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "st44-configmap-"));
  const stamped = "..2026_12_01_10_00_00.123456789";
  mkdirSync(join(dir, stamped));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, stamped, name), content);
  symlinkSync(stamped, join(dir, "..data"));
  for (const name of Object.keys(files)) symlinkSync(join("..data", name), join(dir, name));
  return dir;
}

function directory(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), "st44-files-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** A database URL nobody listens on: file errors must come before any connection. */
const nowhere = async () => ({ DATABASE_URL: `postgres://u@127.0.0.1:${await freePort()}/x`, MIGRATE_WAIT: "0" });

describe("--dir on a ConfigMap volume (issue 12 item 25)", () => {
  test("up follows the links and applies every migration; status agrees", async () => {
    const db = await freshDatabase();
    const dir = configMapDirectory({
      "001_users.sql": "-- migrate:up\ncreate table users (id int);\n-- migrate:down\ndrop table users;\n",
      "002_tasks.sql": "-- migrate:up\ncreate table tasks (id int);\n-- migrate:down\ndrop table tasks;\n",
    });
    const result = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(result.stderr).not.toContain("nothing to do");
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("applied 2 migration(s)");
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations", "tasks", "users"]);
    const status = await runBinary(["status", "--json", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(JSON.parse(status.stdout).applied).toEqual(["001", "002"]);
  });

  test("a link that leads nowhere is refused with exit 2 before connecting, and run never starts the app", async () => {
    const dir = configMapDirectory({ "001_users.sql": "-- migrate:up\ncreate table users (id int);\n" });
    symlinkSync("..data/002_missing.sql", join(dir, "002_missing.sql"));
    const result = await runBinary(["run", "--dir", dir, "--", "sh", "-c", "echo APP STARTED"], { env: await nowhere() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("[SOURCE_UNREADABLE]");
    expect(result.stderr).toContain("002_missing.sql is a symbolic link that leads nowhere (a link to ..data/002_missing.sql)");
    expect(result.output).not.toContain("APP STARTED");
  });
});

describe("file contents refused before anything is applied", () => {
  test("a misspelt down marker: exit 2 naming file, line and spelling; plan and up apply nothing", async () => {
    const db = await freshDatabase();
    const dir = directory({ "001_a.sql": "-- migrate:up\ncreate table a (id int);\n-- migrate:dwon\ndrop table a;\n" });
    for (const command of ["plan", "up"]) {
      const result = await runBinary([command, "--dir", dir], { env: { DATABASE_URL: db.url } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('[PARSE_MARKER_MALFORMED] 001_a.sql line 3 looks like a marker but is not one: "-- migrate:dwon". Write it exactly "-- migrate:down"');
      expect(result.stdout).not.toContain("drop table");
    }
    expect(await tablesOf(db.sql)).toEqual([]);
  });

  test("SQL above the up marker: exit 2 naming the line", async () => {
    const dir = directory({ "001_seed.sql": "-- seed the plans\ninsert into plans values (1);\n-- migrate:up\ncreate table a (id int);\n" });
    const result = await runBinary(["up", "--dir", dir], { env: await nowhere() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('[PARSE_SQL_BEFORE_UP] 001_seed.sql line 2 is SQL above "-- migrate:up"');
  });

  test("a Latin-1 file: exit 2 naming the file and byte offset, nothing applied (issue 12 item 27)", async () => {
    const db = await freshDatabase();
    const head = new TextEncoder().encode("-- migrate:up\ncreate table a (name text default 'caf");
    const dir = directory({ "001_latin1.sql": new Uint8Array([...head, 0xe9, ...new TextEncoder().encode("');\n")]) });
    const result = await runBinary(["up", "--dir", dir], { env: { DATABASE_URL: db.url } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`[PARSE_NOT_UTF8] 001_latin1.sql is not valid UTF-8: byte offset ${head.length} (line 2) is 0xE9`);
    expect(await tablesOf(db.sql)).toEqual([]);
  });
});

describe("create's down part (issue 12, also noticed)", () => {
  test("until it is written, down fails and undoes nothing instead of recording a silent no-op", async () => {
    const db = await freshDatabase();
    const dir = directory({});
    const created = await runBinary(["create", "add_notes", "--dir", dir]);
    expect(created.code).toBe(0);
    const path = join(dir, "000_add_notes.sql");
    writeFileSync(path, readFileSync(path, "utf8").replace("-- migrate:up\n", "-- migrate:up\ncreate table notes (id int);\n"));
    const env = { DATABASE_URL: db.url };
    expect((await runBinary(["up", "--dir", dir], { env })).code).toBe(0);
    const down = await runBinary(["down", "--steps", "1", "--yes", "--dir", dir], { env });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("[MIGRATION_FAILED]");
    expect(down.stderr).toContain("the down part of 000_add_notes.sql is not written yet");
    expect(await tablesOf(db.sql)).toEqual(["notes", "schema_migrations"]);
    const rows = await db.sql`select version from schema_migrations`;
    expect(rows.map((row) => row.version)).toEqual(["000"]);
  });
});
