import type postgres from "postgres";
import { buildInfo, hostName } from "./build-info.ts";
import type { ConnectionConfig } from "./config.ts";
import { MigrateError } from "./core/errors.ts";
import type { Migration } from "./core/migration-set.ts";
import { type AppliedRow, type Plan, planMigrations } from "./core/plan.ts";
import { type LockMode, type MigrationSession, type StepProgress, applyMigration, interrupted, recordBaseline, recordRepair, revertMigration } from "./db/apply.ts";
import { type Sql, waitForDatabase } from "./db/connection.ts";
import { MIGRATION_LOCK_KEY, acquireMigrationLock, releaseMigrationLock } from "./db/lock.ts";
import { missingTables } from "./db/tables.ts";
import { type TrackingState, createAndReadTracking, ensureTrackingTable, readStoredDown, readTracking } from "./db/tracking.ts";
import { type RollbackStep, type RollbackTarget, planRollback } from "./core/rollback.ts";
import { expectedTables } from "./core/expected-tables.ts";
import { compareVersions, isVersion, versionKey } from "./core/version.ts";
import { type LogFields, type Logger, silentLogger } from "./log.ts";

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
  /** lock_timeout while migrating (ms): fail instead of queueing behind application locks. Default 10 s. */
  readonly lockTimeoutMs?: number;
  /** statement_timeout while migrating (ms), 0 for none. */
  readonly statementTimeoutMs?: number;
  /** How often a migration that hit lock_timeout is tried again, with backoff. Default 0. */
  readonly lockRetries?: number;
  /** "auto" uses transaction-level locks when the connection goes through a pooler. */
  readonly lockMode?: "auto" | LockMode;
  /**
   * Called when the run starts writing (the lock is taken): returns a signal
   * whose abort (SIGTERM) cancels the statement in progress and rolls it
   * back. Lazy, because installing signal handlers costs start-up time and
   * before anything is written the default (exit) is right.
   */
  readonly interruptSignal?: () => AbortSignal;
  /** A read started before the migrations were loaded (startReadingTracking). */
  readonly startedRead?: StartedRead;
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
  options: Pick<MigratorOptions, "sql" | "connection" | "waitMs" | "log" | "migrations" | "startedRead">,
): Promise<{ plan: Plan; tracking: TrackingState }> {
  const started = options.startedRead?.take();
  if (started) return readPlanFrom(started, options.migrations);
  return waitForDatabase(() => readPlan(options.sql, options.migrations), options.connection, options.waitMs, options.log);
}

/** A wait-and-read of the tracking table already under way, taken (once) by the first waitAndReadPlan. */
export interface StartedRead {
  take(): Promise<TrackingState> | null;
  /** Stops waiting and logging, when nobody will take it (the files were broken): before closing the client. */
  cancel(): void;
}

/**
 * Starts waiting for the server and reading the tracking table now, so that
 * connecting (the login, a backend starting: most of a no-op run) overlaps
 * whatever the caller does before it needs the state, such as reading the
 * migration files.
 */
export function startReadingTracking(options: Pick<MigratorOptions, "sql" | "connection" | "waitMs" | "log">): StartedRead {
  let cancelled = false;
  const quietOnceCancelled = (type: keyof Logger) => (message: string, fields?: LogFields) => {
    if (!cancelled) options.log[type](message, fields);
  };
  const log: Logger = { info: quietOnceCancelled("info"), success: quietOnceCancelled("success"), warn: quietOnceCancelled("warn"), error: quietOnceCancelled("error"), debug: quietOnceCancelled("debug") };
  const attempt = (): Promise<TrackingState> => {
    // A MigrateError ends the wait at once.
    if (cancelled) return Promise.reject(new MigrateError("INTERNAL", "The read of the tracking table was cancelled."));
    return readTracking(options.sql);
  };
  let read: Promise<TrackingState> | null = waitForDatabase(attempt, options.connection, options.waitMs, log);
  // Its failure is reported by whoever takes it; nobody does when the files turn out to be broken.
  read.catch(() => {});
  return {
    take() {
      const taken = read;
      read = null;
      return taken;
    },
    cancel() {
      cancelled = true;
      read = null;
    },
  };
}

