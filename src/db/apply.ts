import { randomUUID } from "node:crypto";
import { MigrateError } from "../core/errors.ts";
import { type StepProgress, assertTerminated, migrationFailure, outcomes, serverPosition } from "../core/failure-report.ts";
import { interruptedError } from "../core/interrupt.ts";
import type { Migration } from "../core/migration-set.ts";
import { type QueryPiece, piecesAroundCopyOut } from "../core/query-pieces.ts";
import { blankTransactionControl } from "../core/sql-lexer.ts";
import { type BlockerWatch, NO_WATCH, watchBlockers } from "./blockers.ts";
import { registeredSecrets } from "../log.ts";
import { lastRowSet } from "./connection.ts";
import { isConnectionFailure } from "./connection-failures.ts";
import { takeTransactionLock } from "./lock.ts";
import { composeOneQuery } from "./one-query.ts";
import { settleLostOutcome } from "./lost-outcome.ts";
import { type MigrationSession, beginSql, rollbackAfter, runCancellable } from "./session.ts";
import { applyStatementByStatement } from "./apply-statements.ts";
import { isRecorded, recordAppliedSql, rowWasRecorded } from "./tracking-rows.ts";

/**
 * Applies one migration and returns its duration in ms, or null when another
 * runner applied it first (transaction mode). A transactional migration runs
 * with its tracking row in one transaction: applied entirely or not at all.
 */
