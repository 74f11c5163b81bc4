import type { ArgsDef } from "citty";

/** Flags every command that talks to the database accepts. */
export const connectionArgs = {
  url: {
    type: "string",
    valueHint: "postgres://user:pass@host:5432/db",
    description: "Database URL (default: DATABASE_URL, else DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD)",
  },
  dir: {
    type: "string",
    valueHint: "PATH",
    description: "Use the migration files in PATH instead of those built in (default: MIGRATIONS_DIR)",
  },
  wait: {
    type: "string",
    valueHint: "SECONDS",
    description: "Wait this long for the database to accept connections; 0 tries once (default: MIGRATE_WAIT or 60)",
  },
  "log-format": {
    type: "string",
    valueHint: "pretty|plain|json",
    description: "Log format on stderr (default: LOG_FORMAT, else pretty on a terminal, plain otherwise)",
  },
} as const satisfies ArgsDef;

/** Flags of the commands that apply migrations (up, run). */
export const applyArgs = {
  ...connectionArgs,
  "lock-timeout": {
    type: "string",
    valueHint: "SECONDS",
    description: "lock_timeout for each migration: fail instead of queueing behind application locks (default: MIGRATE_LOCK_TIMEOUT or 10)",
  },
  "lock-wait": {
    type: "string",
    valueHint: "SECONDS",
    description: "How long to wait for another runner's migration lock (default: MIGRATE_LOCK_WAIT or 300)",
  },
  "statement-timeout": {
    type: "string",
    valueHint: "SECONDS",
    description: "statement_timeout for migrations, 0 for none (default: MIGRATE_STATEMENT_TIMEOUT or 0)",
  },
  "lock-retries": {
    type: "string",
    valueHint: "N",
    description: "Try a migration that hit lock_timeout again, up to N more times with backoff (default: MIGRATE_LOCK_RETRIES or 0)",
  },
  "lock-mode": {
    type: "string",
    valueHint: "auto|session|transaction",
    description: "auto: one session lock on a direct connection, a transaction-level lock per migration behind a pooler (default: MIGRATE_LOCK_MODE or auto)",
  },
  "on-unknown": {
    type: "string",
    valueHint: "warn|fail",
    description: "When the database has migrations this build does not know: warn and go on, or fail (default: warn)",
  },
} as const satisfies ArgsDef;

export const jsonArg = {
  json: { type: "boolean", description: "Print a JSON document on stdout" },
} as const satisfies ArgsDef;
