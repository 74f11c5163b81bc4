/**
 * Text read from the database (a migration's name in schema_migrations) is
 * shown, never interpreted: a newline there cannot forge a log line, an escape
 * sequence cannot reach the terminal (issue 12 item 30).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { runBinary } from "../support/cli.ts";
import { type TestDatabase, freshDatabases } from "../support/database.ts";

const HOSTILE = "from_newer\n2026-12-01T00:00:00.000Z ERROR forged line\u001b[31mred\u0007";
let db: TestDatabase;
const freshDatabase = freshDatabases("dbtext");

beforeAll(async () => {
  db = await freshDatabase();
  const up = await runBinary(["up"], { env: { DATABASE_URL: db.url } });
  expect(up.code).toBe(0);
  await db.sql`insert into schema_migrations (version, name) values ('999', ${HOSTILE})`;
});

describe("a hostile name in schema_migrations", () => {
  test("status prints it escaped, on its own row", async () => {
    const status = await runBinary(["status"], { env: { DATABASE_URL: db.url } });
    expect(status.code).toBe(0);
    expect(status.stdout).not.toContain("\u001b");
    expect(status.stdout).not.toContain("\u0007");
    expect(status.stdout).not.toMatch(/^2026-12-01T00:00:00.000Z ERROR forged/m);
    const row = status.stdout.split("\n").find((line) => line.startsWith("999"));
    expect(row).toContain(String.raw`from_newer\n2026-12-01T00:00:00.000Z ERROR forged line\x1b[31mred\x07`);
  });
  test("up's warning about it cannot forge a log line or colour the terminal", async () => {
    const up = await runBinary(["up", "--log-format", "plain"], { env: { DATABASE_URL: db.url } });
    expect(up.code).toBe(0);
    expect(up.stderr).toContain("does not know");
    expect(up.stderr).not.toContain("\u001b");
    expect(up.stderr).not.toMatch(/^2026-12-01T00:00:00.000Z ERROR forged/m);
  });
});
