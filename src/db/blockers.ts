import { type Blocker, describeBlockers } from "../core/failure-report.ts";
import type { Logger } from "../log.ts";
import type { Sql } from "./connection.ts";

export interface BlockerWatch {
  /** Stops watching; returns the blockers seen last (empty when none were). */
  stop(): readonly Blocker[];
}

/**
 * Watches, from a second connection, which sessions block the migrating
 * backend, so a lock_timeout failure can name them (the server's error does
 * not). Starts after 200 ms: quick migrations never pay for it.
 */
export function watchBlockers(pool: Sql, pid: number, fileName: string, log: Logger): BlockerWatch {
  let seen: Blocker[] = [];
  let stopped = false;
  let reported = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = async (): Promise<void> => {
    try {
      const rows = await pool<Blocker[]>`
        select pid, application_name, state, extract(epoch from now() - xact_start)::int as xact_seconds, left(query, 200) as query
        from pg_stat_activity where pid = any(pg_blocking_pids(${pid}::int))`;
      if (rows.length > 0) {
        seen = [...rows];
        if (!reported) {
          reported = true;
          log.warn(`${fileName} is waiting for a lock held by ${describeBlockers(seen)}`, { event: "blocked", blockers: seen.map((row) => String(row.pid)) });
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

/** For paths that fail before a watch was started. */
export const NO_WATCH: BlockerWatch = { stop: () => [] };
