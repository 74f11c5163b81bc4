import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateEmbeddedModule } from "../../scripts/embed.ts";
import { type Migration, type MigrationFile, buildMigrationSet } from "../../src/core/migration-set.ts";

/**
 * The migrations a binary built from `files` embeds: the module scripts/embed.ts
 * writes, evaluated from a scratch folder (importing this checkout's
 * embedded-set.ts), so a test runs on exactly what the build precomputed.
 */
export async function embeddedFrom(files: readonly MigrationFile[] | Record<string, string>): Promise<readonly Migration[]> {
  const list = Array.isArray(files) ? files : Object.entries(files).map(([fileName, text]) => ({ fileName, text }));
  const source = generateEmbeddedModule(buildMigrationSet(list));
  const dir = mkdtempSync(join(tmpdir(), "st44-embedded-"));
  const path = join(dir, "embedded-migrations.gen.ts");
  writeFileSync(path, source.replace('"./embedded-set.ts"', JSON.stringify(join(import.meta.dir, "../../src/source/embedded-set.ts"))));
  return ((await import(path)) as { embeddedMigrations: readonly Migration[] }).embeddedMigrations;
}
