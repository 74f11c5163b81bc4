import { MigrateError } from "./errors.ts";

/**
 * Migration file names: `NNN_name.sql`, the version being the leading digits.
 * The name alone (without version and extension) is also what a
 * `formerly:VERSION_NAME` option refers to, so both share these patterns.
 */

/** The name part: letters, digits, `_` or `-`, starting with a letter or digit (safe in every file system and shell). */
export const MIGRATION_NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_-]*";

const FILE_NAME = new RegExp(`^(\\d+)_(${MIGRATION_NAME_PATTERN})\\.sql$`);

/** Whether a directory entry is meant as a migration (and must then be valid). */
export function looksLikeMigration(fileName: string): boolean {
  return fileName.toLowerCase().endsWith(".sql");
}

export function parseFileName(fileName: string): { version: string; name: string } {
  const match = FILE_NAME.exec(fileName);
  if (!match || match[1] === undefined || match[2] === undefined) {
    throw new MigrateError(
      "FILE_NAME_INVALID",
      `Migration file name ${JSON.stringify(fileName)} is not of the form NNN_name.sql (leading digits for the version, an underscore, then letters, digits, "_" or "-", ending in .sql). Rename the file, for example to 017_add_task_notes.sql.`,
    );
  }
  return { version: match[1], name: match[2] };
}

/**
 * The file name for a new migration: one above the highest version, padded
 * like the existing files (at least three digits). The name must be
 * snake_case so it survives every file system and shell.
 */
export function nextMigrationFileName(existing: readonly string[], name: string): string {
  if (!/^[a-z0-9][a-z0-9_]*$/.test(name)) {
    throw new MigrateError("USAGE", `Migration name "${name}" must be snake_case: lower-case letters, digits and underscores (for example add_task_notes).`);
  }
  const versions = existing.map((fileName) => parseFileName(fileName).version);
  const highest = versions.reduce((max, version) => (BigInt(version) > max ? BigInt(version) : max), -1n);
  const width = Math.max(3, ...versions.map((version) => version.length));
  return `${(highest + 1n).toString().padStart(width, "0")}_${name}.sql`;
}

/**
 * A recorded name as the file names it: legacy runners wrote "040_x", "x.sql"
 * or "X" for the file 040_x.sql.
 */
export function comparableName(name: string): string {
  return name.trim().toLowerCase().replace(/\.sql$/, "").replace(/^\d+_/, "");
}
