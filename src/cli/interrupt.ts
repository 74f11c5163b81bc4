import { exitCodeForSignal } from "../core/interrupt.ts";
import type { Logger } from "../log.ts";

let controller: AbortController | null = null;

/**
 * How long the cancellation may take before the process exits anyway: a
 * cancel request through a stalled connection never arrives. Exiting closes
 * the connections, and the server rolls back what they had open.
 */
export const CANCEL_GRACE_MS = 1500;

/**
 * An AbortSignal that SIGTERM or SIGINT aborts (reason: the signal's name),
 * so the statement in progress is cancelled and rolled back and the lock
 * released before the process exits. A second signal exits at once, and so
 * does the process CANCEL_GRACE_MS after the first if it is still running.
 */
export function interruptSignal(log: Logger): AbortSignal {
  if (controller) return controller.signal;
  const current = new AbortController();
  controller = current;
  for (const name of ["SIGTERM", "SIGINT"] as const) {
    process.on(name, () => {
      if (current.signal.aborted) {
        process.exit(exitCodeForSignal(name));
      }
      log.warn(`${name} received: cancelling the migration in progress (a second ${name} exits at once)`, { event: "interrupted", signal: name });
      current.abort(name);
      const grace = setTimeout(() => {
        log.error(
          `the cancellation did not complete within ${CANCEL_GRACE_MS / 1000} s (the connection does not answer): exiting; the server rolls back the open transaction and drops the lock when it notices the connection is gone`,
          { event: "interrupt_forced", signal: name },
        );
        process.exit(exitCodeForSignal(name));
      }, CANCEL_GRACE_MS);
      // It must not keep alive a process that is done.
      grace.unref?.();
    });
  }
  return current.signal;
}
