import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import { blankTransactionControl, scanSql } from "../core/sql-lexer.ts";
import { locateInFile } from "../core/sql-position.ts";
import { TRACKING_TABLE, VERSION_KEY_SQL } from "./tracking.ts";

type Reserved = postgres.ReservedSql<Record<string, never>>;

export interface ApplyContext {
  /** "st44-migrate 0.1.0 (abc1234) on host", stored with each row. */
  readonly runner: string;
  /** How many migrations of this run were applied before this one, for the error message. */
  readonly appliedBefore: number;
  readonly remainingAfter: number;
}

/**
 * Applies one migration on the connection that holds the migration lock and
 * returns its duration in ms. A transactional migration runs with its
 * tracking row in one transaction: applied entirely or not at all.
 */
export async function applyMigration(db: Reserved, migration: Migration, context: ApplyContext): Promise<number> {
  return migration.options.transaction
    ? applyInTransaction(db, migration, context)
    : applyStatementByStatement(db, migration, context);
}

async function applyInTransaction(db: Reserved, migration: Migration, context: ApplyContext): Promise<number> {
  // A legacy file's own BEGIN/COMMIT would end our transaction early; blank them.
  const { text } = blankTransactionControl(migration.up);
  // A transaction-local setting vanishes with a COMMIT we did not send: the guard catches any we missed.
  const guard = randomUUID();
  await db.unsafe(`begin; select set_config('st44_migrate.guard', '${guard}', true)`);
  const started = performance.now();
  try {
    await db.unsafe(text);
    const durationMs = Math.round(performance.now() - started);
    const [row] = await db<{ guard: string | null }[]>`select current_setting('st44_migrate.guard', true) as guard`;
    if (row?.guard !== guard) {
      throw new MigrateError(
        "MIGRATION_ENDED_TRANSACTION",
        `${migration.fileName} ended the runner's transaction itself (a COMMIT or ROLLBACK the runner could not remove, for example inside a procedure call), so part of it may already be committed. Check the schema by hand, remove the transaction control from the file, and if the file needs statements outside a transaction put "-- migrate:up transaction:false" on its up marker.`,
      );
    }
    await recordApplied(db, migration, durationMs, context.runner);
    await db.unsafe("commit");
    return durationMs;
  } catch (error) {
    await db.unsafe("rollback").catch(() => {});
    throw asMigrationError(error, migration, migration.upOffset, context, "transaction");
  }
}

async function applyStatementByStatement(db: Reserved, migration: Migration, context: ApplyContext): Promise<number> {
  const { statements, unterminated } = scanSql(migration.up);
  if (unterminated) {
    const position = locateInFile(migration.text, migration.upOffset + unterminated.offset, 1);
    throw new MigrateError(
      "MIGRATION_FAILED",
      `${migration.fileName}: unterminated ${unterminated.kind}${position ? ` starting at line ${position.line}, column ${position.column}` : ""}. Close it; nothing was run.`,
    );
  }
  const invalidBefore = await invalidIndexes(db);
  const started = performance.now();
  for (const statement of statements) {
    try {
      await db.unsafe(migration.up.slice(statement.start, statement.end));
    } catch (error) {
      const left = (await invalidIndexes(db).catch(() => [])).filter((name) => !invalidBefore.includes(name));
      throw asMigrationError(error, migration, migration.upOffset + statement.start, context, "statements", left);
    }
  }
  const durationMs = Math.round(performance.now() - started);
  await db.unsafe("begin");
  try {
    await recordApplied(db, migration, durationMs, context.runner);
    await db.unsafe("commit");
  } catch (error) {
    await db.unsafe("rollback").catch(() => {});
    throw error;
  }
  return durationMs;
}

/** Indexes a failed CREATE INDEX CONCURRENTLY leaves behind: they exist, cost writes, and serve no query. */
async function invalidIndexes(db: Reserved): Promise<string[]> {
  const rows = await db.unsafe<{ name: string }[]>(
    "select indexrelid::regclass::text as name from pg_index where not indisvalid order by 1",
  );
  return rows.map((row) => row.name);
}

/** Replaces any row of the same version (a legacy file may have inserted '46' for 046) with ours. */
async function recordApplied(db: Reserved, migration: Migration, durationMs: number, runner: string): Promise<void> {
  await db.unsafe(`delete from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = $1`, [migration.key]);
  await db.unsafe(
    `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql)
     values ($1, $2, now(), $3, $4, $5, $6)`,
    [migration.version, migration.name, migration.checksum, durationMs, runner, migration.down],
  );
}

interface ServerError {
  code?: string;
  message: string;
  position?: string;
  detail?: string;
  hint?: string;
  where?: string;
  severity?: string;
}

/** Builds the report: file, line and column, the failing line, and the server's message, code, detail and hint. */
/** The text an error position points into: a file, or down SQL stored in the tracking table. */
export interface SqlSource {
  readonly fileName: string;
  readonly text: string;
}

