import { checksumOf } from "./checksum.ts";
import { MigrateError } from "./errors.ts";
import { type MigrationOptions, normaliseText, parseMigrationText } from "./migration-file.ts";
import { assertNoRefusedStatements } from "./statement-rules.ts";
import { compareVersionKeys, versionKey } from "./version.ts";

/** A migration file as a source hands it over: its base name and raw text. */
export interface MigrationFile {
  readonly fileName: string;
  readonly text: string;
  /** Precomputed at build time for embedded files; computed when absent. */
  readonly checksum?: string;
}

export interface Migration {
  /** The digits as written in the file name, e.g. "011". */
  readonly version: string;
  /** versionKey(version): what rows and files are matched on. */
  readonly key: string;
  /** The name part, e.g. "create_users_table". */
  readonly name: string;
  readonly fileName: string;
  /** The normalised file text (LF, no BOM). */
  readonly text: string;
  readonly checksum: string;
  readonly up: string;
  readonly upOffset: number;
  readonly down: string | null;
  readonly options: MigrationOptions;
}

/** `NNN_name.sql`: digits, an underscore, then letters, digits, `_` or `-`. */
const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;

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

export function toMigration(file: MigrationFile): Migration {
  const { version, name } = parseFileName(file.fileName);
  const text = normaliseText(file.text);
  const nul = text.indexOf("\0");
  if (nul !== -1) {
    const line = text.slice(0, nul).split("\n").length;
    throw new MigrateError(
      "PARSE_NUL_BYTE",
      `${file.fileName} contains a NUL byte (line ${line}), which PostgreSQL cannot take in a query. The file is probably binary or saved in UTF-16: save it as UTF-8 text.`,
    );
  }
  const parsed = parseMigrationText(file.fileName, text);
  return {
    version,
    key: versionKey(version),
    name,
    fileName: file.fileName,
    text,
    checksum: file.checksum ?? checksumOf(text),
    ...parsed,
  };
}

/**
 * Builds the ordered migration set. Every problem in every file is collected
 * so one run shows them all; duplicates name both files.
 */
export function buildMigrationSet(files: readonly MigrationFile[]): Migration[] {
  const problems: MigrateError[] = [];
  const migrations: Migration[] = [];
  for (const file of files) {
    try {
      const migration = toMigration(file);
      assertNoRefusedStatements(migration);
      migrations.push(migration);
    } catch (error) {
      if (error instanceof MigrateError) problems.push(error);
      else throw error;
    }
  }
  migrations.sort((a, b) => compareVersionKeys(a.key, b.key) || a.fileName.localeCompare(b.fileName));

  for (let index = 1; index < migrations.length; index++) {
    const previous = migrations[index - 1];
    const current = migrations[index];
    if (previous && current && previous.key === current.key) {
      problems.push(
        new MigrateError(
          "DUPLICATE_VERSION",
          `${previous.fileName} and ${current.fileName} have the same version (${current.key}). Each version must be unique: give the newer file the next free number.`,
        ),
      );
    }
  }

  const [first, ...rest] = problems;
  if (first && rest.length === 0) throw first;
  if (first) {
    throw new MigrateError(first.code, `${problems.length} problems in the migration files:`, {
      details: problems.map((problem) => `- ${problem.message}`),
    });
  }
  return migrations;
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
