import { MigrateError, isMigrateError } from "../core/errors.ts";
import type { Logger } from "../log.ts";

/** Logs an error as every command reports one (code, message, detail lines) and returns its exit code. */
export function reportError(error: unknown, log: Logger): number {
  const migrateError = isMigrateError(error)
    ? error
    : new MigrateError("INTERNAL", `Unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}. This is a bug in st44-migrate; please report it with this output.`);
  log.error([`[${migrateError.code}] ${migrateError.message}`, ...migrateError.details].join("\n"), {
    event: "error",
    code: migrateError.code,
    exit_code: migrateError.exitCode,
  });
  return migrateError.exitCode;
}
