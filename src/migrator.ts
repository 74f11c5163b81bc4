import { hostname } from "node:os";
import type postgres from "postgres";
import { buildInfo } from "./build-info.ts";
import type { ConnectionConfig } from "./config.ts";
import { MigrateError } from "./core/errors.ts";
import type { Migration } from "./core/migration-set.ts";
import { type Plan, planMigrations } from "./core/plan.ts";
import { applyMigration, recordBaseline, recordRepair, revertMigration } from "./db/apply.ts";
import { type Sql, waitForDatabase } from "./db/connection.ts";
import { acquireMigrationLock, releaseMigrationLock } from "./db/lock.ts";
import { missingTables } from "./db/tables.ts";
import { type TrackingState, ensureTrackingTable, readStoredDown, readTracking } from "./db/tracking.ts";
import { type RollbackStep, type RollbackTarget, planRollback } from "./core/rollback.ts";
import { expectedTables } from "./core/expected-tables.ts";
import { compareVersions, isVersion, versionKey } from "./core/version.ts";
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

type Locked = { readonly db: Reserved; readonly plan: Plan; readonly runner: string };

/**
 * Takes the migration lock on a dedicated connection, creates or adopts the
 * tracking table, and reads the state again under the lock (another runner
 * may have changed it while we waited), then runs `work`.
 */
