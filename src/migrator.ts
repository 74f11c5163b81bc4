import { hostname } from "node:os";
import type postgres from "postgres";
import { buildInfo } from "./build-info.ts";
import type { ConnectionConfig } from "./config.ts";
import { MigrateError } from "./core/errors.ts";
import type { Migration } from "./core/migration-set.ts";
import { type Plan, planMigrations } from "./core/plan.ts";
import { applyMigration } from "./db/apply.ts";
import { type Sql, waitForDatabase } from "./db/connection.ts";
import { acquireMigrationLock, releaseMigrationLock } from "./db/lock.ts";
import { type TrackingState, ensureTrackingTable, readTracking } from "./db/tracking.ts";
import { type Logger, silentLogger } from "./log.ts";

export interface MigratorOptions {
  readonly sql: Sql;
  readonly connection: ConnectionConfig;
  readonly migrations: readonly Migration[];
  readonly log: Logger;
  /** How long to wait for the server to accept connections (ms); 0 tries once. */
  readonly waitMs: number;
  /** How long to wait for another runner's migration lock (ms). */
  readonly lockWaitMs: number;
  /** "fail" refuses when the database holds migrations this build does not know. */
  readonly onUnknown?: "warn" | "fail";
}

export interface AppliedMigration {
  readonly version: string;
  readonly name: string;
  readonly durationMs: number;
}

export interface UpResult {
  readonly applied: readonly AppliedMigration[];
  /** The state after the run. */
  readonly plan: Plan;
  readonly durationMs: number;
}

type Reserved = postgres.ReservedSql<Record<string, never>>;

/**
 * Waits for the server, then reads the state. The read is the connection
 * probe: it opens the pool's first connection (postgres.js 3.4.9's reserve()
 * hangs on a pool that has none yet).
 */
export function waitAndReadPlan(
  options: Pick<MigratorOptions, "sql" | "connection" | "waitMs" | "log" | "migrations">,
): Promise<{ plan: Plan; tracking: TrackingState }> {
  return waitForDatabase(() => readPlan(options.sql, options.migrations), options.connection, options.waitMs, options.log);
}

/** Reads the tracking table and compares it with the migrations; writes nothing. */
export async function readPlan(db: Reserved | Sql, migrations: readonly Migration[]): Promise<{ plan: Plan; tracking: TrackingState }> {
  const tracking = await readTracking(db);
  return { plan: planMigrations(migrations, tracking.rows), tracking };
}

/** Refuses, before anything is written, when files and database disagree. */
export function assertConsistent(plan: Plan, onUnknown: "warn" | "fail", log: Logger): void {
  if (plan.changed.length > 0) {
    throw new MigrateError(
      "CHECKSUM_MISMATCH",
      `${plan.changed.length} applied migration(s) differ from the files of this build: ${plan.changed.map((entry) => entry.migration?.fileName ?? entry.version).join(", ")}. An applied migration must not be edited: restore the file as it was applied and put the change in a new migration. If the edit is harmless (a comment, line endings), accept it with st44-migrate repair. Nothing was applied.`,
      { details: plan.changed.map((entry) => `  ${entry.version}: database ${entry.row?.checksum ?? "?"} != file ${entry.migration?.checksum ?? "?"}`) },
    );
  }
  if (plan.unknown.length > 0) {
    const list = plan.unknown.map((entry) => `${entry.version} (${entry.name})`).join(", ");
    if (onUnknown === "fail") {
      throw new MigrateError(
        "UNKNOWN_MIGRATIONS",
        `The database has migrations this build does not know: ${list}. It was migrated by a newer release; deploy that release, or roll those migrations back with it, or pass --on-unknown warn to go on anyway. Nothing was applied.`,
      );
    }
    log.warn(`the database has migrations this build does not know: ${list} (a newer release migrated it; continuing)`, {
      event: "unknown_migrations",
      unknown: plan.unknown.map((entry) => entry.version),
    });
  }
  for (const migration of plan.outOfOrder) {
    log.warn(`${migration.fileName} is older than the latest applied migration (${plan.latestApplied}); applying it out of order`, {
      event: "out_of_order",
      version: migration.version,
    });
  }
}

/**
 * `up`: waits for the database, and if anything is pending takes the
 * migration lock, re-reads the state under it, then applies each pending
 * migration in its own transaction. A no-op run takes one query and no lock.
 */
export async function migrateUp(options: MigratorOptions): Promise<UpResult> {
  const started = performance.now();
  const { log } = options;
  const onUnknown = options.onUnknown ?? "warn";
  const first = await waitAndReadPlan(options);
  assertConsistent(first.plan, onUnknown, log);
  if (first.tracking.kind === "ready" && first.plan.pending.length === 0) {
    return { applied: [], plan: first.plan, durationMs: Math.round(performance.now() - started) };
  }

  // The lock is a session lock: take it, and apply, on one dedicated connection.
  const db = (await options.sql.reserve()) as Reserved;
  try {
    await acquireMigrationLock(db, options.lockWaitMs, log);
    try {
      // Another runner may have finished while we waited: decide again under the lock.
      const before = await readPlan(db, options.migrations);
      if (before.tracking.kind !== "ready") {
        if (before.tracking.kind === "legacy") {
          log.info(`adopting the existing schema_migrations table (${before.tracking.rows.length} rows kept)`, {
            event: "adopt_tracking_table",
            rows: before.tracking.rows.length,
          });
        }
        await ensureTrackingTable(db);
      }
      const { plan } = before.tracking.kind === "ready" ? before : await readPlan(db, options.migrations);
      // The first check already warned about unknown and out-of-order migrations.
      assertConsistent(plan, "warn", silentLogger);

      const runner = `st44-migrate ${buildInfo.version} (${buildInfo.commit}) on ${hostname()}`;
      const applied: AppliedMigration[] = [];
      for (const [index, migration] of plan.pending.entries()) {
        const durationMs = await applyMigration(db, migration, {
          runner,
          appliedBefore: index,
          remainingAfter: plan.pending.length - index - 1,
        });
        applied.push({ version: migration.version, name: migration.name, durationMs });
        log.success(`applied ${migration.fileName} in ${durationMs} ms`, {
          event: "migration_applied",
          version: migration.version,
          name: migration.name,
          duration_ms: durationMs,
        });
      }
      const after = await readPlan(db, options.migrations);
      return { applied, plan: after.plan, durationMs: Math.round(performance.now() - started) };
    } finally {
      await releaseMigrationLock(db).catch(() => {});
    }
  } finally {
    db.release();
  }
}



