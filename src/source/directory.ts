import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { MigrateError } from "../core/errors.ts";
import { looksLikeMigration } from "../core/migration-name.ts";
import type { MigrationFile } from "../core/migration-set.ts";
import type { MigrationSource } from "./types.ts";

/** Reads `*.sql` from one directory (not recursive); other files are ignored. */
export function directorySource(directory: string): MigrationSource {
  return {
    description: `directory ${directory}`,
    async load(): Promise<readonly MigrationFile[]> {
      let entries: string[];
      try {
        entries = (await readdir(directory, { withFileTypes: true }))
          .filter((entry) => entry.isFile() && looksLikeMigration(entry.name))
          .map((entry) => entry.name);
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? String(error);
        throw new MigrateError(
          "SOURCE_UNREADABLE",
          `Cannot read the migrations directory ${directory} (${reason}). Check the path given to --dir or MIGRATIONS_DIR, or leave both unset to use the migrations built into this binary.`,
        );
      }
      return Promise.all(
        entries.sort().map(async (fileName) => ({ fileName, text: await readFile(join(directory, fileName), "utf8") })),
      );
    },
  };
}