async function underMigrationLock<T>(options: MigratorOptions, work: (locked: Locked) => Promise<T>): Promise<T> {
  const { log } = options;
  // The lock is a session lock: take it, and do the work, on one dedicated connection.
  const db = (await options.sql.reserve()) as Reserved;
  try {
    await acquireMigrationLock(db, options.lockWaitMs, log);
    try {
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
      const runner = `st44-migrate ${buildInfo.version} (${buildInfo.commit}) on ${hostname()}`;
      return await work({ db, plan, runner });
    } finally {
      await releaseMigrationLock(db).catch(() => {});
    }
  } finally {
    db.release();
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
  const first = await waitAndReadPlan(options);
  assertConsistent(first.plan, options.onUnknown ?? "warn", log);
  if (first.tracking.kind === "ready" && first.plan.pending.length === 0) {
    return { applied: [], plan: first.plan, durationMs: Math.round(performance.now() - started) };
  }
  return underMigrationLock(options, async ({ db, plan, runner }) => {
    // The first check already warned about unknown and out-of-order migrations.
    assertConsistent(plan, "warn", silentLogger);
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
  });
}

export interface DownResult {
  readonly reverted: readonly (AppliedMigration & { readonly source: RollbackStep["source"] })[];
  readonly plan: Plan;
}

/**
 * `down`: undoes applied migrations newest first, each in its own transaction
 * with its row removed. `confirm` sees the steps before anything runs and may
 * refuse (it throws). Down SQL comes from this build's files, else from the
 * tracking table (migrations applied by a newer release).
 */
export async function migrateDown(
  options: MigratorOptions,
  target: RollbackTarget,
  confirm: (steps: readonly RollbackStep[]) => Promise<void>,
): Promise<DownResult> {
  const { log } = options;
  await waitAndReadPlan(options);
  return underMigrationLock(options, async ({ db, plan }) => {
    const steps = planRollback(plan, target, await readStoredDown(db));
    if (steps.length === 0) return { reverted: [], plan };
    await confirm(steps);
    const reverted: (AppliedMigration & { source: RollbackStep["source"] })[] = [];
    for (const [index, step] of steps.entries()) {
      const durationMs = await revertMigration(
        db,
        { key: step.entry.key, sql: step.sql, source: { fileName: step.sourceName, text: step.sourceText }, sourceOffset: step.sourceOffset },
        { runner: "", appliedBefore: index, remainingAfter: steps.length - index - 1 },
      );
      reverted.push({ version: step.entry.version, name: step.entry.name, durationMs, source: step.source });
      log.success(`rolled back ${step.entry.version}_${step.entry.name} in ${durationMs} ms${step.source === "stored" ? " (down SQL stored in schema_migrations)" : ""}`, {
        event: "migration_reverted",
        version: step.entry.version,
        source: step.source,
        duration_ms: durationMs,
      });
    }
    return { reverted, plan: (await readPlan(db, options.migrations)).plan };
  });
}

/** `baseline --to VERSION`: records migrations up to VERSION as applied without running them. */
export async function baselineTo(options: MigratorOptions, version: string): Promise<readonly Migration[]> {
  if (!isVersion(version)) throw new MigrateError("USAGE", `baseline --to takes a version number (for example 016), not "${version}".`);
  await waitAndReadPlan(options);
  return underMigrationLock(options, async ({ db, plan, runner }) => {
    const beyond = plan.applied.filter((entry) => compareVersions(entry.version, version) > 0);
    if (beyond.length > 0) {
      throw new MigrateError(
        "BASELINE_REFUSED",
        `schema_migrations already has migrations beyond ${version}: ${beyond.map((entry) => entry.version).join(", ")}. A baseline only marks a database whose schema was created by hand and that the runner has not migrated past that point. Nothing was recorded; check st44-migrate status.`,
      );
    }
    const marked = plan.pending.filter((migration) => compareVersions(migration.version, version) <= 0);
    await recordBaseline(db, marked, runner);
    for (const migration of marked) {
      options.log.success(`baselined ${migration.fileName} (recorded as applied, not run)`, { event: "migration_baselined", version: migration.version });
    }
    return marked;
  });
}

/** `repair --accept VERSION`: takes the file's current checksum for an applied migration edited on purpose. */
export async function repairChecksum(options: MigratorOptions, version: string): Promise<{ from: string | null; to: string } | null> {
  await waitAndReadPlan(options);
  return underMigrationLock(options, async ({ db, plan, runner }) => {
    const entry = plan.entries.find((candidate) => candidate.key === versionKey(version));
    if (!entry || !entry.row || !entry.migration) {
      throw new MigrateError(
        "REPAIR_REFUSED",
        `repair --accept ${version}: ${!entry?.migration ? "this build has no migration with that version" : "that migration is not applied"}, so there is no checksum to accept. See st44-migrate status.`,
      );
    }
    if (entry.row.checksum === entry.migration.checksum) return null;
    await recordRepair(db, entry.migration, entry.row.checksum, runner);
    options.log.success(`accepted the current text of ${entry.migration.fileName} (checksum ${entry.row.checksum?.slice(0, 12) ?? "none"}… -> ${entry.migration.checksum.slice(0, 12)}…)`, {
      event: "migration_repaired",
      version: entry.version,
    });
    return { from: entry.row.checksum, to: entry.migration.checksum };
  });
}

export interface VerifyFinding {
  readonly kind: "changed" | "unknown" | "pending" | "missing-table";
  readonly subject: string;
  readonly message: string;
}

/** `verify`: every way the database and this build disagree, without writing or locking. */
export async function verifyDatabase(options: MigratorOptions): Promise<{ plan: Plan; findings: VerifyFinding[] }> {
  const { plan } = await waitAndReadPlan(options);
  const missing = await missingTables(options.sql, expectedTables(options.migrations));
  const findings: VerifyFinding[] = [
    ...plan.changed.map((entry) => ({
      kind: "changed" as const,
      subject: entry.version,
      message: `${entry.migration?.fileName ?? entry.version}: applied with checksum ${entry.row?.checksum?.slice(0, 12) ?? "?"}…, the file now has ${entry.migration?.checksum.slice(0, 12) ?? "?"}… (restore the file, or st44-migrate repair --accept ${entry.version} if the edit is harmless)`,
    })),
    ...plan.unknown.map((entry) => ({
      kind: "unknown" as const,
      subject: entry.version,
      message: `${entry.version} (${entry.name}): applied, but this build does not know it (${entry.row?.hasDown ? "can be rolled back with down --to-known" : "has no stored down SQL"})`,
    })),
    ...plan.pending.map((migration) => ({
      kind: "pending" as const,
      subject: migration.version,
      message: `${migration.fileName}: not applied (st44-migrate up)`,
    })),
    ...missing.map((name) => ({
      kind: "missing-table" as const,
      subject: name,
      message: `table ${name}: the migrations create it but it does not exist`,
    })),
  ];
  return { plan, findings };
}
