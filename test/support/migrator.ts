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

/** One `up` with its own client, closed afterwards. */
export async function up(
  url: string,
  migrations: readonly Migration[],
  options: Partial<Omit<MigratorOptions, "sql" | "connection" | "migrations">> = {},
): Promise<UpResult> {
  const sql = runnerClient(url);
  try {
    return await migrateUp({
      sql,
      connection: resolveConnection({ url }, {}),
      migrations,
      log: options.log ?? recordingLogger(),
      waitMs: options.waitMs ?? 0,
      lockWaitMs: options.lockWaitMs ?? 30_000,
      onUnknown: options.onUnknown ?? "warn",
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
      lockRetries: options.lockRetries,
      lockMode: options.lockMode,
      interruptSignal: options.interruptSignal,
    });
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The migrations built into this build (the seed set), as the binary has them. */
export async function seedMigrations(): Promise<Migration[]> {
  const { embeddedMigrations } = await import("../../src/source/embedded-migrations.gen.ts");
  return buildMigrationSet(embeddedMigrations);
}
