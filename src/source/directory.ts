import { readFile, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { MigrateError } from "../core/errors.ts";
import { assertMigrationFileSize, decodeMigrationBytes } from "../core/migration-bytes.ts";
import { looksLikeMigration } from "../core/migration-name.ts";
import type { MigrationFile } from "../core/migration-set.ts";
import type { MigrationSource } from "./types.ts";

/**
 * Reads `*.sql` from one directory (not recursive); other files are ignored.
 * Symbolic links are followed: a Kubernetes ConfigMap volume presents every
 * file as a link into `..data/`, and skipping them started the app on an
 * empty schema.
 */
export function directorySource(directory: string): MigrationSource {
  return {
    description: `directory ${directory}`,
    async load(): Promise<readonly MigrationFile[]> {
      let entries: string[];
      try {
        entries = (await readdir(directory, { withFileTypes: true }))
          .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && looksLikeMigration(entry.name))
          .map((entry) => entry.name);
      } catch (error) {
        throw new MigrateError(
          "SOURCE_UNREADABLE",
          `Cannot read the migrations directory ${directory} (${reasonOf(error)}). Check the path given to --dir or MIGRATIONS_DIR, or leave both unset to use the migrations built into this binary.`,
        );
      }
      return Promise.all(entries.sort().map((fileName) => readMigrationFile(directory, fileName)));
    },
  };
}

async function readMigrationFile(directory: string, fileName: string): Promise<MigrationFile> {
  const path = join(directory, fileName);
  let size: number;
  try {
    const found = await stat(path);
    if (!found.isFile()) {
      throw new MigrateError(
        "SOURCE_UNREADABLE",
        `${path} leads to ${found.isDirectory() ? "a directory" : "something"} that is not a regular file${await linkTarget(path)}. A migration must be a file (or a link to one): fix or remove ${fileName}.`,
      );
    }
    size = found.size;
  } catch (error) {
    if (error instanceof MigrateError) throw error;
    const target = await linkTarget(path);
    throw new MigrateError(
      "SOURCE_UNREADABLE",
      target
        ? `${path} is a symbolic link that leads nowhere${target} (${reasonOf(error)}). Fix the link or remove it; for a ConfigMap volume, check the keys it was made from.`
        : `Cannot read the migration file ${path} (${reasonOf(error)}). Check its permissions.`,
    );
  }
  // Checked before reading, so an oversized file is never loaded into memory.
  assertMigrationFileSize(fileName, size);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new MigrateError("SOURCE_UNREADABLE", `Cannot read the migration file ${path} (${reasonOf(error)}). Check its permissions.`);
  }
  return { fileName, text: decodeMigrationBytes(fileName, bytes) };
}

/** ` (a link to TARGET)` for a symbolic link, "" otherwise: where a broken entry points is the first thing to check. */
async function linkTarget(path: string): Promise<string> {
  try {
    return ` (a link to ${await readlink(path)})`;
  } catch {
    return "";
  }
}

function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
