import { type Migration, type MigrationFile, buildMigrationSet } from "../core/migration-set.ts";
import { embeddedMigrations } from "./embedded-migrations.gen.ts";
import type { MigrationSource } from "./types.ts";

/**
 * The migrations compiled into this build (scripts/embed.ts generates the
 * module from migrations/). ST44_EMBEDDED_UNTIL trims the set to versions up
 * to the given one, so tests can play an older release without rebuilding.
 */
export function embeddedSource(until?: string): MigrationSource {
  const files: readonly MigrationFile[] =
    until === undefined
      ? embeddedMigrations
      : embeddedMigrations.filter((file) => BigInt(/^\d+/.exec(file.fileName)?.[0] ?? "0") <= BigInt(until));
  return {
    description: `embedded (${files.length} files)`,
    load: async () => files,
  };
}

/** The migrations this build embeds, parsed: what an application passes to the health check. */
export function bundledMigrations(): Migration[] {
  return buildMigrationSet(embeddedMigrations);
}
