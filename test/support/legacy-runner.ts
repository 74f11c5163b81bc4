/**
 * A simulation of st44's old runner (test/fixtures/st44-legacy/scripts/run-migrations.sh),
 * to make the databases it left behind. psql is not installed here, so the
 * script's two psql calls per file are played with postgres.js:
 *
 * - `find "$DIR" -name '*.sql' | sort`: every .sql under the folder, recursively,
 *   in byte order of the path (the container's POSIX locale), so TEMPLATE.sql
 *   comes after the numbered files and rollback/*_down.sql after it.
 * - `psql "$DATABASE_URL" -f FILE` without ON_ERROR_STOP: one connection per
 *   file; the file is cut into statements where psql cuts it (the project's
 *   lexer, which test/unit holds against PostgreSQL's parser) and each is sent
 *   alone as a simple query; an error is ignored and the next statement runs.
 *   Nothing wraps the statements, so each autocommits unless the file's own
 *   BEGIN ... COMMIT groups them; the server then does what it does under psql:
 *   after an error inside the block every statement fails (25P02) until COMMIT,
 *   which rolls the block back. A block left open at the end of the file is
 *   rolled back when the connection closes, as when psql exits.
 * - `psql -c "INSERT INTO schema_migrations (version, name) VALUES ('$version',
 *   '${base#*_}') ON CONFLICT DO NOTHING"`: version is the base name up to the
 *   first `_` (the whole name when there is none: `TEMPLATE`), name what follows
 *   it; an error (no table) is ignored.
 *
 * psql's own meta-commands (`\i`, `\set`) do not occur in the fixture and are
 * not simulated.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import postgres from "postgres";
import { scanSql } from "../../src/core/sql-lexer.ts";

/** `find DIR -name '*.sql' | sort`, in byte order. */
export function legacySqlFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(".sql")) found.push(path);
    }
  };
  walk(dir);
  return found.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** What one simulated `psql -f FILE` did: the statements that failed, with the server's message. */
export interface PsqlFileResult {
  readonly file: string;
  readonly failed: { readonly statement: string; readonly message: string }[];
}

/** `psql URL -f FILE` without ON_ERROR_STOP: statement by statement on one connection, errors printed and ignored. */
export async function psqlFile(url: string, file: string): Promise<PsqlFileResult> {
  const text = readFileSync(file, "utf8");
  const failed: { statement: string; message: string }[] = [];
  const connection = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    for (const statement of scanSql(text).statements) {
      const body = text.slice(statement.start, statement.end);
      try {
        await connection.unsafe(body);
      } catch (error) {
        failed.push({ statement: body, message: (error as Error).message });
      }
    }
  } finally {
    // Closing the connection ends any transaction the file left open, as psql's exit does.
    await connection.end({ timeout: 5 });
  }
  return { file, failed };
}

/** `psql URL -c TEXT`, errors ignored (`|| true`). */
async function psqlCommand(url: string, text: string): Promise<void> {
  const connection = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    await connection.unsafe(text);
  } catch {
    // the script's `|| true`
  } finally {
    await connection.end({ timeout: 5 });
  }
}

/** The whole old script on DIR against URL; returns what each file's psql run reported. */
export async function runLegacyScript(url: string, dir: string): Promise<PsqlFileResult[]> {
  const results: PsqlFileResult[] = [];
  for (const file of legacySqlFiles(dir)) {
    results.push(await psqlFile(url, file));
    const base = basename(file, ".sql");
    const underscore = base.indexOf("_");
    const version = underscore === -1 ? base : base.slice(0, underscore);
    const name = underscore === -1 ? base : base.slice(underscore + 1);
    await psqlCommand(url, `INSERT INTO schema_migrations (version, name) VALUES ('${version}', '${name}') ON CONFLICT DO NOTHING`);
  }
  return results;
}
