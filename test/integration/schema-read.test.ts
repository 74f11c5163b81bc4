/**
 * The schema read's two ways in (src/db/schema/read.ts): a postgres.js
 * client of its own (dump, npm run snapshot) and the health check's
 * QueryRows port (one statement, no session state), against real PostgreSQL.
 */
import { expect, test } from "bun:test";
import { renderSnapshotText } from "../../src/core/schema/render.ts";
import { fromPostgresJs } from "../../src/db/query-rows.ts";
import { readSchema } from "../../src/db/schema/read.ts";
import { freshDatabases } from "../support/database.ts";
import { runnerClient, seedMigrations, up } from "../support/migrator.ts";

const freshDatabase = freshDatabases("schemaread");

test("through the port and through a client of its own, the seed database reads as the committed snapshot", async () => {
  const db = await freshDatabase();
  await up(db.url, await seedMigrations());
  const committed = await Bun.file(new URL("../../migrations/schema.snapshot", import.meta.url)).text();
  const sql = runnerClient(db.url);
  try {
    expect(renderSnapshotText(await readSchema(sql))).toBe(committed);
    expect(renderSnapshotText(await readSchema(fromPostgresJs(sql)))).toBe(committed);
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("dump's read is parsed under pg_catalog: a function of the caller's search_path named like pg_catalog's changes nothing", async () => {
  const db = await freshDatabase();
  await up(db.url, await seedMigrations());
  await db.sql.unsafe(`
    create schema shadow;
    create function shadow.quote_ident(text) returns text language sql immutable as $$ select 'shadowed' $$;
    alter database ${db.name} set search_path = shadow, pg_catalog, public;`);
  const sql = runnerClient(db.url);
  try {
    const trap = await sql.unsafe("select quote_ident('x') as quoted");
    expect(trap[0]?.quoted).toBe("shadowed"); // the trap is set
    const text = renderSnapshotText(await readSchema(sql));
    expect(text).toContain("table public.users");
    expect(text).not.toContain("shadowed");
  } finally {
    await sql.end({ timeout: 1 });
  }
});
