/**
 * libpq's URL parameters reach the session the runner migrates with
 * (issue 12 item 26): `options=-c search_path=app` puts the tables in schema
 * app, as psql and the API would, and application_name shows in
 * pg_stat_activity.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { type TestDatabase, freshDatabases } from "../support/database.ts";
import { migrationsFrom, runnerClient, up } from "../support/migrator.ts";

let db: TestDatabase;
const freshDatabase = freshDatabases("urlparams");
beforeEach(async () => {
  db = await freshDatabase();
});

function withParameters(url: string, parameters: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${parameters}`;
}

const clients: { end(options?: { timeout?: number }): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end({ timeout: 1 })));
});

describe("options=-c search_path=app", () => {
  test("up creates the migrations' tables and schema_migrations in schema app", async () => {
    await db.sql.unsafe("create schema app");
    const url = withParameters(db.url, "options=-c%20search_path%3Dapp");
    await up(url, migrationsFrom({ "001_things.sql": "-- migrate:up\ncreate table things (id int);\n-- migrate:down\ndrop table things;\n" }));
    const tables = await db.sql<{ schema: string; name: string }[]>`
      select table_schema as schema, table_name as name from information_schema.tables
      where table_schema in ('app', 'public') order by 1, 2`;
    expect(tables.map((row) => ({ ...row }))).toEqual([
      { schema: "app", name: "schema_migrations" },
      { schema: "app", name: "things" },
    ]);
  });
  test("the runner's session shows search_path = app", async () => {
    const sql = runnerClient(withParameters(db.url, "options=-c%20search_path%3Dapp"));
    clients.push(sql);
    const [row] = await sql<{ search_path: string }[]>`show search_path`;
    expect(row?.search_path).toBe("app");
  });
});

test("application_name is visible in pg_stat_activity", async () => {
  const sql = runnerClient(withParameters(db.url, "application_name=deploy-42"));
  clients.push(sql);
  const [row] = await sql<{ application_name: string }[]>`select application_name from pg_stat_activity where pid = pg_backend_pid()`;
  expect(row?.application_name).toBe("deploy-42");
});

test("target_session_attrs=read-write connects to a primary; =standby refuses it", async () => {
  const primary = runnerClient(withParameters(db.url, "target_session_attrs=read-write"));
  clients.push(primary);
  const [row] = await primary<{ in_recovery: boolean }[]>`select pg_is_in_recovery() as in_recovery`;
  expect(row?.in_recovery).toBe(false);
  const standby = runnerClient(withParameters(db.url, "target_session_attrs=standby&connect_timeout=2"));
  clients.push(standby);
  await expect(standby`select 1`).rejects.toThrow();
});
