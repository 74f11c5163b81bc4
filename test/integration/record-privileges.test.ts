/**
 * 12.2: a role that may run a migration but not record it is refused before
 * the first statement of the run, naming the grant: otherwise a
 * transaction:false migration's statements stay applied without their row
 * and run again on every retry.
 */
import { afterAll, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { type TestDatabase } from "../support/database.ts";
import { migrationsFrom, up } from "../support/migrator.ts";
import { type TestRole, asAdmin, createRole, lockedDownDatabase, tableExists, testServer } from "../security/helpers.ts";

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

function urlAs(role: TestRole, database: TestDatabase): string {
  const { host, port } = testServer();
  return `postgres://${role.name}:${encodeURIComponent(role.password)}@${host}:${port}/${database.name}?sslmode=disable`;
}

test("a role without INSERT on schema_migrations gets DB_PERMISSION_DENIED before any statement runs, naming the GRANT", async () => {
  const role = await createRole("recorder", `Rec-Pw!${Math.random().toString(36).slice(2)}`);
  const database = await lockedDownDatabase("recpriv");
  cleanup.push(() => role.drop(), () => database.drop());
  const first = migrationsFrom({ "001_first.sql": "create table first (id int);" });
  await up(database.url, first);
  await database.sql.unsafe(`grant usage, create on schema public to ${role.name}; grant select on schema_migrations to ${role.name}`);

  const migrations = migrationsFrom({
    "001_first.sql": "create table first (id int);",
    "002_index.sql": "-- migrate:up transaction:false\ncreate table made_by_role (id int);\n-- migrate:down\ndrop table made_by_role;\n",
  });
  let refused: unknown;
  try {
    await up(urlAs(role, database), migrations);
  } catch (error) {
    refused = error;
  }
  expect(refused).toBeInstanceOf(MigrateError);
  const error = refused as MigrateError;
  expect(error.code).toBe("DB_PERMISSION_DENIED");
  expect(error.message).toContain(`lacks INSERT on schema_migrations`);
  expect(error.message).toContain(`GRANT SELECT, INSERT ON schema_migrations TO "${role.name}";`);
  expect(error.message).toContain("Nothing was applied");
  expect(await tableExists(database.sql, "made_by_role")).toBe(false);
  expect([...(await database.sql`select version from schema_migrations`)]).toEqual([{ version: "001" }]);

  // With the grant the message names, the same run succeeds.
  await database.sql.unsafe(`grant insert on schema_migrations to ${role.name}`);
  const result = await up(urlAs(role, database), migrations);
  expect(result.applied.map((applied) => applied.version)).toEqual(["002"]);
  expect(await tableExists(database.sql, "made_by_role")).toBe(true);
});
