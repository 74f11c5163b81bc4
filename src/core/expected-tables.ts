import type { Migration } from "./migration-set.ts";
import { scanSql } from "./sql-lexer.ts";

const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = `(${IDENTIFIER}(?:\\s*\\.\\s*${IDENTIFIER})?)`;
const CREATE_TABLE_SOURCE = String.raw`create\s+(?:(?:global\s+|local\s+)?(?:temp|temporary)\s+|unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?${QUALIFIED}`;
const CREATE_TABLE = new RegExp(`^${CREATE_TABLE_SOURCE}`, "i");
const DROP_TABLE = new RegExp(String.raw`^drop\s+table\s+(?:if\s+exists\s+)?(${QUALIFIED}(?:\s*,\s*${QUALIFIED})*)`, "i");
/** Statements that change a table they name: ALTER TABLE, CREATE INDEX ... ON, CREATE TRIGGER ... ON, COMMENT ON TABLE/COLUMN. */
const CHANGES_TABLE: readonly (readonly [firstWord: string, pattern: RegExp])[] = [
  ["ALTER", new RegExp(String.raw`^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?${QUALIFIED}`, "i")],
  ["CREATE", new RegExp(String.raw`^create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:(?:if\s+not\s+exists\s+)?${IDENTIFIER}\s+)?on\s+(?:only\s+)?${QUALIFIED}`, "i")],
  ["CREATE", new RegExp(String.raw`^create\s+(?:or\s+replace\s+)?(?:constraint\s+)?trigger\s+${IDENTIFIER}[\s\S]*?\bon\s+${QUALIFIED}`, "i")],
  ["COMMENT", new RegExp(String.raw`^comment\s+on\s+table\s+${QUALIFIED}`, "i")],
];
const COMMENT_ON_COLUMN = new RegExp(String.raw`^comment\s+on\s+column\s+(${IDENTIFIER}(?:\s*\.\s*${IDENTIFIER})?)\s*\.\s*${IDENTIFIER}\s+is`, "i");
const RENAME_TABLE_SOURCE = String.raw`alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?${QUALIFIED}\s+rename\s+to\s+(${IDENTIFIER})`;
const RENAME_TABLE = new RegExp(`^${RENAME_TABLE_SOURCE}`, "i");
/** The same two patterns anywhere in a text (sticky, tried at every offset by candidateTablesOf). */
const CREATE_TABLE_AT = new RegExp(CREATE_TABLE_SOURCE, "iy");
const RENAME_TABLE_AT = new RegExp(RENAME_TABLE_SOURCE, "iy");
/** Where one of them may start: CREATE or ALTER, in any case. */
const CREATE_OR_ALTER = /create|alter/gi;

const TEMPORARY = /^create\s+(?:(?:global\s+|local\s+)?(?:temp|temporary))/i;

const PART = /"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)/g;

/**
 * A table name as PostgreSQL resolves it, written so that to_regclass reads
 * it back: unquoted parts fold to lower case, quoted ones keep their case and
 * dots and stay quoted where they need it. `public.` is dropped: the same
 * table as the bare name on the default search_path.
 */
function normalise(name: string): string {
  // The usual name needs none of the work below.
  if (SIMPLE_NAME.test(name)) return name;
  const parts = nameParts(name).map((match) => (match[1] !== undefined ? match[1].replace(/""/g, '"') : (match[2] ?? "").toLowerCase()));
  if (parts.length > 1 && parts[0] === "public") parts.shift();
  return parts.map((part) => (SIMPLE_NAME.test(part) ? part : `"${part.replace(/"/g, '""')}"`)).join(".");
}

const SIMPLE_NAME = /^[a-z_][a-z0-9_$]*$/;

/** PART's matches in `name`; an exec loop, as matchAll builds a new regular expression on every call. */
function nameParts(name: string): RegExpExecArray[] {
  const parts: RegExpExecArray[] = [];
  PART.lastIndex = 0;
  for (let match = PART.exec(name); match !== null; match = PART.exec(name)) parts.push(match);
  return parts;
}

