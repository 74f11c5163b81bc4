import type { Migration } from "./migration-set.ts";
import { scanSql } from "./sql-lexer.ts";

const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = `(${IDENTIFIER}(?:\\s*\\.\\s*${IDENTIFIER})?)`;
const CREATE_TABLE = new RegExp(String.raw`^create\s+(?:(?:global\s+|local\s+)?(?:temp|temporary)\s+|unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?${QUALIFIED}`, "i");
const DROP_TABLE = new RegExp(String.raw`^drop\s+table\s+(?:if\s+exists\s+)?(${QUALIFIED}(?:\s*,\s*${QUALIFIED})*)`, "i");
const RENAME_TABLE = new RegExp(String.raw`^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?${QUALIFIED}\s+rename\s+to\s+(${IDENTIFIER})`, "i");

function normalise(name: string): string {
  return name
    .split(/\s*\.\s*/)
    .map((part) => (part.startsWith('"') ? part.slice(1, -1).replace(/""/g, '"') : part.toLowerCase()))
    .join(".");
}

/**
 * The tables that applying every migration's up part in order leaves behind,
 * read from CREATE TABLE / DROP TABLE / ALTER TABLE ... RENAME TO statements,
 * each with the migration that created (or last renamed) it. Used by the
 * health check and by up to tell "the schema exists" from "rows say so".
 */
export function tablesCreatedBy(migrations: readonly Migration[]): Map<string, Migration> {
  const tables = new Map<string, Migration>();
  for (const migration of migrations) {
    for (const statement of scanSql(migration.up).statements) {
      const text = migration.up.slice(statement.start, statement.end);
      const created = CREATE_TABLE.exec(text);
      if (created?.[1] && !/^create\s+(?:(?:global\s+|local\s+)?(?:temp|temporary))/i.test(text)) {
        tables.set(normalise(created[1]), migration);
        continue;
      }
      const dropped = DROP_TABLE.exec(text);
      if (dropped?.[1]) {
        for (const name of dropped[1].split(/\s*,\s*/)) tables.delete(normalise(name));
        continue;
      }
      const renamed = RENAME_TABLE.exec(text);
      if (renamed?.[1] && renamed[2] && tables.delete(normalise(renamed[1]))) {
        const schema = normalise(renamed[1]).includes(".") ? `${normalise(renamed[1]).split(".")[0]}.` : "";
        tables.set(schema + normalise(renamed[2]), migration);
      }
    }
  }
  return tables;
}

export function expectedTables(migrations: readonly Migration[]): string[] {
  return [...tablesCreatedBy(migrations).keys()].sort();
}
