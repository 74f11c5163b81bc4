/**
 * Every failure the tool reports is a MigrateError: a stable code (for docs,
 * alerts and tests), the process exit code it maps to, and a message that says
 * what is wrong and how to fix it. Nothing else decides exit codes.
 */

export const ExitCode = {
  ok: 0,
  migrationFailed: 1,
  usage: 2,
  databaseUnreachable: 3,
  refused: 4,
  lockTimeout: 5,
  pending: 6,
  internal: 10,
  /** As shells do: the command to exec cannot be run / was not found. */
  commandNotExecutable: 126,
  commandNotFound: 127,
  /** Stopped by SIGTERM (128+15); SIGINT gives 130. */
  interrupted: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Which exit code each error code leads to; the README documents both. */
export const errorCodes = {
  // usage and configuration
  CONFIG_MISSING: ExitCode.usage,
  CONFIG_INVALID: ExitCode.usage,
  USAGE: ExitCode.usage,
  SOURCE_UNREADABLE: ExitCode.usage,
  // migration files (found at build time, or with --dir)
  PARSE_DOWN_BEFORE_UP: ExitCode.usage,
  PARSE_DUPLICATE_MARKER: ExitCode.usage,
  PARSE_UNKNOWN_OPTION: ExitCode.usage,
  PARSE_MISSING_UP: ExitCode.usage,
  PARSE_NUL_BYTE: ExitCode.usage,
  PARSE_MARKER_MALFORMED: ExitCode.usage,
  PARSE_SQL_BEFORE_UP: ExitCode.usage,
  PARSE_NOT_UTF8: ExitCode.usage,
  MIGRATION_FILE_TOO_LARGE: ExitCode.usage,
  SNAPSHOT_INVALID: ExitCode.usage,
  STATEMENT_REFUSED: ExitCode.usage,
  FILE_NAME_INVALID: ExitCode.usage,
  DUPLICATE_VERSION: ExitCode.refused,
  FORMERLY_CONFLICT: ExitCode.usage,
  // the database
  DB_UNREACHABLE: ExitCode.databaseUnreachable,
  DB_AUTH_FAILED: ExitCode.databaseUnreachable,
  DB_NOT_FOUND: ExitCode.databaseUnreachable,
  /** A hot standby or a read-only database: the wrong server for migrating, like DB_NOT_FOUND. */
  DB_READ_ONLY: ExitCode.databaseUnreachable,
  DB_PERMISSION_DENIED: ExitCode.migrationFailed,
  // files and database disagree
  CHECKSUM_MISMATCH: ExitCode.refused,
  UNKNOWN_MIGRATIONS: ExitCode.refused,
  TRACKING_TABLE_INVALID: ExitCode.refused,
  TRACKING_TABLE_DIRTY: ExitCode.refused,
  MIGRATION_MISMATCHED: ExitCode.refused,
  SCHEMA_INCOMPLETE: ExitCode.refused,
  // applying
  MIGRATION_FAILED: ExitCode.migrationFailed,
  MIGRATION_ENDED_TRANSACTION: ExitCode.migrationFailed,
  LOCK_TIMEOUT: ExitCode.lockTimeout,
  // down, baseline, repair, verify
  NO_DOWN_MIGRATION: ExitCode.refused,
  CONFIRMATION_REQUIRED: ExitCode.usage,
  BASELINE_REFUSED: ExitCode.refused,
  REPAIR_REFUSED: ExitCode.refused,
  MARK_REFUSED: ExitCode.refused,
  VERIFY_FAILED: ExitCode.refused,
  MIGRATION_FILE_EXISTS: ExitCode.usage,
  // import
  IMPORT_DUPLICATE_VERSION: ExitCode.refused,
  IMPORT_OUT_NOT_EMPTY: ExitCode.usage,
  IMPORT_CHECK_UNAVAILABLE: ExitCode.usage,
  IMPORT_CHECK_FAILED: ExitCode.migrationFailed,
  // check (its findings exit 4 without an error: they are its result)
  CHECK_PARSER_UNAVAILABLE: ExitCode.usage,
  CHECK_UNAVAILABLE: ExitCode.usage,
  CHECK_CONFIG_INVALID: ExitCode.usage,
  // run: starting the application
  COMMAND_NOT_FOUND: ExitCode.commandNotFound,
  EXEC_FAILED: ExitCode.commandNotExecutable,
  LOCK_MODE_UNSUPPORTED: ExitCode.refused,
  /** SIGTERM (143) or SIGINT (130) while migrating: the current step was cancelled and rolled back. */
  INTERRUPTED: ExitCode.interrupted,
  // status --exit-code
  PENDING_MIGRATIONS: ExitCode.pending,
  INTERNAL: ExitCode.internal,
} as const satisfies Record<string, ExitCode>;
export type ErrorCode = keyof typeof errorCodes;

export class MigrateError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  /** Extra lines printed under the message (SQL context, file list...). */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: { details?: readonly string[]; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MigrateError";
    this.code = code;
    // Only INTERRUPTED varies (130 for SIGINT, as shells report it); every other code has one exit code.
    this.exitCode = (options.exitCode ?? errorCodes[code]) as ExitCode;
    this.details = options.details ?? [];
  }
}

export function isMigrateError(value: unknown): value is MigrateError {
  return value instanceof MigrateError;
}
