import type { ArgsDef } from "citty";

/*
 * Flags in small groups: each command composes exactly the groups whose
 * settings it reads, so its --help lists nothing it would ignore and a flag
 * it does not read is refused.
 */

export const urlArg = {
  url: {
    type: "string",
    valueHint: "URL",
    description: "Database URL, postgres://USER:PASSWORD@HOST:5432/DATABASE (default: DATABASE_URL, else DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD)",
  },
} as const satisfies ArgsDef;

export const dirArg = {
  dir: {
    type: "string",
    valueHint: "PATH",
    description: "Use the migration files in PATH instead of those built in (default: MIGRATIONS_DIR)",
  },
} as const satisfies ArgsDef;

export const waitArg = {
  wait: {
    type: "string",
    valueHint: "SECONDS",
    description: "Retry connecting for this long, then give up; 0 tries once, for up to 5 s (default: MIGRATE_WAIT or 60)",
  },
} as const satisfies ArgsDef;

export const logFormatArg = {
  "log-format": {
    type: "string",
    valueHint: "pretty|plain|json",
    description: "Log format on stderr (default: LOG_FORMAT, else pretty on a terminal, plain otherwise)",
  },
} as const satisfies ArgsDef;

/** Every command that waits for the database and reads the migrations. */
export const connectionArgs = { ...urlArg, ...dirArg, ...waitArg, ...logFormatArg } as const satisfies ArgsDef;

/** The commands that take the migration lock and write (up, run, down, baseline, repair). */
export const lockArgs = {
  "lock-wait": {
    type: "string",
    valueHint: "SECONDS",
    description: "How long to wait for another runner's migration lock (default: MIGRATE_LOCK_WAIT or 300)",
  },
  "lock-timeout": {
    type: "string",
    valueHint: "SECONDS",
    description: "PostgreSQL lock_timeout while migrating: fail instead of queueing behind application locks (default: MIGRATE_LOCK_TIMEOUT or 10)",
  },
  "statement-timeout": {
    type: "string",
    valueHint: "SECONDS",
    description: "PostgreSQL statement_timeout while migrating, 0 for none (default: MIGRATE_STATEMENT_TIMEOUT or 0)",
  },
  "lock-mode": {
    type: "string",
    valueHint: "auto|session|transaction",
    description: "session: one advisory lock for the run; transaction: one per migration (behind a pooler); auto picks (default: MIGRATE_LOCK_MODE or auto)",
  },
} as const satisfies ArgsDef;

/** Only applying migrations retries them (up, run). */
export const lockRetriesArg = {
  "lock-retries": {
    type: "string",
    valueHint: "N",
    description: "Try a migration that hit lock_timeout again, up to N more times with backoff (default: MIGRATE_LOCK_RETRIES or 0)",
  },
} as const satisfies ArgsDef;

/** The commands that refuse, as up does, a database with migrations this build does not know (up, run, plan). */
export const onUnknownArg = {
  "on-unknown": {
    type: "string",
    valueHint: "warn|fail",
    description: "When the database has migrations this build does not know: warn and go on, or fail (default: MIGRATE_ON_UNKNOWN or warn)",
  },
} as const satisfies ArgsDef;

/** Flags of the commands that apply migrations (up, run). */
export const applyArgs = { ...connectionArgs, ...lockArgs, ...lockRetriesArg, ...onUnknownArg } as const satisfies ArgsDef;

export const jsonArg = {
  json: { type: "boolean", description: "Print a JSON document on stdout" },
} as const satisfies ArgsDef;
