import { checksumOfNormalised } from "./checksum.ts";
import { MigrateError } from "./errors.ts";
import { type MigrationOptions, type PartOptions, normaliseText, parseMigrationText } from "./migration-file.ts";
import { comparableName, parseFileName } from "./migration-name.ts";
import { assertNoRefusedStatements } from "./statement-rules.ts";
import { compareVersionKeys, versionKey } from "./version.ts";

// Kept for importers of the names from here; file names have their own module now.
export { looksLikeMigration, nextMigrationFileName, parseFileName } from "./migration-name.ts";

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
  /** The down marker's options: `transaction:false` runs the down part statement by statement. */
  readonly downOptions: PartOptions;
}

export function toMigration(file: MigrationFile): Migration {
  if (typeof file.text !== "string") throw new TypeError(`${file.fileName} has no text: a migration file is { fileName, text } (a spread or JSON copy of an embedded migration keeps only its fields, not its text)`);
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
  // Named one by one, not spread: a spread is the slow copy of every property, paid per file on every start.
  return {
    version,
    key: versionKey(version),
    name,
    fileName: file.fileName,
    text,
    checksum: file.checksum ?? checksumOfNormalised(text),
    up: parsed.up,
    upOffset: parsed.upOffset,
    down: parsed.down,
    options: parsed.options,
    downOptions: parsed.downOptions,
  };
}

/**
 * Sets parsed, validated and ordered at build time (scripts/embed.ts), each
 * with a copy of its elements as they were marked: buildMigrationSet takes
 * such a set as it is while it still holds exactly those. A set changed since
 * (a push, a sort, an element replaced) is checked again like any other;
 * freezing it instead made every read of a 10,000-element array slower.
 */
const validatedSets = new WeakMap<readonly MigrationFile[], readonly Migration[]>();

/**
 * Marks `migrations` as a set buildMigrationSet already made (at build time,
 * from the same files), so a start does not parse and check it again. Only
 * for sets that came out of buildMigrationSet, or a version-ordered part of one.
 */
export function validatedMigrationSet(migrations: readonly Migration[]): readonly Migration[] {
  validatedSets.set(migrations, migrations.slice());
  return migrations;
}

function stillAsValidated(files: readonly MigrationFile[]): readonly Migration[] | null {
  const validated = validatedSets.get(files);
  if (validated === undefined || validated.length !== files.length) return null;
  for (let index = 0; index < validated.length; index++) if (validated[index] !== files[index]) return null;
  return validated;
}

/** Refused statements (statement-rules.ts) all start with PREPARE, COMMIT/ROLLBACK PREPARED or COPY: a file without these words needs no lexer scan. */
const MAY_HOLD_REFUSED = /prepare|copy/i;

/**
 * Builds the ordered migration set. Every problem in every file is collected
 * so one run shows them all; duplicates name both files.
 */
export function buildMigrationSet(files: readonly MigrationFile[]): Migration[] {
  const validated = stillAsValidated(files);
  if (validated) return [...validated];
  const problems: MigrateError[] = [];
  const migrations: Migration[] = [];
  for (const file of files) {
    try {
      const migration = toMigration(file);
      if (MAY_HOLD_REFUSED.test(migration.text)) assertNoRefusedStatements(migration);
      migrations.push(migration);
    } catch (error) {
      if (error instanceof MigrateError) problems.push(error);
      else throw error;
    }
  }
  // A directory lists its files in name order, which is version order unless versions differ in width:
  // one pass tells, and the sort is only paid when it is needed.
  if (!inVersionOrder(migrations)) migrations.sort((a, b) => compareVersionKeys(a.key, b.key) || a.fileName.localeCompare(b.fileName));

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

  problems.push(...formerIdentityConflicts(migrations));

  const [first, ...rest] = problems;
  if (first && rest.length === 0) throw first;
  if (first) {
    throw new MigrateError(first.code, `${problems.length} problems in the migration files:`, {
      details: problems.map((problem) => `- ${problem.message}`),
    });
  }
  return migrations;
}

function inVersionOrder(migrations: readonly Migration[]): boolean {
  for (let index = 1; index < migrations.length; index++) {
    const previous = migrations[index - 1] as Migration;
    const current = migrations[index] as Migration;
    const order = compareVersionKeys(previous.key, current.key) || previous.fileName.localeCompare(current.fileName);
    if (order > 0) return false;
  }
  return true;
}

/**
 * A former identity (formerly:) must be a file that no longer exists under
 * that name, and only one file may claim it: otherwise a row that records the
 * other file would be taken as this one, and that file applied again.
 */
function formerIdentityConflicts(migrations: readonly Migration[]): MigrateError[] {
  const problems: MigrateError[] = [];
  if (!migrations.some((migration) => migration.options.formerly.length > 0)) return problems;
  const current = new Map(migrations.map((migration) => [`${migration.key}_${comparableName(migration.name)}`, migration]));
  const claimedBy = new Map<string, Migration>();
  for (const migration of migrations) {
    for (const former of migration.options.formerly) {
      const identity = `${versionKey(former.version)}_${comparableName(former.name)}`;
      const holder = current.get(identity);
      if (holder && holder !== migration) {
        problems.push(
          new MigrateError(
            "FORMERLY_CONFLICT",
            `${migration.fileName} says it was formerly ${former.version}_${former.name}, but ${holder.fileName} is that migration now: a row recorded for ${holder.fileName} would be taken as ${migration.fileName}, and ${holder.fileName} applied again. Remove the formerly: option, or correct it to the name the file really had.`,
          ),
        );
      }
      const other = claimedBy.get(identity);
      if (other && other !== migration) {
        problems.push(
          new MigrateError(
            "FORMERLY_CONFLICT",
            `${other.fileName} and ${migration.fileName} both say they were formerly ${former.version}_${former.name}: one row cannot be two migrations. Keep the option on the file that really had that identity.`,
          ),
        );
      }
      claimedBy.set(identity, migration);
    }
  }
  return problems;
}