export function asMigrationError(
  error: unknown,
  migration: SqlSource,
  queryOffset: number,
  context: ApplyContext,
  mode: "transaction" | "statements" | "rollback",
  invalidIndexesLeft: readonly string[] = [],
): MigrateError {
  if (error instanceof MigrateError) return error;
  const server = error as ServerError;
  const details: string[] = [];
  const position = server.position ? locateInFile(migration.text, queryOffset, Number(server.position)) : null;
  let at = "";
  if (position) {
    at = ` at line ${position.line}, column ${position.column}`;
    const gutter = String(position.line).length;
    details.push(`  --> ${migration.fileName}:${position.line}:${position.column}`);
    details.push(`  ${String(position.line)} | ${position.lineText}`);
    details.push(`  ${" ".repeat(gutter)} | ${" ".repeat(Math.max(position.column - 1, 0))}^`);
  }
  if (server.detail) details.push(`  detail: ${server.detail}`);
  if (server.hint) details.push(`  hint: ${server.hint}`);
  if (server.where) details.push(`  context: ${server.where}`);

  const connectionLost = /^(CONNECTION_|ECONN|EPIPE)/.test(server.code ?? "") || server.code === "57P01";
  const sqlstate = server.code ? ` (SQLSTATE ${server.code})` : "";
  const outcome =
    mode === "transaction"
      ? `Nothing of ${migration.fileName} was applied (rolled back)`
      : mode === "rollback"
        ? `Nothing of this rollback step was undone (rolled back) and the migration stays applied`
        : `${migration.fileName} runs outside a transaction (transaction:false), so the statements before the failing one stay applied and it is not recorded; make its statements safe to repeat (IF NOT EXISTS) before running again`;
  const progress =
    mode === "rollback"
      ? `; ${context.appliedBefore} migration(s) were rolled back before it and ${context.remainingAfter} after it were not.`
      : `; ${context.appliedBefore} migration(s) before it in this run were applied and ${context.remainingAfter} after it were not run.`;
  for (const index of invalidIndexesLeft) {
    details.push(`  left behind: index ${index} is INVALID (a failed CREATE INDEX CONCURRENTLY); remove it with DROP INDEX CONCURRENTLY IF EXISTS ${index}; before running again`);
  }
  const fix = connectionLost
    ? " The connection to the database was lost: check the server, then run st44-migrate again."
    : server.code === "55P03"
      ? " It waited longer than lock_timeout for a table lock held by other sessions (see pg_locks / pg_stat_activity); retry when the application is quieter, or raise --lock-timeout."
      : invalidIndexesLeft.length > 0
        ? ` Drop the INVALID index${invalidIndexesLeft.length > 1 ? "es" : ""} listed below, fix the file, and run st44-migrate up again.`
        : " Fix the SQL in the file and run st44-migrate up again.";
  return new MigrateError(
    "MIGRATION_FAILED",
    `Migration ${migration.fileName} failed${at}: ${server.message}${sqlstate}. ${outcome}${progress}${fix}`,
    { details, cause: error },
  );
}

/** Undoes one applied migration: its down SQL and the removal of its row, in one transaction. */
export async function revertMigration(
  db: Reserved,
  step: { readonly key: string; readonly sql: string; readonly source: SqlSource; readonly sourceOffset: number },
  context: ApplyContext,
): Promise<number> {
  const { text } = blankTransactionControl(step.sql);
  await db.unsafe("begin");
  const started = performance.now();
  try {
    await db.unsafe(text);
    await db.unsafe(`delete from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = $1`, [step.key]);
    await db.unsafe("commit");
    return Math.round(performance.now() - started);
  } catch (error) {
    await db.unsafe("rollback").catch(() => {});
    throw asMigrationError(error, step.source, step.sourceOffset, context, "rollback");
  }
}

/** Records migrations as applied without running them (baseline), each with a history entry. */
export async function recordBaseline(db: Reserved, migrations: readonly Migration[], runner: string): Promise<void> {
  await db.unsafe("begin");
  try {
    for (const migration of migrations) {
      await db.unsafe(
        `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql, history)
         values ($1, $2, now(), $3, null, $4, $5, jsonb_build_array($6::jsonb || jsonb_build_object('at', now(), 'by', current_user)))`,
        // jsonb parameters take objects: postgres.js serialises by the type the server infers.
        [migration.version, migration.name, migration.checksum, runner, migration.down, { action: "baseline", runner } as never],
      );
    }
    await db.unsafe("commit");
  } catch (error) {
    await db.unsafe("rollback").catch(() => {});
    throw error;
  }
}

/** Accepts a file's current text for an applied migration, keeping the old checksum in the row's history. */
export async function recordRepair(db: Reserved, migration: Migration, previousChecksum: string | null, runner: string): Promise<void> {
  const event = { action: "repair", runner, from_checksum: previousChecksum, to_checksum: migration.checksum } as never;
  await db.unsafe(
    `update ${TRACKING_TABLE}
        set checksum = $2, down_sql = $3,
            history = coalesce(history, '[]'::jsonb) || jsonb_build_array($4::jsonb || jsonb_build_object('at', now(), 'by', current_user))
      where ${VERSION_KEY_SQL} = $1`,
    [migration.key, migration.checksum, migration.down, event],
  );
}
