import { ExitCode, MigrateError } from "./errors.ts";

/** The exit code of a process stopped by each signal we honour, as shells report it (128 + signal number). */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: ExitCode.interrupted } as const;
export type HandledSignal = keyof typeof SIGNAL_EXIT_CODES;

export function exitCodeForSignal(name: unknown): number {
  return name === "SIGINT" ? SIGNAL_EXIT_CODES.SIGINT : SIGNAL_EXIT_CODES.SIGTERM;
}

/**
 * The one INTERRUPTED error. `during` says what was stopped, so the message
 * can say what state that leaves: a migration rolled back, or nothing started.
 */
export function interruptedError(signal: AbortSignal | undefined, during: "migration" | "lock-wait" = "migration"): MigrateError {
  const name = typeof signal?.reason === "string" ? signal.reason : "a signal";
  const state =
    during === "lock-wait"
      ? "while waiting for the migration lock; nothing was applied"
      : ": the migration in progress was cancelled and rolled back, the lock released";
  return new MigrateError("INTERRUPTED", `Stopped by ${name}${state}. Run st44-migrate again to continue.`, {
    exitCode: exitCodeForSignal(signal?.reason),
  });
}