export async function applyMigration(session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number | null> {
  if (session.signal?.aborted) throw interruptedError(session.signal);
  return migration.options.transaction
    ? applyInTransaction(session, migration, progress)
    : applyStatementByStatement(session, migration, progress);
}

/**
 * The guard: a savepoint with a random name, opened right after BEGIN and
 * released just before the tracking row is written. A COMMIT or ROLLBACK the
 * file ran itself ends the transaction and every savepoint in it, so the
 * release fails and with it the row and our COMMIT. Unlike a setting,
 * nothing a file can run inside the transaction (SET, RESET ALL, SET SESSION
 * AUTHORIZATION) removes it without knowing its name; DISCARD ALL refuses to
 * run in a transaction.
 */
function guardName(): string {
  return `st44_guard_${randomUUID().replace(/-/g, "")}`;
}

/** BEGIN with the run's settings, then the guard; its last row holds the backend's pid. */
function beginWithGuardSql(session: MigrationSession, guard: string): string {
  return `${beginSql(session)}; savepoint ${guard}; select pg_backend_pid() as pid`;
}

/** The guard's release, the tracking row's statements and COMMIT, ending the migration's transaction. */
function finishSql(session: MigrationSession, migration: Migration, guard: string): string {
  return [`release savepoint ${guard}`, ...recordAppliedSql(migration, session.runner, guard), "commit"].join(";\n");
}

/** The release failed: outside any transaction block (25P01), or in a new one that lacks the guard (3B001). */
function guardFailed(error: unknown, guard: string): boolean {
  const { code, message } = error as { code?: string; message?: string };
  return code === "25P01" || (code === "3B001" && (message ?? "").includes(guard));
}

function endedTransaction(migration: Migration, cause?: unknown): MigrateError {
  return new MigrateError(
    "MIGRATION_ENDED_TRANSACTION",
    `${migration.fileName} ended the runner's transaction itself (a COMMIT or ROLLBACK the runner could not remove, for example inside a procedure call), so part of it may already be committed and it was not recorded; the rest was rolled back. Check the schema by hand, remove the transaction control from the file, and if the file needs statements outside a transaction put "-- migrate:up transaction:false" on its up marker.`,
    { cause },
  );
}

/** How a transactional migration reached the server: what came back, and where an error points in the file. */
interface Sent {
  readonly results: unknown;
}

class SendFailure {
  constructor(
    readonly error: unknown,
    /** The server's position mapped into the up part; null when it points elsewhere. */
    readonly position: number | null,
    /** Whether the query that failed could have committed (it held our COMMIT). */
    readonly mayHaveCommitted: boolean,
  ) {}
}

/**
 * Session mode: one round trip. BEGIN with this run's settings, the file, the
 * tracking row and COMMIT as one simple-protocol query. The server stops at
 * the first error and leaves the transaction aborted (rolled back by the
 * caller). One message, not several queued ones: postgres.js 3.4.9 crashes on
 * a queued write when the server ends the connection (a TypeError from a
 * timer). assertTerminated made sure the file closes every quote and comment
 * it opens, so the finish cannot end up inside one.
 */
async function sendInOneQuery(session: MigrationSession, migration: Migration, text: string, guard: string, watch: (pid: number) => void): Promise<Sent> {
  const query = composeOneQuery(`${beginWithGuardSql(session, guard)};\n`, text, finishSql(session, migration, guard));
  watch(session.backendPid);
  try {
    return { results: await runCancellable(session, query.text) };
  } catch (error) {
    const position = serverPosition(error);
    throw new SendFailure(query.pointsPastFile(position) ? readPastTheFile(error) : error, query.positionInFile(position), true);
  }
}

/**
 * The server's error points into the runner's statements after the file, so
 * its message quotes them ("syntax error at or near ..."): the file left
 * something open by the server's reading that the splitter saw closed.
 * Say that instead, keeping the server's code, detail and hint.
 */
function readPastTheFile(error: unknown): unknown {
  const shown = Object.create(error as object) as { message: string; position?: string };
  shown.message =
    "the server read past the end of the file: a string, quoted identifier or comment in it does not end where st44-migrate's statement splitter ends it (for example a backslash before a quote in '...' while standard_conforming_strings is off; write E'...' or double the backslash), so the server's error is about the runner's own statements after the file";
  shown.position = undefined;
  return shown;
}

/**
 * Each step its own query: behind a pooler (the transaction-level lock and
 * the re-check of the row come between BEGIN and the file), and for a file
 * that streams COPY data (each COPY alone, see piecesAroundCopyOut).
 * "skipped" when another runner recorded the migration meanwhile.
 */
async function sendStepwise(
  session: MigrationSession,
  migration: Migration,
  text: string,
  pieces: readonly QueryPiece[],
  guard: string,
  watch: (pid: number) => void,
): Promise<Sent | "skipped"> {
  const { db } = session;
  try {
    const began = await db.unsafe(beginWithGuardSql(session, guard));
    watch(lastRowSet<{ pid: number }>(began)[0]?.pid ?? 0);
    if (session.lockMode === "transaction") {
      await takeTransactionLock(db, session.lockWaitMs, session.lockTimeoutMs);
      if (await isRecorded(db, migration.key)) return "skipped";
    }
  } catch (error) {
    throw new SendFailure(error, null, false);
  }
  for (const piece of pieces) {
    try {
      await runCancellable(session, text.slice(piece.start, piece.end));
    } catch (error) {
      const position = serverPosition(error);
      throw new SendFailure(error, position === null ? null : piece.start + position, false);
    }
  }
  try {
    return { results: await db.unsafe(finishSql(session, migration, guard)) };
  } catch (error) {
    throw new SendFailure(error, null, true);
  }
}

async function applyInTransaction(session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number | null> {
  // A legacy file's own BEGIN/COMMIT would end our transaction early; blank them.
  const { text, unterminated } = blankTransactionControl(migration.up);
  assertTerminated(migration, unterminated, registeredSecrets());
  const guard = guardName();
  const pieces = piecesAroundCopyOut(text);
  let watch: BlockerWatch = NO_WATCH;
  let backendPid = session.backendPid;
  const startWatching = (pid: number): void => {
    backendPid = pid;
    watch = watchBlockers(session.pool, pid, migration.fileName, session.log);
  };
  const started = performance.now();
  try {
    const sent =
      session.lockMode === "transaction" || pieces.length > 1
        ? await sendStepwise(session, migration, text, pieces, guard, startWatching)
        : await sendInOneQuery(session, migration, text, guard, startWatching);
    watch.stop();
    if (sent === "skipped") {
      await session.db.unsafe("rollback");
      session.log.info(`${migration.fileName} was applied by another runner meanwhile; skipped`, { event: "migration_skipped", version: migration.version });
      return null;
    }
    // The query succeeded, so the guard was released inside our transaction and the row written; should the
    // results not show the row, the table has the last word.
    if (!rowWasRecorded(sent.results, guard) && !(await isRecorded(session.db, migration.key))) throw endedTransaction(migration);
    return Math.round(performance.now() - started);
  } catch (thrown) {
    const blockers = watch.stop();
    const { error, position, mayHaveCommitted } = thrown instanceof SendFailure ? thrown : new SendFailure(thrown, null, false);
    await rollbackAfter(session, error);
    if (error instanceof MigrateError) throw error;
    if (guardFailed(error, guard)) throw endedTransaction(migration, error);
    const connectionLost = isConnectionFailure(error);
    // The connection broke with our COMMIT on its way: only the database can say what happened.
    const outcome =
      connectionLost && mayHaveCommitted
        ? await settleLostOutcome(session, migration, backendPid)
        : session.signal?.aborted
          ? null
          : outcomes.rolledBack(migration.fileName);
    if (outcome === null) throw interruptedError(session.signal);
    throw migrationFailure(error, {
      source: migration,
      queryOffset: migration.upOffset,
      position,
      outcome,
      progress,
      connectionLost,
      secrets: registeredSecrets(),
      version: migration.version,
      blockers,
    });
  }
}
