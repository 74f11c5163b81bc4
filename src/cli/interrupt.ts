import { exitCodeForSignal } from "../core/interrupt.ts";
import type { Logger } from "../log.ts";

let controller: AbortController | null = null;

/**
 * An AbortSignal that SIGTERM or SIGINT aborts (reason: the signal's name),
 * so the statement in progress is cancelled and rolled back and the lock
 * released before the process exits. A second signal exits at once.
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
    });
  }
  return current.signal;
}
