import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import { type ScanResult, blankTransactionControl, scanSql } from "../core/sql-lexer.ts";
import { type SourcePosition, clipText, excerptAround, locateInFile } from "../core/sql-position.ts";
import type { Logger } from "../log.ts";
import { type Sql, isConnectionFailure } from "./connection.ts";
import { MIGRATION_LOCK_KEY } from "./lock.ts";
import { TRACKING_TABLE, VERSION_KEY_SQL, lastRowSet } from "./tracking.ts";

type Reserved = postgres.ReservedSql<Record<string, never>>;

/**
 * "session": one session advisory lock held for the whole run (a direct
 * connection). "transaction": each write transaction takes a
 * transaction-level advisory lock, which stays correct behind a pooler in
 * transaction mode (PgBouncer), where session state does not survive COMMIT.
 */
export type LockMode = "session" | "transaction";

/** The connection that migrates, and what every step needs to know about the run. */
export interface MigrationSession {
  readonly db: Reserved;
  /** The backend behind `db`, for the blocker watcher (behind a pooler each transaction reads its own). */
  readonly backendPid: number;
  /** The pool, for a second connection that watches who blocks the migration. */
  readonly pool: Sql;
  readonly lockMode: LockMode;
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  /** How long a transaction-level lock may be waited for (transaction mode). */
  readonly lockWaitMs: number;
  /** client_connection_check_interval exists from PostgreSQL 14 on. */
  readonly checksClientConnection: boolean;
  /** "st44-migrate 0.1.0 (abc1234) on host", stored with each row. */
  readonly runner: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /**
   * Set when the server ended the connection: its transaction is rolled back
   * and its session lock gone, and nothing more may be sent on it
   * (postgres.js 3.4.9 throws from a timer when a write meets the closed socket).
   */
  readonly connection: { lost: boolean };
}

/** ROLLBACK after a failure, unless the connection is gone (the server rolled back already). */
async function rollback(session: MigrationSession, error: unknown): Promise<void> {
  if (isConnectionFailure(error)) {
    session.connection.lost = true;
    return;
  }
  await session.db.unsafe("rollback").catch(() => {});
}

export interface StepProgress {
  /** How many steps of this run came before this one, and how many follow: for the error message. */
  readonly before: number;
  readonly after: number;
}

export function interrupted(signal: AbortSignal | undefined): MigrateError {
  const name = typeof signal?.reason === "string" ? signal.reason : "a signal";
  return new MigrateError(
    "INTERRUPTED",
    `Stopped by ${name}: the migration in progress was cancelled and rolled back, the lock released. Run st44-migrate again to continue.`,
    { exitCode: name === "SIGINT" ? 130 : 143 },
  );
}

/**
 * BEGIN with this run's settings, as one simple-protocol query: the guard
 * (a transaction-local setting that vanishes with a COMMIT we did not send)
 * and the start time the tracking row's duration is measured from. Its
 * last row holds the backend's pid.
 */
function beginSql(session: MigrationSession, guard: string): string {
  const settings = [
    `set local lock_timeout = ${Math.max(0, Math.round(session.lockTimeoutMs))}`,
    `set local statement_timeout = ${Math.max(0, Math.round(session.statementTimeoutMs))}`,
    // The tracking row is written with literals (one round trip): they rely on standard strings.
    "set local standard_conforming_strings = on",
    // A client that dies (SIGKILL) is noticed within a second even during a long statement, so its lock goes too.
    ...(session.checksClientConnection ? ["set local client_connection_check_interval = 1000"] : []),
  ];
  return `begin; ${settings.join("; ")}; select set_config('st44_migrate.guard', '${guard}', true), set_config('st44_migrate.started', clock_timestamp()::text, true), pg_backend_pid() as pid`;
}

function pidOf(results: unknown): number {
  const rows = (results as { pid: number }[][]).at(-1);
  return rows?.[0]?.pid ?? 0;
}

async function begin(session: MigrationSession, guard: string): Promise<number> {
  return pidOf(await session.db.unsafe(beginSql(session, guard)));
}

