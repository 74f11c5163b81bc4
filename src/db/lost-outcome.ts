import { type FailureOutcome, outcomes } from "../core/failure-report.ts";
import type { Migration } from "../core/migration-set.ts";
import { versionKey } from "../core/version.ts";
import type { MigrationSession } from "./session.ts";
import { withinMs } from "./deadline.ts";
import { readTracking } from "./tracking.ts";

/** How long to try to find out, on a new connection, what became of a migration whose connection broke. */
export const OUTCOME_CHECK_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const timedOut = () => new Error("timed out");

/**
 * The old backend may still be running the query (the connection broke on
 * our side only): end it, so it cannot commit after we have looked. A role
 * may end its own sessions; without that right, wait for it to go.
 */
async function endOldBackend(session: MigrationSession, pid: number): Promise<boolean> {
  const rows = await session.pool.unsafe<{ alive: boolean }[]>(
    `select exists (select 1 from pg_stat_activity where pid = $1 and pid <> pg_backend_pid()) as alive`,
    [pid],
  );
  if (!rows[0]?.alive) return true;
  await session.pool.unsafe("select pg_terminate_backend($1)", [pid]).catch(() => {});
  return false;
}

/**
 * The connection failed after the query holding our COMMIT was sent, so the
 * migration may be committed or not. On a new connection (within
 * OUTCOME_CHECK_MS): make sure the old session is gone, then look for the
 * migration's row with this file's checksum.
 */
export async function settleLostOutcome(session: MigrationSession, migration: Migration, backendPid: number): Promise<FailureOutcome> {
  const deadline = Date.now() + OUTCOME_CHECK_MS;
  while (Date.now() < deadline) {
    try {
      if (!(await withinMs(endOldBackend(session, backendPid), deadline - Date.now(), timedOut))) {
        await sleep(100);
        continue;
      }
      const tracking = await withinMs(readTracking(session.pool), deadline - Date.now(), timedOut);
      const row = tracking.rows.find((candidate) => versionKey(candidate.version) === migration.key);
      return row && row.checksum === migration.checksum ? outcomes.appliedDespiteLoss(migration.fileName) : outcomes.notAppliedAfterLoss(migration.fileName);
    } catch {
      await sleep(250);
    }
  }
  return outcomes.unknownAfterLoss(migration.fileName, OUTCOME_CHECK_MS);
}
