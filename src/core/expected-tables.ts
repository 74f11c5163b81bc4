import type { Migration } from "./migration-set.ts";
import { scanSql } from "./sql-lexer.ts";

const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = `(${IDENTIFIER}(?:\\s*\\.\\s*${IDENTIFIER})?)`;
const CREATE_TABLE = new RegExp(String.raw`^create\s+(?:(?:global\s+|local\s+)?(?:temp|temporary)\s+|unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?${QUALIFIED}`, "i");
const DROP_TABLE = new RegExp(String.raw`^drop\s+table\s+(?:if\s+exists\s+)?(${QUALIFIED}(?:\s*,\s*${QUALIFIED})*)`, "i");
/** Statements that change a table they name: ALTER TABLE, CREATE INDEX ... ON, CREATE TRIGGER ... ON, COMMENT ON TABLE/COLUMN. */
const CHANGES_TABLE = [
  new RegExp(String.raw`^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?${QUALIFIED}`, "i"),
  new RegExp(String.raw`^create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:(?:if\s+not\s+exists\s+)?${IDENTIFIER}\s+)?on\s+(?:only\s+)?${QUALIFIED}`, "i"),
  new RegExp(String.raw`^create\s+(?:or\s+replace\s+)?(?:constraint\s+)?trigger\s+${IDENTIFIER}[\s\S]*?\bon\s+${QUALIFIED}`, "i"),
  new RegExp(String.raw`^comment\s+on\s+table\s+${QUALIFIED}`, "i"),
];
const COMMENT_ON_COLUMN = new RegExp(String.raw`^comment\s+on\s+column\s+(${IDENTIFIER}(?:\s*\.\s*${IDENTIFIER})?)\s*\.\s*${IDENTIFIER}\s+is`, "i");
const RENAME_TABLE = new RegExp(String.raw`^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?${QUALIFIED}\s+rename\s+to\s+(${IDENTIFIER})`, "i");

const PART = /"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)/g;

/**
 * A table name as PostgreSQL resolves it, written so that to_regclass reads
 * it back: unquoted parts fold to lower case, quoted ones keep their case and
 * dots and stay quoted where they need it. `public.` is dropped: the same
 * table as the bare name on the default search_path.
 */
function normalise(name: string): string {
  const parts = [...name.matchAll(PART)].map((match) => (match[1] !== undefined ? match[1].replace(/""/g, '"') : (match[2] ?? "").toLowerCase()));
  if (parts.length > 1 && parts[0] === "public") parts.shift();
  return parts.map((part) => (/^[a-z_][a-z0-9_$]*$/.test(part) ? part : `"${part.replace(/"/g, '""')}"`)).join(".");
}

/** A migration that sets search_path creates unqualified tables where only the session knew: they are not expected. */
const SETS_SEARCH_PATH = /\bset\s+(?:local\s+|session\s+)?search_path\b|set_config\s*\(\s*'search_path'/i;

/**
 * The tables that applying every migration's up part in order leaves behind,
 * read from CREATE TABLE / DROP TABLE / ALTER TABLE ... RENAME TO statements,
 * each with the migration that created (or last renamed) it. Used by the
 * health check and by up to tell "the schema exists" from "rows say so".
 */
export function tablesCreatedBy(migrations: readonly Migration[]): Map<string, Migration> {
  const tables = new Map<string, Migration>();
  for (const migration of migrations) {
    const movesSearchPath = SETS_SEARCH_PATH.test(migration.up);
    for (const statement of scanSql(migration.up).statements) {
      const text = migration.up.slice(statement.start, statement.end);
      const created = CREATE_TABLE.exec(text);
      if (created?.[1] && !/^create\s+(?:(?:global\s+|local\s+)?(?:temp|temporary))/i.test(text)) {
        const name = normalise(created[1]);
        if (!(movesSearchPath && !name.includes("."))) tables.set(name, migration);
        continue;
      }
      const dropped = DROP_TABLE.exec(text);
      if (dropped?.[1]) {
        for (const name of dropped[1].match(new RegExp(QUALIFIED, "g")) ?? []) tables.delete(normalise(name));
        continue;
      }
      const renamed = RENAME_TABLE.exec(text);
      if (renamed?.[1] && renamed[2] && tables.delete(normalise(renamed[1]))) {
        // RENAME TO keeps the table in its schema: the new name takes the old one's qualification.
        const qualified = [...renamed[1].matchAll(PART)];
        const schema = qualified.length > 1 ? `${qualified[0]?.[0] ?? ""}.` : "";
        tables.set(normalise(schema + renamed[2]), migration);
      }
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
  const tables = new Set<string>();
  for (const statement of scanSql(migration.up).statements) {
    const text = migration.up.slice(statement.start, statement.end);
    const created = CREATE_TABLE.exec(text);
    if (created?.[1]) tables.add(normalise(created[1]));
    for (const pattern of CHANGES_TABLE) {
      const match = pattern.exec(text);
      const name = match?.[match.length - 1];
      if (name) tables.add(normalise(name));
    }
    const column = COMMENT_ON_COLUMN.exec(text);
    if (column?.[1]) tables.add(normalise(column[1]));
  }
  return tables;
}
