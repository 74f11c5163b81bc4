import type { TableFacts } from "../core/expected-tables.ts";
import type { MigrationOptions, PartOptions } from "../core/migration-file.ts";
import { type Migration, validatedMigrationSet } from "../core/migration-set.ts";

/**
 * The embedded migrations as scripts/embed.ts writes them: what parsing,
 * validating and hashing the files gave at build time, in parallel arrays
 * of constants, so that a start allocates one object per migration and
 * nothing per part. Positions are offsets into the normalised text.
 */
export interface EmbeddedData {
  /** The file names, one a line (a valid name has no line break). */
  readonly fileNames: string;
  /** The checksums, 64 hex digits each, one after the other. */
  readonly checksums: string;
  /** The normalised texts, one after the other. */
  readonly texts: string;
  /**
   * Per migration: where its text starts in `texts` (it ends where the next one starts), then upOffset, upEnd,
   * downOffset (-1: no down marker) inside it, and transactions (bit 1: up, bit 2: down).
   */
  readonly layout: readonly number[];
  /** By index, for the few renumbered files: their former identities as [version, name]. */
  readonly formerly: Readonly<Record<number, readonly (readonly [string, string])[]>>;
  /** By index, for the few files that name check rules they break on purpose (allow:RULE). */
  readonly allow: Readonly<Record<number, readonly string[]>>;
  /** JSON of TableFacts per migration, as [effects, touched]; parsed only when a check needs one migration's. */
  readonly tableFacts: string;
  /** JSON of [table, index] pairs: the tables the whole set leaves behind (tablesCreatedBy of every migration). */
  readonly tablesCreated: string;
}

const FIELDS = 5;
const CHECKSUM_LENGTH = 64;
const NO_FORMER_IDENTITIES: MigrationOptions["formerly"] = [];
const IN_TRANSACTION: PartOptions = { transaction: true };
const OUTSIDE_TRANSACTION: PartOptions = { transaction: false };

/** What the migrations of one generated module share: its data, its migrations, and the facts once parsed. */
class EmbeddedStore {
  migrations: readonly EmbeddedMigration[] = [];
  private facts: (readonly [TableFacts["effects"], TableFacts["touched"]])[] | null = null;
  constructor(readonly data: EmbeddedData) {}

  factsAt(index: number): TableFacts {
    this.facts ??= JSON.parse(this.data.tableFacts) as (readonly [TableFacts["effects"], TableFacts["touched"]])[];
    const [effects, touched] = this.facts[index] ?? [[], []];
    return { effects, touched };
  }

  /** The build's tablesCreatedBy, when `migrations` is this whole set in order; null for any other list. */
  tablesCreated(migrations: readonly Migration[]): Map<string, Migration> | null {
    if (migrations.length !== this.migrations.length) return null;
    for (let index = 0; index < migrations.length; index++) if (migrations[index] !== this.migrations[index]) return null;
    const created = new Map<string, Migration>();
    for (const [table, index] of JSON.parse(this.data.tablesCreated) as [string, number][]) created.set(table, this.migrations[index] as Migration);
    return created;
  }
}

/**
 * One embedded migration. Its text, and the up and down parts, are cut from
 * the module's one string when asked for: a start with nothing to do never
 * needs them. `tableFacts` and
 * `tablesCreatedBySet` hand core/expected-tables.ts the build's results.
 */
class EmbeddedMigration implements Migration {
  readonly version: string;
  readonly key: string;
  readonly name: string;
  readonly checksum: string;
  readonly upOffset: number;
  readonly options: MigrationOptions;
  readonly downOptions: PartOptions;
  readonly #textStart: number;
  readonly #textEnd: number;
  readonly #upEnd: number;
  readonly #downOffset: number;
  readonly #store: EmbeddedStore;
  readonly #index: number;

