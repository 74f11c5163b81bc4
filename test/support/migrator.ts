import { expect } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { resolveConnection } from "../../src/config.ts";
import { type Migration, buildMigrationSet } from "../../src/core/migration-set.ts";
import { type Sql, createClient } from "../../src/db/connection.ts";
import { type LogFields, type Logger } from "../../src/log.ts";
import { type MigratorOptions, type UpResult, migrateUp } from "../../src/migrator.ts";

/** A logger that keeps what it was told, for assertions. */
export function recordingLogger(): Logger & { lines: { level: string; message: string; fields?: LogFields }[] } {
  const lines: { level: string; message: string; fields?: LogFields }[] = [];
  const at = (level: string) => (message: string, fields?: LogFields) => {
    lines.push({ level, message, fields });
  };
  return { lines, info: at("info"), success: at("success"), warn: at("warn"), error: at("error"), debug: at("debug") };
}

export function migrationsFrom(files: Record<string, string>): Migration[] {
  return buildMigrationSet(Object.entries(files).map(([fileName, text]) => ({ fileName, text })));
}

export function runnerClient(url: string): Sql {
  return createClient(resolveConnection({ url }, {}));
}

type Overrides = Partial<Omit<MigratorOptions, "sql" | "connection" | "migrations">>;

/** The options every test of an operation uses, with one set of defaults: no wait, a 30 s lock wait. */
export function migratorOptions(url: string, sql: Sql, migrations: readonly Migration[], overrides: Overrides = {}): MigratorOptions {
  return {
    connection: resolveConnection({ url }, {}),
    log: recordingLogger(),
    waitMs: 0,
    lockWaitMs: 30_000,
    onUnknown: "warn",
    lockTimeoutMs: 10_000,
    ...overrides,
    sql,
    migrations,
  };
}

/** Runs `work` with migrator options on a client of its own, closed afterwards. */
export async function withOptions<T>(url: string, migrations: readonly Migration[], work: (options: MigratorOptions) => Promise<T>, overrides: Overrides = {}): Promise<T> {
  const sql = runnerClient(url);
  try {
    return await work(migratorOptions(url, sql, migrations, overrides));
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** One `up` with its own client, closed afterwards. */
export function up(url: string, migrations: readonly Migration[], options: Overrides = {}): Promise<UpResult> {
  return withOptions(url, migrations, migrateUp, options);
}

/** The migrations built into this build (the seed set), as the binary has them. */
export async function seedMigrations(): Promise<Migration[]> {
  const { embeddedMigrations } = await import("../../src/source/embedded-migrations.gen.ts");
  return buildMigrationSet(embeddedMigrations);
}

/** Awaits a promise that must reject with a MigrateError, and returns the error for further checks. */
export async function rejection(promise: Promise<unknown>): Promise<MigrateError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MigrateError);
    return error as MigrateError;
  }
  throw new Error("expected a MigrateError, but the call succeeded");
}
