import { type Migration, buildMigrationSet, validatedMigrationSet } from "../core/migration-set.ts";
import { embeddedMigrations } from "./embedded-migrations.gen.ts";
import type { MigrationSource } from "./types.ts";

/**
 * The migrations compiled into this build (scripts/embed.ts generates the
 * module from migrations/), parsed and validated at build time.
 * ST44_EMBEDDED_UNTIL trims the set to versions up to the given one, so
 * tests can play an older release without rebuilding.
 */
export function embeddedSource(until?: string): MigrationSource {
  // The part is cut from the set as checked: an exported array changed in the process since is checked again first.
  const files =
    until === undefined
      ? embeddedMigrations
      : validatedMigrationSet(buildMigrationSet(embeddedMigrations).filter((migration) => BigInt(migration.version) <= BigInt(until)));
  return {
    description: `embedded (${files.length} files)`,
    load: async () => files,
  };
}

/** The migrations this build embeds, parsed: what an application passes to the health check. */
export function bundledMigrations(): Migration[] {
  return buildMigrationSet(embeddedMigrations);
}