/** Reads the tracking table and compares it with the migrations; writes nothing. */
export function readPlan(db: Reserved | Sql, migrations: readonly Migration[]): Promise<{ plan: Plan; tracking: TrackingState }> {
  return readPlanFrom(readTracking(db), migrations);
}

async function readPlanFrom(reading: Promise<TrackingState>, migrations: readonly Migration[]): Promise<{ plan: Plan; tracking: TrackingState }> {
  const tracking = await reading;
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

type Locked = { readonly session: MigrationSession; readonly plan: Plan };

interface SessionProbe {
  port: number | null;
  pid: number;
  /** Whether the probe took the session lock already: null when it did not try (transaction mode). */
  locked: boolean | null;
  version: number;
  can_create: boolean;
  role: string;
  schema: string | null;
}

/**
 * Learns about the session and, where the session lock is the right one,
 * tries to take it, in one round trip: the server compares the ports itself
 * (as chooseLockMode does afterwards), so behind a pooler no session lock is
 * ever taken.
 */
function probeSql(options: MigratorOptions): string {
  const requested = options.lockMode ?? "auto";
  const sessionLock =
    requested === "session" ? "true" : requested === "transaction" ? "false" : `coalesce(inet_server_port() = ${Math.trunc(options.connection.port)}, true)`;
  return `select inet_server_port() as port, pg_backend_pid() as pid, current_setting('server_version_num')::int as version,
            has_schema_privilege(coalesce(current_schema(), 'public'), 'CREATE') as can_create, current_user as role, current_schema() as schema,
            case when ${sessionLock} then pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) end as locked`;
}

/** Behind PgBouncer the server's own port differs from the one we dialled; a direct connection's does not. */
function chooseLockMode(options: MigratorOptions, probe: SessionProbe): LockMode {
  const requested = options.lockMode ?? "auto";
  if (requested !== "auto") return requested;
  if (probe.port !== null && probe.port !== options.connection.port) {
    options.log.info(
      `the server listens on port ${probe.port} but we connected to ${options.connection.port}: a connection pooler (PgBouncer?) is in between, so each migration takes a transaction-level lock instead of one session lock`,
      { event: "lock_mode", lock_mode: "transaction" },
    );
    return "transaction";
  }
  return "session";
}

/** plan refuses, as up would, when the role may not create what the pending migrations create. */
export async function assertCanApply(options: Pick<MigratorOptions, "sql">, plan: Plan): Promise<void> {
  if (plan.pending.length === 0) return;
  const [probe] = await options.sql<SessionProbe[]>`
    select has_schema_privilege(coalesce(current_schema(), 'public'), 'CREATE') as can_create, current_user as role, current_schema() as schema`;
  if (probe && !probe.can_create) throw missingCreateGrant(probe);
}

function missingCreateGrant(probe: Pick<SessionProbe, "role" | "schema">): MigrateError {
  const schema = probe.schema ?? "public";
  return new MigrateError(
    "DB_PERMISSION_DENIED",
    `The database role "${probe.role}" may not create tables in schema ${schema}, which the migrations (and the tracking table) need. Nothing was applied. Run st44-migrate as the role that owns the schema, or grant it: GRANT CREATE ON SCHEMA ${schema} TO "${probe.role}"; (the API can keep a less privileged role: it only needs SELECT on schema_migrations for the health check).`,
  );
}

/**
 * Takes the migration lock on a dedicated connection, creates or adopts the
 * tracking table, and reads the state again under the lock (another runner
 * may have changed it while we waited), then runs `work`.
 */
async function underMigrationLock<T>(
  options: MigratorOptions,
  work: (locked: Locked) => Promise<T>,
  /** What the read before the lock found: "missing" lets the table be created and read in one round trip. */
  seen?: TrackingState["kind"],
): Promise<T> {
  const { log } = options;
  const signal = options.interruptSignal?.();
  if (signal?.aborted) throw interrupted(signal);
  const db = (await options.sql.reserve()) as Reserved;
  let locked = false;
  try {
    const [probe] = await db.unsafe<SessionProbe[]>(probeSql(options));
    if (!probe) throw new MigrateError("INTERNAL", "The session probe returned no row.");
    locked = probe.locked === true;
    const lockMode = chooseLockMode(options, probe);
    if (lockMode === "transaction" && locked) {
      throw new MigrateError("INTERNAL", "The session probe took the session lock on a pooled connection; this is a bug, please report it.");
    }
    const session: MigrationSession = {
      db,
      backendPid: probe.pid,
      pool: options.sql,
      lockMode,
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
      statementTimeoutMs: options.statementTimeoutMs ?? 0,
      lockWaitMs: options.lockWaitMs,
      checksClientConnection: probe.version >= 140000,
      runner: `st44-migrate ${buildInfo.version} (${buildInfo.commit}) on ${hostName()}`,
      log,
      signal,
      connection: { lost: false },
    };
    if (lockMode === "session" && !locked) await acquireMigrationLock(db, options.lockWaitMs, log, signal);
    locked = lockMode === "session";
    try {
      // Read again under the lock: another runner may have migrated while we waited for it.
      const before =
        seen === "missing" && lockMode === "session" && probe.can_create
          ? await readPlanFrom(createAndReadTracking(db), options.migrations)
          : await readPlan(db, options.migrations);
      if (before.tracking.kind !== "ready") {
        if (before.tracking.kind === "missing" && !probe.can_create) throw missingCreateGrant(probe);
        if (before.tracking.kind === "legacy") {
          log.info(`adopting the existing schema_migrations table (${before.tracking.rows.length} rows kept)`, {
            event: "adopt_tracking_table",
            rows: before.tracking.rows.length,
          });
        }
        await ensureTrackingTable(db, before.tracking.kind, lockMode === "transaction" ? options.lockWaitMs : null);
      }
      // Under the session lock nobody else writes the table: its rows are those read before creating or adopting it.
      const { plan } =
        before.tracking.kind === "ready"
          ? before
          : lockMode === "session"
            ? { plan: planMigrations(options.migrations, before.tracking.rows) }
            : await readPlan(db, options.migrations);
      if (plan.pending.length > 0 && !probe.can_create) throw missingCreateGrant(probe);
      return await work({ session, plan });
    } finally {
      // A lost connection took its session lock with it.
      if (locked && !session.connection.lost) await releaseMigrationLock(db).catch(() => {});
      locked = false;
    }
  } finally {
    // The probe may have taken the lock before something failed on the way here.
    if (locked) await releaseMigrationLock(db).catch(() => {});
    db.release();
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Applies one migration, trying again after lock_timeout failures when --lock-retries allows. */
async function applyWithRetries(options: MigratorOptions, session: MigrationSession, migration: Migration, progress: StepProgress): Promise<number | null> {
  const retries = options.lockRetries ?? 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await applyMigration(session, migration, progress);
    } catch (error) {
      const lockTimedOut = error instanceof MigrateError && (error.cause as { code?: string } | undefined)?.code === "55P03";
      if (!lockTimedOut || attempt >= retries || session.signal?.aborted) throw error;
      const delay = Math.min(1000 * 2 ** attempt, 30_000);
      options.log.warn(`${migration.fileName} hit lock_timeout (attempt ${attempt + 1} of ${retries + 1}); trying again in ${delay / 1000} s`, {
        event: "lock_retry",
        version: migration.version,
        attempt: attempt + 1,
        delay_ms: delay,
      });
      await sleep(delay, session.signal);
      if (session.signal?.aborted) throw interrupted(session.signal);
    }
  }
}

/** The plan after `applied` were recorded, without asking the database again. */
function withApplied(plan: Plan, applied: readonly AppliedMigration[], migrations: readonly Migration[]): Plan {
  const byVersion = new Map(migrations.map((migration) => [migration.version, migration]));
  const now = new Date();
  const rows: AppliedRow[] = [
    ...plan.entries.flatMap((entry) => (entry.row ? [entry.row] : [])),
    ...applied.map((done) => ({
      version: done.version,
      name: done.name,
      appliedAt: now,
      checksum: byVersion.get(done.version)?.checksum ?? null,
      durationMs: done.durationMs,
      hasDown: byVersion.get(done.version)?.down != null,
    })),
  ];
  return planMigrations(migrations, rows);
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
  return underMigrationLock(options, async ({ session, plan }) => {
    // The first check already warned about unknown and out-of-order migrations.
    assertConsistent(plan, "warn", silentLogger);
    const applied: AppliedMigration[] = [];
    let skipped = false;
    for (const [index, migration] of plan.pending.entries()) {
      const durationMs = await applyWithRetries(options, session, migration, { before: index, after: plan.pending.length - index - 1 });
      if (durationMs === null) {
        skipped = true;
        continue;
      }
      applied.push({ version: migration.version, name: migration.name, durationMs });
      log.success(`applied ${migration.fileName} in ${durationMs} ms`, {
        event: "migration_applied",
        version: migration.version,
        name: migration.name,
        duration_ms: durationMs,
      });
    }
    // The state after the run follows from what we did, unless another runner did part of it (a pooler).
    const after = skipped ? (await readPlan(session.db, options.migrations)).plan : withApplied(plan, applied, options.migrations);
    return { applied, plan: after, durationMs: Math.round(performance.now() - started) };
  }, first.tracking.kind);
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
  return underMigrationLock(options, async ({ session, plan }) => {
    const steps = planRollback(plan, target, await readStoredDown(session.db));
    if (steps.length === 0) return { reverted: [], plan };
    await confirm(steps);
    const reverted: (AppliedMigration & { source: RollbackStep["source"] })[] = [];
    for (const [index, step] of steps.entries()) {
      const durationMs = await revertMigration(
        session,
        { key: step.entry.key, sql: step.sql, source: { fileName: step.sourceName, text: step.sourceText }, sourceOffset: step.sourceOffset },
        { before: index, after: steps.length - index - 1 },
      );
      reverted.push({ version: step.entry.version, name: step.entry.name, durationMs, source: step.source });
      log.success(`rolled back ${step.entry.version}_${step.entry.name} in ${durationMs} ms${step.source === "stored" ? " (down SQL stored in schema_migrations)" : ""}`, {
        event: "migration_reverted",
        version: step.entry.version,
        source: step.source,
        duration_ms: durationMs,
      });
    }
    return { reverted, plan: (await readPlan(session.db, options.migrations)).plan };
  });
}

/** `baseline --to VERSION`: records migrations up to VERSION as applied without running them. */
export async function baselineTo(options: MigratorOptions, version: string): Promise<readonly Migration[]> {
  if (!isVersion(version)) throw new MigrateError("USAGE", `baseline --to takes a version number (for example 016), not "${version}".`);
  await waitAndReadPlan(options);
  return underMigrationLock(options, async ({ session, plan }) => {
    const beyond = plan.applied.filter((entry) => compareVersions(entry.version, version) > 0);
    if (beyond.length > 0) {
      throw new MigrateError(
        "BASELINE_REFUSED",
        `schema_migrations already has migrations beyond ${version}: ${beyond.map((entry) => entry.version).join(", ")}. A baseline only marks a database whose schema was created by hand and that the runner has not migrated past that point. Nothing was recorded; check st44-migrate status.`,
      );
    }
    const marked = plan.pending.filter((migration) => compareVersions(migration.version, version) <= 0);
    await recordBaseline(session, marked);
    for (const migration of marked) {
      options.log.success(`baselined ${migration.fileName} (recorded as applied, not run)`, { event: "migration_baselined", version: migration.version });
    }
    return marked;
  });
}

/** `repair --accept VERSION`: takes the file's current checksum for an applied migration edited on purpose. */
export async function repairChecksum(options: MigratorOptions, version: string): Promise<{ from: string | null; to: string } | null> {
  await waitAndReadPlan(options);
  return underMigrationLock(options, async ({ session, plan }) => {
    const entry = plan.entries.find((candidate) => candidate.key === versionKey(version));
    if (!entry || !entry.row || !entry.migration) {
      throw new MigrateError(
        "REPAIR_REFUSED",
        `repair --accept ${version}: ${!entry?.migration ? "this build has no migration with that version" : "that migration is not applied"}, so there is no checksum to accept. See st44-migrate status.`,
      );
    }
    if (entry.row.checksum === entry.migration.checksum) return null;
    await recordRepair(session, entry.migration, entry.row.checksum);
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
