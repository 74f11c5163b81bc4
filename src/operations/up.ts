import { MigrateError } from "../core/errors.ts";
import { exitCodeForSignal, interruptedError } from "../core/interrupt.ts";
import type { Migration } from "../core/migration-set.ts";
import { type AppliedRow, type Plan, planMigrations } from "../core/plan.ts";
import { applyMigration } from "../db/apply.ts";
import { assertCanRecord } from "../db/record-privileges.ts";
import type { StepProgress } from "../core/failure-report.ts";
import type { MigrationSession } from "../db/session.ts";
import { silentLogger } from "../log.ts";
import type { AppliedMigration, MigratorOptions, ReadState } from "./options.ts";
import { assertConsistent, assertSchemaPresent, readPlan, startCandidateCheck, stateOf, waitAndReadTracking } from "./read-plan.ts";
import { underMigrationLock } from "./under-lock.ts";

export interface UpResult {
  readonly applied: readonly AppliedMigration[];
  /** The state after the run. */
  readonly plan: Plan;
  readonly durationMs: number;
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
      if (session.signal?.aborted) throw interruptedError(session.signal);
    }
  }
}

function interruptedAfter(signal: AbortSignal, applied: number): MigrateError {
  const name = typeof signal.reason === "string" ? signal.reason : "a signal";
  return new MigrateError(
    "INTERRUPTED",
    `Stopped by ${name} as the last migration finished: the ${applied} migration(s) applied in this run stay applied and recorded, the lock was released, and nothing was started. Run st44-migrate again to continue.`,
    { exitCode: exitCodeForSignal(signal.reason) },
  );
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
 * migration in its own transaction. A no-op run takes no lock: one read of
 * the tracking table and, when rows are recorded, one question about the
 * tables they stand for.
 */
export async function migrateUp(options: MigratorOptions): Promise<UpResult> {
  const started = performance.now();
  const { log } = options;
  const tracking = await waitAndReadTracking(options);
  // The server answers the schema question while the plan is made.
  const asked = startCandidateCheck(options, options.migrations, tracking);
  let first: ReadState;
  try {
    first = stateOf(tracking, options.migrations);
    assertConsistent(first.plan, options.onUnknown ?? "warn", log);
  } catch (error) {
    // A refusal returns the connection idle: the question's answer is waited for (it never rejects), not left running.
    await asked?.missing;
    throw error;
  }
  await assertSchemaPresent(options, first.plan, asked);
  if (first.tracking.kind === "ready" && first.plan.pending.length === 0) {
    return { applied: [], plan: first.plan, durationMs: Math.round(performance.now() - started) };
  }
  return underMigrationLock(
    options,
    async ({ session, plan }) => {
      // The first check already warned about unknown and out-of-order migrations.
      assertConsistent(plan, "warn", silentLogger);
      await assertCanRecord(session.db, plan.pending);
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
      // A signal that came while the last migration finished: it stays applied, and nothing may start after it.
      if (session.signal?.aborted) throw interruptedAfter(session.signal, applied.length);
      // The state after the run follows from what we did, unless another runner did part of it (a pooler).
      const after = skipped ? (await readPlan(session.db, options.migrations)).plan : withApplied(plan, applied, options.migrations);
      return { applied, plan: after, durationMs: Math.round(performance.now() - started) };
    },
    first,
  );
}
