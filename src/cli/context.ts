import {
  type ConnectionConfig,
  type Env,
  type Flags,
  MAX_TIMEOUT_MS,
  durationSetting,
  embeddedUntilSetting,
  resolveConnection,
  resolveLogFormat,
  stringSetting,
} from "../config.ts";
import { MigrateError } from "../core/errors.ts";
import { type Migration, buildMigrationSet } from "../core/migration-set.ts";
import { type Sql, createClient } from "../db/connection.ts";
import { type Logger, createLogger } from "../log.ts";
import { type MigratorOptions, type TrackingReadDepth, startReadingTracking } from "../migrator.ts";
import { stderrIsTerminal } from "../output.ts";
import { directorySource } from "../source/directory.ts";
import { embeddedSource } from "../source/embedded.ts";
import type { ExpectedSchemaLookup } from "../source/expected-schema.ts";
import type { MigrationSource } from "../source/types.ts";
import { interruptSignal } from "./interrupt.ts";

/** Everything a command needs, resolved from flags and the environment in one place. */
export interface CommandContext {
  readonly env: Env;
  readonly log: Logger;
  readonly source: MigrationSource;
  /** The snapshot that describes `source`'s migrations (read when asked: only verify, status and health judge drift). */
  readonly expectedSchema: () => Promise<ExpectedSchemaLookup>;
}

export function createContext(flags: Flags, env: Env = process.env): CommandContext {
  const log = createLogger(resolveLogFormat(flags, env, stderrIsTerminal()));
  const dir = stringSetting(flags, "dir", env, "MIGRATIONS_DIR");
  const embeddedUntil = dir === undefined ? embeddedUntilSetting(env) : undefined;
  const source = dir === undefined ? embeddedSource(embeddedUntil) : directorySource(dir);
  // Loaded when asked, so that up and run (a container's start) never parse the snapshot.
  const expectedSchema = async () => (await import("../source/expected-schema.ts")).expectedSchemaFor(dir === undefined ? { embeddedUntil } : { dir });
  return { env, log, source, expectedSchema };
}

export async function loadMigrations(context: CommandContext): Promise<readonly Migration[]> {
  return buildMigrationSet(await context.source.load());
}

export interface DatabaseSession {
  readonly sql: Sql;
  readonly connection: ConnectionConfig;
  readonly migrator: Omit<MigratorOptions, "migrations">;
  /**
   * Ends every connection: sends Terminate and, unless the process is about
   * to exit anyway, waits until the server has closed the socket (before
   * exec, so no connection outlives this process image).
   */
  close(options?: { readonly exiting?: boolean }): Promise<void>;
}

/** Opens the client with the run's settings; close() must be awaited before the process exits or execs. */
export interface OpenOptions {
  readonly connectTimeoutSeconds?: number;
  /** Commands that write install the SIGTERM/SIGINT handler that cancels and rolls back; readers keep the default (exit). */
  readonly interruptible?: boolean;
}

export function openDatabase(context: CommandContext, flags: Flags, clientOverrides: OpenOptions = {}): DatabaseSession {
  const { env, log } = context;
  const connection = resolveConnection(flags, env);
  const waitMs = durationSetting(flags, "wait", env, "MIGRATE_WAIT", 60_000);
  const lockWaitMs = durationSetting(flags, "lock-wait", env, "MIGRATE_LOCK_WAIT", 300_000);
  const lockTimeoutMs = durationSetting(flags, "lock-timeout", env, "MIGRATE_LOCK_TIMEOUT", 10_000, MAX_TIMEOUT_MS);
  const statementTimeoutMs = durationSetting(flags, "statement-timeout", env, "MIGRATE_STATEMENT_TIMEOUT", 0, MAX_TIMEOUT_MS);
  const onUnknown = stringSetting(flags, "on-unknown", env, "MIGRATE_ON_UNKNOWN") ?? "warn";
  if (onUnknown !== "warn" && onUnknown !== "fail") {
    throw new MigrateError("USAGE", `--on-unknown (or MIGRATE_ON_UNKNOWN) must be warn or fail, not "${onUnknown}".`);
  }
  const lockRetriesText = stringSetting(flags, "lock-retries", env, "MIGRATE_LOCK_RETRIES") ?? "0";
  const lockRetries = Number(lockRetriesText);
  if (!/^\d+$/.test(lockRetriesText) || lockRetries > 100) {
    throw new MigrateError("USAGE", `--lock-retries (or MIGRATE_LOCK_RETRIES) must be a whole number from 0 to 100, not "${lockRetriesText}".`);
  }
  const lockMode = stringSetting(flags, "lock-mode", env, "MIGRATE_LOCK_MODE") ?? "auto";
  if (lockMode !== "auto" && lockMode !== "session" && lockMode !== "transaction") {
    throw new MigrateError("USAGE", `--lock-mode (or MIGRATE_LOCK_MODE) must be auto, session or transaction, not "${lockMode}".`);
  }
  const sql = createClient(connection, {
    connectTimeoutSeconds: clientOverrides.connectTimeoutSeconds ?? Math.max(1, Math.min(10, Math.ceil(waitMs / 1000) || 10)),
    log,
  });
  return {
    sql,
    connection,
    migrator: { sql, connection, log, waitMs, lockWaitMs, onUnknown, lockTimeoutMs, statementTimeoutMs, lockRetries, lockMode, interruptSignal: clientOverrides.interruptible ? () => interruptSignal(log) : undefined },
    // Exiting, the Terminate message is written before end() returns and the server needs
    // nothing more: waiting for it to close the socket (1-4 ms of backend exit) gains nothing.
    close: (closeOptions = {}) => sql.end({ timeout: closeOptions.exiting ? 0 : 5 }),
  };
}

/**
 * Loads the migrations, opens the database with the flags' settings, runs
 * `work`, and always closes. Connecting is mostly waiting for the server, so
 * the tracking table is read while the files load. `context` may be created
 * by the caller first (run checks its command before connecting).
 */
export async function withMigrator<T>(
  flags: Flags,
  work: (context: CommandContext, options: MigratorOptions) => Promise<T>,
  open: OpenOptions & { readonly beforeExec?: boolean; readonly trackingRead?: TrackingReadDepth } = {},
  context: CommandContext = createContext(flags),
): Promise<T> {
  const db = openDatabase(context, flags, open);
  const startedRead = startReadingTracking(db.migrator, open.trackingRead);
  let execsNext = false;
  try {
    const migrations = await loadMigrations(context);
    const result = await work(context, { ...db.migrator, migrations, startedRead });
    execsNext = open.beforeExec === true;
    return result;
  } finally {
    startedRead.cancel();
    // Before exec the connections must be gone, not only told to go: none may leak into the application.
    // After a failure the process exits, and an attempt still connecting must not hold it.
    await db.close({ exiting: !execsNext });
  }
}