/** A value as an SQL literal (standard_conforming_strings on; NUL bytes were refused at parse time). */
function literal(value: string | number | null): string {
  if (value === null) return "null";
  if (typeof value === "number") return String(Math.trunc(value));
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Ends a migration's transaction: writes the tracking row, only while the
 * guard is still set (it vanishes with a COMMIT or ROLLBACK the file ran
 * itself), and commits. The row comes back (RETURNING): none means the
 * file ended the transaction. A legacy file may have written its own row
 * for this version, spelled differently ('46' for 046): only such files pay
 * for the delete.
 */
function finishSql(migration: Migration, guard: string, runner: string): string {
  const writesTrackingTable = /schema_migrations/i.test(migration.up);
  return [
    ...(writesTrackingTable ? [`delete from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = ${literal(migration.key)}`] : []),
    `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql)
     select ${literal(migration.version)}, ${literal(migration.name)}, now(), ${literal(migration.checksum)},
            (extract(epoch from clock_timestamp() - current_setting('st44_migrate.started')::timestamptz) * 1000)::int,
            ${literal(runner)}, ${literal(migration.down)}
      where current_setting('st44_migrate.guard', true) = '${guard}'
     returning 1 as recorded`,
    "commit",
  ].join(";\n");
}

function endedTransaction(migration: Migration): MigrateError {
  return new MigrateError(
    "MIGRATION_ENDED_TRANSACTION",
    `${migration.fileName} ended the runner's transaction itself (a COMMIT or ROLLBACK the runner could not remove, for example inside a procedure call), so part of it may already be committed and it was not recorded. Check the schema by hand, remove the transaction control from the file, and if the file needs statements outside a transaction put "-- migrate:up transaction:false" on its up marker.`,
  );
}

/** Between the file and the finish in the one-message apply: ends the file's last statement, even after a line comment. */
const FILE_END = "\n;\n";

/**
 * Maps the server's error position in BEGIN + file + finish to the file's up
 * part: null when it points into BEGIN or the finish. An unfinished last
 * statement makes the server stop at the separator after the file: that
 * points just past the file's last character that is not white space.
 */
function positionInFile(error: unknown, prefixLength: number, fileText: string): number | null {
  const raw = Number((error as ServerError).position);
  if (!Number.isInteger(raw) || raw <= prefixLength) return null;
  const position = raw - prefixLength;
  const contentLength = Array.from(fileText.trimEnd()).length;
  if (position <= contentLength) return position;
  return position <= Array.from(fileText).length + FILE_END.length ? contentLength + 1 : null;
}

/**
 * In transaction mode, takes the migration lock for this transaction only
 * (waiting at most lockWaitMs), then checks that no other runner recorded
 * `key` meanwhile. Returns false when it did: the caller rolls back and skips.
 */
async function lockTransaction(session: MigrationSession, key: string | null): Promise<boolean> {
  if (session.lockMode !== "transaction") return true;
  const { db } = session;
  try {
    await db.unsafe(`set local lock_timeout = ${Math.max(1, Math.round(session.lockWaitMs))}`);
    await db.unsafe(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await db.unsafe(`set local lock_timeout = ${Math.max(0, Math.round(session.lockTimeoutMs))}`);
  } catch (error) {
    if ((error as { code?: string }).code !== "55P03") throw error;
    throw new MigrateError(
      "LOCK_TIMEOUT",
      `Gave up after ${(session.lockWaitMs / 1000).toFixed(1)} s waiting for the migration lock (transaction-level, behind a connection pooler): another st44-migrate is applying migrations. Let it finish, or raise --lock-wait.`,
      { cause: error },
    );
  }
  if (key === null) return true;
  const [row] = await db.unsafe<{ n: number }[]>(`select count(*)::int as n from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = $1`, [key]);
  return (row?.n ?? 0) === 0;
}

interface Blocker {
  pid: number;
  application_name: string;
  state: string | null;
  xact_seconds: number | null;
  query: string | null;
}

/**
 * Watches, from a second connection, which sessions block the migrating
 * backend, so a lock_timeout failure can name them (the server's error does
 * not). Starts after 200 ms: quick migrations never pay for it.
 */
function watchBlockers(session: MigrationSession, pid: number, fileName: string): { stop(): Blocker[] } {
  let seen: Blocker[] = [];
  let stopped = false;
  let reported = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = async (): Promise<void> => {
    try {
      const rows = await session.pool<Blocker[]>`
        select pid, application_name, state, extract(epoch from now() - xact_start)::int as xact_seconds, left(query, 200) as query
        from pg_stat_activity where pid = any(pg_blocking_pids(${pid}::int))`;
      if (rows.length > 0) {
        seen = [...rows];
        if (!reported) {
          reported = true;
          session.log.warn(`${fileName} is waiting for a lock held by ${describeBlockers(seen)}`, { event: "blocked", blockers: seen.map((row) => String(row.pid)) });
        }
      }
    } catch {
      // Watching is best effort: the migration itself decides success.
    }
    if (!stopped) timer = setTimeout(poll, 250);
  };
  timer = setTimeout(poll, 200);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      return seen;
    },
  };
}

