import type { ConnectionConfig } from "../config.ts";
import { MigrateError } from "../core/errors.ts";
import type { Logger } from "../log.ts";
import { connectionError, isQueryError, isTransient } from "./connection-failures.ts";
import { withinMs } from "./deadline.ts";

/** `--wait 0` is one try of at most this long: long enough for a TLS login over a slow link. */
export const SINGLE_TRY_MS = 5000;
/** A try started when the deadline is (nearly) there still gets this long. */
export const LAST_TRY_MIN_MS = 1000;
const BACKOFF_START_MS = 250;
const BACKOFF_MAX_MS = 5000;

/** How long a try may take: until the deadline, but at least LAST_TRY_MIN_MS, and the single try of `--wait 0` SINGLE_TRY_MS. */
export function tryBoundMs(waitMs: number, remainingMs: number): number {
  return Math.max(remainingMs, waitMs === 0 ? SINGLE_TRY_MS : LAST_TRY_MIN_MS);
}

/**
 * Runs one try, ended by our own timer: the driver's connect_timeout is set
 * per client (and a server that accepts and then never answers the login
 * leaves the query waiting), so only a timer here keeps the deadline.
 */
function boundedTry<T>(connect: () => Promise<T>, boundMs: number): Promise<T> {
  return withinMs(connect(), boundMs, () => Object.assign(new Error(`no answer within ${(boundMs / 1000).toFixed(1)} s`), { code: "CONNECT_TIMEOUT" }));
}

/**
 * Waits until the server accepts a connection, retrying transient failures
 * with exponential backoff (0.25 s doubling to 5 s) until `waitMs` has
 * passed. The deadline is the deadline: a try still running then is cut off
 * (tryBoundMs), so the wait ends within waitMs + LAST_TRY_MIN_MS (`--wait 0`:
 * SINGLE_TRY_MS). Authentication and missing-database errors are final at once.
 */
export async function waitForDatabase<T>(
  connect: () => Promise<T>,
  config: ConnectionConfig,
  waitMs: number,
  log: Logger,
): Promise<T> {
  const started = Date.now();
  const deadline = started + waitMs;
  let delay = BACKOFF_START_MS;
  for (let attempt = 1; ; attempt++) {
    const tryStarted = Date.now();
    try {
      return await boundedTry(connect, tryBoundMs(waitMs, deadline - tryStarted));
    } catch (error) {
      if (error instanceof MigrateError) throw error;
      const now = Date.now();
      const waited = now - started;
      const transient = isTransient(error, config);
      if (!transient && isQueryError(error)) throw error;
      if (!transient || now >= deadline) throw connectionError(error, config, waited);
      const pause = Math.min(delay, deadline - now);
      // The try's own time is said too: against a server that does not answer, it is most of the gap between these lines.
      log.info(
        `database at ${config.display} not ready (${(error as Error).message}; try ${attempt} took ${((now - tryStarted) / 1000).toFixed(2)} s); retry ${attempt} in ${(pause / 1000).toFixed(2)} s, ${((deadline - now) / 1000).toFixed(1)} s of --wait left`,
        {
          event: "wait_for_database",
          attempt,
          attempt_ms: now - tryStarted,
          delay_ms: pause,
          remaining_ms: deadline - now,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, pause));
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }
}