  constructor(
    store: EmbeddedStore,
    index: number,
    readonly fileName: string,
  ) {
    const { layout, formerly, checksums, texts } = store.data;
    const at = index * FIELDS;
    // The build accepted only NNN_name.sql: the version ends at the first underscore, and is digits only.
    const separator = fileName.indexOf("_");
    let zeros = 0;
    while (zeros < separator - 1 && fileName.charCodeAt(zeros) === 48) zeros++;
    this.version = fileName.slice(0, separator);
    this.key = zeros === 0 ? this.version : this.version.slice(zeros);
    this.name = fileName.slice(separator + 1, -4);
    this.checksum = checksums.slice(index * CHECKSUM_LENGTH, (index + 1) * CHECKSUM_LENGTH);
    this.#textStart = layout[at] as number;
    this.#textEnd = (layout[at + FIELDS] as number | undefined) ?? texts.length;
    this.upOffset = layout[at + 1] as number;
    this.#upEnd = layout[at + 2] as number;
    this.#downOffset = layout[at + 3] as number;
    const transactions = layout[at + 4] as number;
    const former = formerly[index];
    const allowed = store.data.allow[index];
    const formerIdentities = former ? former.map(([version, name]) => ({ version, name })) : NO_FORMER_IDENTITIES;
    this.options = allowed ? { transaction: (transactions & 1) !== 0, formerly: formerIdentities, allow: allowed } : { transaction: (transactions & 1) !== 0, formerly: formerIdentities };
    this.downOptions = (transactions & 2) !== 0 ? IN_TRANSACTION : OUTSIDE_TRANSACTION;
    this.#store = store;
    this.#index = index;
  }

  get text(): string {
    return this.#store.data.texts.slice(this.#textStart, this.#textEnd);
  }

  get up(): string {
    return this.text.slice(this.upOffset, this.#upEnd);
  }

  get down(): string | null {
    return this.#downOffset === -1 ? null : this.text.slice(this.#downOffset);
  }

  tableFacts(): TableFacts {
    return this.#store.factsAt(this.#index);
  }

  tablesCreatedBySet(migrations: readonly Migration[]): Map<string, Migration> | null {
    return this.#store.tablesCreated(migrations);
  }
}

/** The migrations of the generated module, as the validated, version-ordered set the build checked. */
export function embeddedSet(data: EmbeddedData): readonly Migration[] {
  const store = new EmbeddedStore(data);
  const fileNames = data.fileNames === "" ? [] : data.fileNames.split("\n");
  const migrations: EmbeddedMigration[] = new Array(fileNames.length);
  for (let index = 0; index < fileNames.length; index++) migrations[index] = new EmbeddedMigration(store, index, fileNames[index] as string);
  // The store keeps its own copy: the build's facts hold for these, in this order, whatever is done to the array handed out.
  store.migrations = migrations.slice();
  return validatedMigrationSet(migrations);
}

/** The data scripts/embed.ts writes for a set buildMigrationSet made (the inverse of embeddedSet). */
export function embeddedDataOf(migrations: readonly Migration[], factsOf: (migration: Migration) => TableFacts, tablesCreated: ReadonlyMap<string, Migration>): EmbeddedData {
  const formerly: Record<number, (readonly [string, string])[]> = {};
  const allow: Record<number, readonly string[]> = {};
  const layout: number[] = [];
  let textStart = 0;
  for (const [index, migration] of migrations.entries()) {
    const downOffset = migration.down === null ? -1 : migration.text.length - migration.down.length;
    const transactions = (migration.options.transaction ? 1 : 0) | (migration.downOptions.transaction ? 2 : 0);
    layout.push(textStart, migration.upOffset, migration.upOffset + migration.up.length, downOffset, transactions);
    textStart += migration.text.length;
    if (migration.options.formerly.length > 0) formerly[index] = migration.options.formerly.map((former) => [former.version, former.name] as const);
    if (migration.options.allow) allow[index] = migration.options.allow;
  }
  const indexOf = new Map(migrations.map((migration, index) => [migration, index]));
  return {
    fileNames: migrations.map((migration) => migration.fileName).join("\n"),
    checksums: migrations.map((migration) => migration.checksum).join(""),
    texts: migrations.map((migration) => migration.text).join(""),
    layout,
    formerly,
    allow,
    tableFacts: JSON.stringify(migrations.map((migration) => {
      const facts = factsOf(migration);
      return [facts.effects, facts.touched];
    })),
    tablesCreated: JSON.stringify([...tablesCreated].map(([table, migration]) => [table, indexOf.get(migration)])),
  };
}
