/**
 * Measured locks: a new migration run statement by statement on a database
 * with the earlier schema and a row in each table, reading after each
 * statement which locks the session holds (pg_locks), which tables got a new
 * file (pg_class.relfilenode: a rewrite) and which indexes appeared on
 * tables that existed before. A transactional migration runs in one
 * transaction that is rolled back; a transaction:false one runs in
 * autocommit on a scratch copy, where locks are released before they can
 * be read, so only rewrites and indexes are measured.
 */
import { type BlockingMode, type StatementObservation, isBlockingMode } from "../core/check/measured.ts";
import type { Migration } from "../core/migration-set.ts";
import { blankTransactionControl, scanSql } from "../core/sql-lexer.ts";
import type { Queryable, Sql } from "../db/connection.ts";
import { type ExistingTable, fileNodes, heldLocks, indexesOn } from "./catalog.ts";
import { type EmptyTable, insertSampleRows } from "./sample-rows.ts";

export interface Measurement {
  readonly observations: readonly StatementObservation[];
  readonly notes: readonly string[];
  /** Existing tables the migration names that refused their sample row: what it does to their rows was not seen. */
  readonly leftEmpty: readonly EmptyTable[];
  /** A statement the server refused with the sample rows in place: where, and the server's message. */
  readonly failure: { readonly line: number; readonly excerpt: string; readonly message: string } | null;
}

type Run = Pick<Queryable, "unsafe">;

interface Statement {
  readonly text: string;
  readonly line: number;
  readonly excerpt: string;
  readonly keywords: readonly string[];
}

function statementsOf(migration: Migration, sql: string): Statement[] {
  return scanSql(sql).statements.map((statement) => {
    const firstLine = (sql.slice(statement.start, statement.end).split("\n")[0] ?? "").trim();
    return {
      text: sql.slice(statement.start, statement.endWithTerminator),
      line: migration.text.slice(0, migration.upOffset + statement.start).split("\n").length,
      excerpt: JSON.stringify(firstLine.length > 80 ? `${firstLine.slice(0, 77)}...` : firstLine),
      keywords: statement.keywords,
    };
  });
}

const CHANGES_A_TABLE: ReadonlySet<string> = new Set(["ALTER", "UPDATE", "DELETE", "TRUNCATE"]);

/** The line of the first statement of the up part that alters or changes the rows of `table` (`public.users`), or null. */
export function lineAltering(migration: Migration, table: string): number | null {
  const bare = table.slice(table.indexOf(".") + 1).toLowerCase();
  for (const statement of statementsOf(migration, migration.up)) {
    if (!CHANGES_A_TABLE.has(statement.keywords[0] ?? "")) continue;
    if (statement.keywords[0] === "ALTER" && statement.keywords[1] !== "TABLE") continue;
    const words: readonly string[] = statement.text.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? [];
    if (words.includes(bare)) return statement.line;
  }
  return null;
}

const ROLL_BACK = new Error("roll back the measured migration");

/** `withRows: false` only finds the statement that fails, on the database as it is (for a failure the server gave no position). */
export async function measureMigration(sql: Sql, migration: Migration, tables: readonly ExistingTable[], withRows = true): Promise<Measurement> {
  let measurement: Measurement | null = null;
  await sql
    .begin(async (tx) => {
      const leftEmpty = withRows ? await insertSampleRows(tx, tables, true, migration.up) : [];
      measurement = { ...(await runMeasured(tx, migration, blankTransactionControl(migration.up).text, tables, true)), notes: leftEmpty.map(emptyNote), leftEmpty };
      throw ROLL_BACK;
    })
    .catch((error: unknown) => {
      if (error !== ROLL_BACK) throw error;
    });
  if (measurement === null) throw new Error("the measured transaction ended without a result");
  return measurement;
}

/** transaction:false, on a scratch copy the caller drops afterwards: each statement commits on its own. */
export async function measureInAutocommit(scratch: Sql, migration: Migration, tables: readonly ExistingTable[]): Promise<Measurement> {
  const leftEmpty = await insertSampleRows(scratch, tables, false, migration.up);
  const measured = await runMeasured(scratch, migration, migration.up, tables, false);
  return {
    ...measured,
    leftEmpty,
    notes: [...leftEmpty.map(emptyNote), "transaction:false: each statement commits on its own, so its locks are gone before they can be read; rewrites and indexes were measured (on a scratch copy)"],
  };
}

const emptyNote = (empty: EmptyTable): string => `${empty.table} was left empty (a generic row was refused: ${empty.reason}); what the migration does to its rows was not seen`;

async function runMeasured(db: Run, migration: Migration, sql: string, tables: readonly ExistingTable[], readLocks: boolean): Promise<Omit<Measurement, "notes" | "leftEmpty">> {
  const names = new Map(tables.map((table) => [table.oid, table.name]));
  let locks = readLocks ? await heldLocks(db, tables) : new Set<string>();
  let nodes = await fileNodes(db, tables);
  let indexes = await indexesOn(db, tables);
  const observations: StatementObservation[] = [];
  for (const statement of statementsOf(migration, sql)) {
    try {
      await db.unsafe(statement.text);
    } catch (error) {
      return { observations, failure: { line: statement.line, excerpt: statement.excerpt, message: error instanceof Error ? error.message : String(error) } };
    }
    const [locksAfter, nodesAfter, indexesAfter] = await Promise.all([readLocks ? heldLocks(db, tables) : Promise.resolve(new Set<string>()), fileNodes(db, tables), indexesOn(db, tables)]);
    const taken: { table: string; mode: BlockingMode }[] = [];
    for (const key of locksAfter) {
      const [oid = "", mode = ""] = key.split(":");
      if (!locks.has(key) && isBlockingMode(mode)) taken.push({ table: names.get(Number(oid)) ?? oid, mode });
    }
    const rewritten = [...nodesAfter].filter(([oid, node]) => node !== 0 && nodes.has(oid) && nodes.get(oid) !== node).map(([oid]) => names.get(oid) ?? String(oid));
    const concurrently = /\bconcurrently\b/i.test(statement.text);
    const built = [...indexesAfter].filter(([index]) => !indexes.has(index)).map(([index, oid]) => ({ table: names.get(oid) ?? String(oid), index, concurrently }));
    if (taken.length > 0 || rewritten.length > 0 || built.length > 0) {
      observations.push({ line: statement.line, excerpt: statement.excerpt, keywords: statement.keywords, locks: strongestPerTable(taken), rewritten, indexes: built });
    }
    locks = locksAfter;
    nodes = nodesAfter;
    indexes = indexesAfter;
  }
  return { observations, failure: null };
}

const STRENGTH: readonly BlockingMode[] = ["AccessExclusiveLock", "ExclusiveLock", "ShareRowExclusiveLock", "ShareLock"];

/** A statement may take several modes on one table (SHARE, then ACCESS EXCLUSIVE): the strongest is what blocks. */
function strongestPerTable(locks: readonly { table: string; mode: BlockingMode }[]): { table: string; mode: BlockingMode }[] {
  const strongest = new Map<string, BlockingMode>();
  for (const lock of locks) {
    const known = strongest.get(lock.table);
    if (known === undefined || STRENGTH.indexOf(lock.mode) < STRENGTH.indexOf(known)) strongest.set(lock.table, lock.mode);
  }
  return [...strongest].map(([table, mode]) => ({ table, mode }));
}
