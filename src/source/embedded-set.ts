import { type TableEffect, rememberTableFacts } from "../core/expected-tables.ts";
import { type Migration, validatedMigrationSet } from "../core/migration-set.ts";
import { versionKey } from "../core/version.ts";

/**
 * One embedded migration as scripts/embed.ts writes it: what parsing,
 * validating and hashing the file gave at build time, so that a start only
 * puts the pieces together. Positions are offsets into the normalised text.
 */
export type EmbeddedRow = readonly [
  fileName: string,
  text: string,
  checksum: string,
  upOffset: number,
  upEnd: number,
  /** Where the down part starts, -1 for a file without a down marker. */
  downOffset: number,
  /** Bit 1: the up part runs in a transaction; bit 2: the down part does. */
  transactions: number,
  formerly: readonly (readonly [version: string, name: string])[],
  tableEffects: readonly TableEffect[],
  tablesTouched: readonly string[],
];

/** The migrations of the generated module, as the validated, version-ordered set the build checked. */
export function embeddedSet(rows: readonly EmbeddedRow[]): readonly Migration[] {
  const migrations: Migration[] = new Array(rows.length);
  for (let index = 0; index < rows.length; index++) {
    const [fileName, text, checksum, upOffset, upEnd, downOffset, transactions, formerly, effects, touched] = rows[index] as EmbeddedRow;
    // The build accepted only NNN_name.sql: the version ends at the first underscore.
    const separator = fileName.indexOf("_");
    const version = fileName.slice(0, separator);
    const migration: Migration = {
      version,
      key: versionKey(version),
      name: fileName.slice(separator + 1, -".sql".length),
      fileName,
      text,
      checksum,
      up: text.slice(upOffset, upEnd),
      upOffset,
      down: downOffset === -1 ? null : text.slice(downOffset),
      options: { transaction: (transactions & 1) !== 0, formerly: formerly.map(([formerVersion, name]) => ({ version: formerVersion, name })) },
      downOptions: { transaction: (transactions & 2) !== 0 },
    };
    rememberTableFacts(migration, { effects, touched });
    migrations[index] = migration;
  }
  return validatedMigrationSet(migrations);
}

/** The row scripts/embed.ts writes for a migration buildMigrationSet made (the inverse of embeddedSet). */
export function embeddedRowOf(migration: Migration, effects: readonly TableEffect[], touched: readonly string[]): EmbeddedRow {
  const upEnd = migration.upOffset + migration.up.length;
  const downOffset = migration.down === null ? -1 : migration.text.length - migration.down.length;
  const transactions = (migration.options.transaction ? 1 : 0) | (migration.downOptions.transaction ? 2 : 0);
  const formerly = migration.options.formerly.map((former) => [former.version, former.name] as const);
  return [migration.fileName, migration.text, migration.checksum, migration.upOffset, upEnd, downOffset, transactions, formerly, effects, touched];
}