function describeBlockers(blockers: readonly Blocker[]): string {
  return blockers
    .map((blocker) => {
      const app = blocker.application_name ? `application "${blocker.application_name}", ` : "";
      const age = blocker.xact_seconds === null ? "" : ` for ${blocker.xact_seconds} s`;
      const query = blocker.query ? `; last query: ${blocker.query.replace(/\s+/g, " ").trim()}` : "";
      return `pid ${blocker.pid} (${app}${blocker.state ?? "unknown state"}${age}${query})`;
    })
    .join(", ");
}

/** Runs one query (one or more statements), cancelling it server-side when the run is aborted (SIGTERM). */
async function runCancellable(session: MigrationSession, sql: string): Promise<unknown> {
  const query = session.db.unsafe(sql);
  const cancel = (): void => {
    void query.cancel();
  };
  session.signal?.addEventListener("abort", cancel, { once: true });
  try {
    return await query;
  } finally {
    session.signal?.removeEventListener("abort", cancel);
  }
}

/**
 * Applies one migration and returns its duration in ms, or null when another
 * runner applied it first (transaction mode). A transactional migration runs
 * with its tracking row in one transaction: applied entirely or not at all.
 */
export async function applyMigration(session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number | null> {
  if (session.signal?.aborted) throw interrupted(session.signal);
  return migration.options.transaction
    ? applyInTransaction(session, migration, progress)
    : applyStatementByStatement(session, migration, progress);
}

async function applyInTransaction(session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number | null> {
  const { db } = session;
  // A legacy file's own BEGIN/COMMIT would end our transaction early; blank them.
  const { text, unterminated } = blankTransactionControl(migration.up);
  assertTerminated(migration, unterminated);
  const guard = randomUUID();
  let watch: { stop(): Blocker[] } | null = null;
  let prefixLength = 0;
  const started = performance.now();
  try {
    let results: unknown;
    if (session.lockMode === "transaction") {
      // Behind a pooler the transaction-level lock and the re-check come between BEGIN and the file.
      const pid = await begin(session, guard);
      watch = watchBlockers(session, pid, migration.fileName);
      if (!(await lockTransaction(session, migration.key))) {
        watch.stop();
        await db.unsafe("rollback");
        session.log.info(`${migration.fileName} was applied by another runner meanwhile; skipped`, { event: "migration_skipped", version: migration.version });
        return null;
      }
      await runCancellable(session, text);
      results = await db.unsafe(finishSql(migration, guard, session.runner));
    } else {
      // One round trip on a direct connection: BEGIN with this run's settings, the file, the
      // tracking row and COMMIT as one simple-protocol query. The server stops at the first
      // error and leaves the transaction aborted (rolled back below). One message, not several
      // queued ones: postgres.js 3.4.9 crashes on a queued write when the server ends the
      // connection (a TypeError from a timer). assertTerminated made sure the file closes every
      // quote and comment it opens, so the finish cannot end up inside one.
      const prefix = `${beginSql(session, guard)};\n`;
      prefixLength = prefix.length;
      watch = watchBlockers(session, session.backendPid, migration.fileName);
      results = await runCancellable(session, `${prefix}${text}${FILE_END}${finishSql(migration, guard, session.runner)}`);
    }
    watch.stop();
    // The row of RETURNING: none when the guard was gone.
    if (lastRowSet(results).length !== 1) throw endedTransaction(migration);
    return Math.round(performance.now() - started);
  } catch (error) {
    const blockers = (watch as { stop(): Blocker[] } | null)?.stop() ?? [];
    await rollback(session, error);
    if (session.signal?.aborted) throw interrupted(session.signal);
    const position = prefixLength === 0 ? undefined : positionInFile(error, prefixLength, text);
    throw asMigrationError(error, migration, migration.upOffset, progress, "transaction", { blockers, position });
  }
}

/** Refuses, before sending anything, a file whose quote, identifier, dollar quote or comment never closes. */
function assertTerminated(migration: Migration, unterminated: ScanResult["unterminated"]): void {
  if (unterminated === null) return;
  const position = locateInFile(migration.text, migration.upOffset + unterminated.offset, 1);
  throw new MigrateError(
    "MIGRATION_FAILED",
    `Migration ${migration.fileName} has an unterminated ${unterminated.kind}${position ? ` starting at line ${position.line}, column ${position.column}` : ""}: it never closes, so the server would read the rest of the file as part of it. Nothing of ${migration.fileName} was run. Close it and run st44-migrate up again.`,
    { details: position ? pointAt(migration.fileName, position) : [] },
  );
}

async function applyStatementByStatement(session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number> {
  const { db } = session;
  if (session.lockMode === "transaction") {
    throw new MigrateError(
      "LOCK_MODE_UNSUPPORTED",
      `${migration.fileName} runs outside a transaction (transaction:false), which needs the session-level migration lock, and this connection goes through a pooler in transaction mode where session locks are unsafe. Nothing of it was applied. Run st44-migrate against PostgreSQL directly (its own host and port, not PgBouncer's) for this release, or pass --lock-mode session if this connection is direct after all.`,
    );
  }
  const { statements, unterminated } = scanSql(migration.up);
  assertTerminated(migration, unterminated);
  await db.unsafe(`set lock_timeout = ${Math.round(session.lockTimeoutMs)}; set statement_timeout = ${Math.round(session.statementTimeoutMs)}`);
  const invalidBefore = await invalidIndexes(db);
  const started = performance.now();
  for (const statement of statements) {
    try {
      await runCancellable(session, migration.up.slice(statement.start, statement.end));
    } catch (error) {
      if (session.signal?.aborted) throw interrupted(session.signal);
      if (isConnectionFailure(error)) {
        session.connection.lost = true;
        throw asMigrationError(error, migration, migration.upOffset + statement.start, progress, "statements");
      }
      const left = (await invalidIndexes(db).catch(() => [])).filter((name) => !invalidBefore.includes(name));
      throw asMigrationError(error, migration, migration.upOffset + statement.start, progress, "statements", { invalidIndexes: left });
    }
  }
  const durationMs = Math.round(performance.now() - started);
  await db.unsafe("begin");
  try {
    await recordApplied(db, migration, durationMs, session.runner);
    await db.unsafe("commit");
  } catch (error) {
    await rollback(session, error);
    throw error;
  }
  return durationMs;
}

/** Indexes a failed CREATE INDEX CONCURRENTLY leaves behind: they exist, cost writes, and serve no query. */
async function invalidIndexes(db: Reserved): Promise<string[]> {
  const rows = await db.unsafe<{ name: string }[]>("select indexrelid::regclass::text as name from pg_index where not indisvalid order by 1");
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
}

/** The text an error position points into: a file, or down SQL stored in the tracking table. */
export interface SqlSource {
  readonly fileName: string;
  readonly text: string;
}

/** The place in a file, as compilers show it: file:line:column, the line, a caret under the column. */
function pointAt(fileName: string, position: SourcePosition): string[] {
  const gutter = String(position.line).length;
  const excerpt = excerptAround(position.lineText, position.column);
  return [
    `  --> ${fileName}:${position.line}:${position.column}`,
    `  ${String(position.line)} | ${excerpt.text}`,
    `  ${" ".repeat(gutter)} | ${" ".repeat(Math.max(excerpt.column - 1, 0))}^`,
  ];
}

/** Builds the report: file, line and column, the failing line, and the server's message, code, detail and hint. */
export function asMigrationError(
  error: unknown,
  migration: SqlSource,
  queryOffset: number,
  progress: StepProgress,
  mode: "transaction" | "statements" | "rollback",
  found: {
    blockers?: readonly Blocker[];
    invalidIndexes?: readonly string[];
    /** The server's position already mapped to the query text at queryOffset (null: not in it), when more than that text was sent. */
    position?: number | null;
  } = {},
): MigrateError {
  if (error instanceof MigrateError) return error;
  const server = error as ServerError;
  const details: string[] = [];
  const serverPosition = found.position !== undefined ? found.position : server.position ? Number(server.position) : null;
  const position = serverPosition === null ? null : locateInFile(migration.text, queryOffset, serverPosition);
  let at = "";
  if (position) {
    at = ` at line ${position.line}, column ${position.column}`;
    details.push(...pointAt(migration.fileName, position));
  }
  if (server.detail) details.push(`  detail: ${clipText(server.detail)}`);
  if (server.hint) details.push(`  hint: ${clipText(server.hint)}`);
  if (server.where) details.push(`  context: ${clipText(server.where)}`);
  const blockers = found.blockers ?? [];
  if (blockers.length > 0) details.push(`  blocked by: ${describeBlockers(blockers)}`);
  const invalid = found.invalidIndexes ?? [];
  for (const index of invalid) {
    details.push(`  left behind: index ${index} is INVALID (a failed CREATE INDEX CONCURRENTLY); remove it with DROP INDEX CONCURRENTLY IF EXISTS ${index}; before running again`);
  }

  const connectionLost = isConnectionFailure(error);
  const sqlstate = server.code ? ` (SQLSTATE ${server.code})` : "";
  const outcome =
    mode === "transaction"
      ? `Nothing of ${migration.fileName} was applied (rolled back)`
      : mode === "rollback"
        ? "Nothing of this rollback step was undone (rolled back) and the migration stays applied"
        : `${migration.fileName} runs outside a transaction (transaction:false), so the statements before the failing one stay applied and it is not recorded; make its statements safe to repeat (IF NOT EXISTS) before running again`;
  const done = mode === "rollback" ? "were rolled back before it" : "before it in this run were applied";
  const notDone = mode === "rollback" ? "after it were not" : "after it were not run";
  const progressText = `; ${progress.before} migration(s) ${done} and ${progress.after} ${notDone}.`;
  const fix = connectionLost
    ? " The connection to the database was lost (the server rolls back an unfinished transaction): check the server, then run st44-migrate again."
    : server.code === "55P03"
      ? ` It waited longer than lock_timeout for a table lock held by ${blockers.length > 0 ? describeBlockers(blockers) : "other sessions (see pg_locks and pg_stat_activity)"}; retry when the application is quieter, raise --lock-timeout, or use --lock-retries.`
      : invalid.length > 0
        ? ` Drop the INVALID index${invalid.length > 1 ? "es" : ""} listed below, fix the file, and run st44-migrate up again.`
        : " Fix the SQL in the file and run st44-migrate up again.";
  return new MigrateError("MIGRATION_FAILED", `Migration ${migration.fileName} failed${at}: ${clipText(server.message ?? String(error))}${sqlstate}. ${outcome}${progressText}${fix}`, {
    details,
    cause: error,
  });
}

/** Undoes one applied migration: its down SQL and the removal of its row, in one transaction. */
export async function revertMigration(
  session: MigrationSession,
  step: { readonly key: string; readonly sql: string; readonly source: SqlSource; readonly sourceOffset: number },
  progress: StepProgress,
): Promise<number> {
  const { db } = session;
  if (session.signal?.aborted) throw interrupted(session.signal);
  const { text } = blankTransactionControl(step.sql);
  try {
    await begin(session, randomUUID());
    await lockTransaction(session, null);
    const started = performance.now();
    await runCancellable(session, text);
    await db.unsafe(`delete from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = $1`, [step.key]);
    await db.unsafe("commit");
    return Math.round(performance.now() - started);
  } catch (error) {
    await rollback(session, error);
    if (session.signal?.aborted) throw interrupted(session.signal);
    throw asMigrationError(error, step.source, step.sourceOffset, progress, "rollback");
  }
}

/** Records migrations as applied without running them (baseline), each with a history entry. */
export async function recordBaseline(session: MigrationSession, migrations: readonly Migration[]): Promise<void> {
  const { db } = session;
  try {
    await begin(session, randomUUID());
    await lockTransaction(session, null);
    for (const migration of migrations) {
      await db.unsafe(
        `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql, history)
         values ($1, $2, now(), $3, null, $4, $5, jsonb_build_array($6::jsonb || jsonb_build_object('at', now(), 'by', current_user)))`,
        // jsonb parameters take objects: postgres.js serialises by the type the server infers.
        [migration.version, migration.name, migration.checksum, session.runner, migration.down, { action: "baseline", runner: session.runner } as never],
      );
    }
    await db.unsafe("commit");
  } catch (error) {
    await rollback(session, error);
    throw error;
  }
}

/** Accepts a file's current text for an applied migration, keeping the old checksum in the row's history. */
export async function recordRepair(session: MigrationSession, migration: Migration, previousChecksum: string | null): Promise<void> {
  const event = { action: "repair", runner: session.runner, from_checksum: previousChecksum, to_checksum: migration.checksum } as never;
  await session.db.unsafe(
    `update ${TRACKING_TABLE}
        set checksum = $2, down_sql = $3,
            history = coalesce(history, '[]'::jsonb) || jsonb_build_array($4::jsonb || jsonb_build_object('at', now(), 'by', current_user))
      where ${VERSION_KEY_SQL} = $1`,
    [migration.key, migration.checksum, migration.down, event],
  );
}
