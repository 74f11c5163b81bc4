import { MigrateError } from "../core/errors.ts";
import { type StepProgress, assertTerminated, migrationFailure, outcomes, serverPosition } from "../core/failure-report.ts";
import { interruptedError } from "../core/interrupt.ts";
import type { Migration } from "../core/migration-set.ts";
import { scanSql } from "../core/sql-lexer.ts";
import { registeredSecrets } from "../log.ts";
import { type Reserved } from "./connection.ts";
import { isConnectionFailure } from "./connection-failures.ts";
import { lockTimeoutSql } from "./lock.ts";
import { type MigrationSession, rollbackAfter, runCancellable } from "./session.ts";
import { recordApplied } from "./tracking-rows.ts";

/**
 * transaction:false: each statement on its own (CREATE INDEX CONCURRENTLY
 * refuses a transaction), then the tracking row in a transaction of its own.
 * Needs the session lock: behind a pooler the statements could run on
 * another server connection than the lock's.
 */
export async function applyStatementByStatement(session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number> {
  const { db } = session;
  if (session.lockMode === "transaction") {
    throw new MigrateError(
      "LOCK_MODE_UNSUPPORTED",
      `${migration.fileName} runs outside a transaction (transaction:false), which needs the session-level migration lock, and this connection goes through a pooler in transaction mode where session locks are unsafe. Nothing of it was applied. Run st44-migrate against PostgreSQL directly (its own host and port, not PgBouncer's) for this release, or pass --lock-mode session if this connection is direct after all.`,
    );
  }
  const { statements, unterminated } = scanSql(migration.up);
  assertTerminated(migration, unterminated, registeredSecrets());
  // For the session, as these statements run outside any transaction: a client that dies (SIGKILL) during a
  // long statement is noticed within a second, so the statement and its session lock go with it.
  const checkClient = session.checksClientConnection ? "; set client_connection_check_interval = 1000" : "";
  await db.unsafe(`${lockTimeoutSql(session.lockTimeoutMs, "session")}; set statement_timeout = ${Math.round(session.statementTimeoutMs)}${checkClient}`);
  const invalidBefore = await invalidIndexes(db);
  const started = performance.now();
  for (const statement of statements) {
    try {
      await runCancellable(session, migration.up.slice(statement.start, statement.end));
    } catch (error) {
      if (session.signal?.aborted) throw interruptedError(session.signal);
      const connectionLost = isConnectionFailure(error);
      if (connectionLost) session.connection.lost = true;
      const left = connectionLost ? [] : (await invalidIndexes(db).catch(() => [])).filter((name) => !invalidBefore.includes(name));
      // Without a position from the server (a runtime error), the statement that failed is still known.
      const position = serverPosition(error);
      throw migrationFailure(error, {
        source: migration,
        queryOffset: migration.upOffset + statement.start,
        position: position ?? 1,
        statementOnly: position === null,
        outcome: outcomes.partlyApplied(migration.fileName),
        progress,
        connectionLost,
        invalidIndexes: left,
        secrets: registeredSecrets(),
        version: migration.version,
      });
    }
  }
  const durationMs = Math.round(performance.now() - started);
  await db.unsafe("begin");
  try {
    await recordApplied(db, migration, durationMs, session.runner);
    await db.unsafe("commit");
  } catch (error) {
    await rollbackAfter(session, error);
    throw error;
  }
  return durationMs;
}

/** Indexes a failed CREATE INDEX CONCURRENTLY leaves behind: they exist, cost writes, and serve no query. */
async function invalidIndexes(db: Reserved): Promise<string[]> {
  const rows = await db.unsafe<{ name: string }[]>("select indexrelid::regclass::text as name from pg_index where not indisvalid order by 1");
  return rows.map((row) => row.name);
}