/** A migration that sets search_path creates unqualified tables where only the session knew: they are not expected. */
const SETS_SEARCH_PATH = /\bset\s+(?:local\s+|session\s+)?search_path\b|set_config\s*\(\s*'search_path'/i;

/**
 * What one migration's up part does to the set of tables: each CREATE TABLE,
 * DROP TABLE and ALTER TABLE ... RENAME TO in order ("create", "drop", and
 * "rename" as from/to), and the tables it creates or changes at all.
 * Plain data: the build computes it once for embedded migrations
 * (scripts/embed.ts), a directory's migrations get it from one lexer scan.
 */
export interface TableFacts {
  readonly effects: readonly TableEffect[];
  readonly touched: readonly string[];
}

export type TableEffect = readonly ["create", string] | readonly ["drop", string] | readonly ["rename", string, string];

/** Computed facts by migration. */
const factsOf = new WeakMap<Migration, TableFacts>();

const NO_FACTS: TableFacts = { effects: [], touched: [] };

/** Every statement these facts come from names a table: a part without the word needs no scan. */
const MENTIONS_TABLE = /table|index|trigger|column/i;

/**
 * What the build computed, where a migration carries it (src/source/embedded-set.ts): its own
 * facts, and the tables its whole set leaves behind. Duck-typed, so core needs no source/ import.
 */
interface Precomputed {
  tableFacts?(): TableFacts;
  tablesCreatedBySet?(migrations: readonly Migration[]): Map<string, Migration> | null;
}

/** Whether the build computed these migrations' facts (an embedded set): then no scan is needed anyway. */
export function hasPrecomputedFacts(migrations: readonly Migration[]): boolean {
  return typeof (migrations[0] as Precomputed | undefined)?.tablesCreatedBySet === "function";
}

/** A copy of an embedded migration ({...m}, JSON) has no text of its own: no facts would be read as "creates nothing". */
function upTextOf(migration: Migration): string {
  if (typeof migration.up !== "string") throw new TypeError(`${migration.fileName} has no SQL text: pass the migrations as bundledMigrations() gives them (a spread or JSON copy of an embedded one keeps only its fields, not its text)`);
  return migration.up;
}

export function tableFactsOf(migration: Migration): TableFacts {
  const precomputed = (migration as Precomputed).tableFacts?.();
  if (precomputed) return precomputed;
  let facts = factsOf.get(migration);
  if (facts === undefined) {
    const up = upTextOf(migration);
    facts = MENTIONS_TABLE.test(up) ? scanTableFacts(up) : NO_FACTS;
    factsOf.set(migration, facts);
  }
  return facts;
}

/** One lexer scan of an up part: its table effects in order, and every table it touches. */
export function scanTableFacts(up: string): TableFacts {
  const movesSearchPath = SETS_SEARCH_PATH.test(up);
  const effects: TableEffect[] = [];
  const touched = new Set<string>();
  for (const statement of scanSql(up).statements) {
    // Each pattern starts with its statement's first word: the others need not be tried.
    const first = statement.keywords[0];
    if (first !== "CREATE" && first !== "ALTER" && first !== "COMMENT" && first !== "DROP") continue;
    const text = up.slice(statement.start, statement.end);
    const created = first === "CREATE" ? CREATE_TABLE.exec(text) : null;
    const createdName = created?.[1] ? normalise(created[1]) : null;
    if (createdName !== null) touched.add(createdName);
    for (const [word, pattern] of CHANGES_TABLE) {
      if (word !== first) continue;
      const match = pattern.exec(text);
      const name = match?.[match.length - 1];
      if (name) touched.add(normalise(name));
    }
    const column = first === "COMMENT" ? COMMENT_ON_COLUMN.exec(text) : null;
    if (column?.[1]) touched.add(normalise(column[1]));

    if (createdName !== null) {
      if (!TEMPORARY.test(text) && !(movesSearchPath && !createdName.includes("."))) effects.push(["create", createdName]);
      continue;
    }
    const dropped = first === "DROP" ? DROP_TABLE.exec(text) : null;
    if (dropped?.[1]) {
      for (const name of dropped[1].match(new RegExp(QUALIFIED, "g")) ?? []) effects.push(["drop", normalise(name)]);
      continue;
    }
    const renamed = first === "ALTER" ? RENAME_TABLE.exec(text) : null;
    if (renamed?.[1] && renamed[2]) effects.push(["rename", normalise(renamed[1]), renamedTo(renamed[1], renamed[2])]);
  }
  return { effects, touched: [...touched] };
}

/** RENAME TO keeps the table in its schema: the new name takes the old one's qualification. */
function renamedTo(from: string, to: string): string {
  const qualified = nameParts(from);
  const schema = qualified.length > 1 ? `${qualified[0]?.[0] ?? ""}.` : "";
  return normalise(schema + to);
}

/**
 * Every name that tablesCreatedBy could give for these migrations, and
 * perhaps more, without a lexer scan: the CREATE TABLE and RENAME TO patterns
 * tried at every offset where CREATE or ALTER is written, in comments and
 * strings too. Each statement the scan would read starts at one of these
 * offsets and the patterns are the same, so the scan's names are among these.
 * When every one of them exists, no table the migrations leave behind is
 * missing, whatever they drop: the check a start pays at 10,000 files.
 */
export function candidateTablesOf(migrations: readonly Migration[]): Set<string> {
  const names = new Set<string>();
  for (const migration of migrations) {
    const up = upTextOf(migration);
    CREATE_OR_ALTER.lastIndex = 0;
    for (let word = CREATE_OR_ALTER.exec(up); word !== null; word = CREATE_OR_ALTER.exec(up)) {
      const creates = (word[0].charCodeAt(0) | 32) === 99;
      const pattern = creates ? CREATE_TABLE_AT : RENAME_TABLE_AT;
      pattern.lastIndex = word.index;
      const match = pattern.exec(up);
      if (match?.[1] === undefined) continue;
      if (creates) names.add(normalise(match[1]));
      else if (match[2] !== undefined) names.add(renamedTo(match[1], match[2]));
    }
  }
  return names;
}

/**
 * The tables that applying every migration's up part in order leaves behind,
 * read from CREATE TABLE / DROP TABLE / ALTER TABLE ... RENAME TO statements,
 * each with the migration that created (or last renamed) it. Used by the
 * health check and by up to tell "the schema exists" from "rows say so".
 */
export function tablesCreatedBy(migrations: readonly Migration[]): Map<string, Migration> {
  const precomputed = (migrations[0] as Precomputed | undefined)?.tablesCreatedBySet?.(migrations);
  if (precomputed) return precomputed;
  const tables = new Map<string, Migration>();
  for (const migration of migrations) {
    for (const effect of tableFactsOf(migration).effects) {
      if (effect[0] === "create") tables.set(effect[1], migration);
      else if (effect[0] === "drop") tables.delete(effect[1]);
      else if (tables.delete(effect[1])) tables.set(effect[2], migration);
    }
  }
  return tables;
}

export function expectedTables(migrations: readonly Migration[]): string[] {
  return [...tablesCreatedBy(migrations).keys()].sort();
}

/**
 * The tables a migration creates or changes (ALTER TABLE, an index or a
 * trigger on it, a comment on it), as the statements name them: which
 * migrations must run again to rebuild a table that is gone.
 */
export function tablesTouchedBy(migration: Migration): Set<string> {
  return new Set(tableFactsOf(migration).touched);
}
