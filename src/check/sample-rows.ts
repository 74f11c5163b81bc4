/**
 * A row in each existing table the migration names (and in those its
 * foreign keys need) before it is measured, so that what a statement does
 * to data (a NOT NULL that fails on rows, a validation) shows as it would
 * in production. Generic: every column without a default gets a
 * value of its type (a foreign key: a row of the referenced table); a table
 * whose constraints refuse that is left empty, and the report says so.
 */
import type { Queryable } from "../db/connection.ts";
import type { ExistingTable } from "./catalog.ts";

type Run = Pick<Queryable, "unsafe">;

interface ColumnRow {
  table_oid: string;
  column_name: string;
  type: string;
  category: string;
  type_kind: string;
  not_null: boolean;
  needs_value: boolean;
  referenced: string | null;
  /** The first string constant of a CHECK on this column alone (`role IN ('admin', ...)`): a value it likely accepts. */
  allowed_literal: string | null;
}

const COLUMNS = (oids: string) => `
  select a.attrelid::int8 as table_oid, quote_ident(a.attname) as column_name, format_type(a.atttypid, a.atttypmod) as type,
    t.typcategory as category, t.typtype as type_kind, a.attnotnull as not_null,
    (not a.atthasdef and a.attidentity = '' and a.attgenerated = '') as needs_value,
    (select format('(select %I from %s limit 1)', ra.attname, con.confrelid::regclass)
       from pg_catalog.pg_constraint con join pg_catalog.pg_attribute ra on ra.attrelid = con.confrelid and ra.attnum = con.confkey[1]
       where con.conrelid = a.attrelid and con.contype = 'f' and cardinality(con.conkey) = 1 and con.conkey[1] = a.attnum limit 1) as referenced,
    (select substring(pg_get_constraintdef(con.oid) from '''(([^'']|'''')*)''')
       from pg_catalog.pg_constraint con
       where con.conrelid = a.attrelid and con.contype = 'c' and con.conkey = array[a.attnum]::int2[] limit 1) as allowed_literal
  from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
  where a.attrelid in (${oids}) and a.attnum > 0 and not a.attisdropped
  order by a.attrelid, a.attnum`;

const REFERENCES = (oids: string) =>
  `select conrelid::int8 as table_oid, confrelid::int8 as referenced_oid from pg_catalog.pg_constraint where contype = 'f' and conrelid in (${oids}) and conrelid <> confrelid`;

/** A constant of the column's type, or null when there is no generic one. */
function valueFor(column: ColumnRow): string | null {
  if (column.referenced !== null) return column.referenced;
  const cast = (literal: string) => `${literal}::${column.type}`;
  if (column.type_kind === "e") return `(enum_range(null::${column.type}))[1]`;
  if (column.type === "uuid") return "gen_random_uuid()";
  if (column.allowed_literal !== null && column.category === "S") return cast(`'${column.allowed_literal}'`);
  switch (column.category) {
    case "N":
      return cast("1");
    case "S":
      return cast("'x'");
    case "B":
      return "true";
    case "D":
      return cast("now()");
    case "T":
      return cast("'1 hour'");
    case "A":
      return cast("'{}'");
    case "I":
      return cast("'127.0.0.1'");
    case "U":
      return column.type === "json" || column.type === "jsonb" ? cast("'{}'") : null;
    default:
      return null;
  }
}

/**
 * The tables the migration's text names, and those their foreign keys need
 * rows in: rows change only what a statement does to the table it works on
 * (a NOT NULL that fails, a validation), and filling a hundred tables before
 * each of a hundred migrations would be most of the run. A table reached
 * only through a function or dynamic SQL stays empty.
 */
function tablesToFill(tables: readonly ExistingTable[], references: readonly { table: number; referenced: number }[], sql: string): ExistingTable[] {
  const words = new Set(sql.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? []);
  const wanted = new Set(tables.filter((table) => words.has(table.name.slice(table.name.indexOf(".") + 1).toLowerCase())).map((table) => table.oid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const edge of references) {
      if (wanted.has(edge.table) && !wanted.has(edge.referenced)) {
        wanted.add(edge.referenced);
        grew = true;
      }
    }
  }
  return tables.filter((table) => wanted.has(table.oid));
}

/** Referenced tables first (Kahn's order); tables in a cycle of foreign keys come last, in name order. */
function fillOrder(tables: readonly ExistingTable[], references: readonly { table: number; referenced: number }[]): ExistingTable[] {
  const pending = new Map(tables.map((table) => [table.oid, table]));
  const ordered: ExistingTable[] = [];
  while (pending.size > 0) {
    const ready = [...pending.values()].filter((table) => !references.some((edge) => edge.table === table.oid && pending.has(edge.referenced)));
    const next = ready.length > 0 ? ready : [...pending.values()];
    for (const table of next) {
      ordered.push(table);
      pending.delete(table.oid);
    }
  }
  return ordered;
}

/** A table whose generic row was refused, and the server's reason. */
export interface EmptyTable {
  readonly table: string;
  readonly reason: string;
}

/**
 * Inserts one row per table; returns the tables it could not fill.
 * Inside a transaction each try is under a savepoint, so a refused row
 * leaves the transaction usable; in autocommit each INSERT stands alone.
 */
export async function insertSampleRows(db: Run, candidates: readonly ExistingTable[], inTransaction: boolean, sql: string): Promise<EmptyTable[]> {
  // A materialized view's rows come from its query (REFRESH), not from an INSERT.
  const allTables = candidates.filter((table) => !table.materialized);
  if (allTables.length === 0) return [];
  const all = allTables.map((table) => table.oid).join(",");
  const references = ((await db.unsafe(REFERENCES(all))) as unknown as { table_oid: string; referenced_oid: string }[]).map((row) => ({
    table: Number(row.table_oid),
    referenced: Number(row.referenced_oid),
  }));
  const tables = tablesToFill(allTables, references, sql);
  if (tables.length === 0) return [];
  const columns = (await db.unsafe(COLUMNS(tables.map((table) => table.oid).join(",")))) as unknown as ColumnRow[];
  const empty: EmptyTable[] = [];
  for (const table of fillOrder(tables, references)) {
    const own = columns.filter((column) => Number(column.table_oid) === table.oid && column.needs_value);
    // First every column (a CHECK may want one of several set), then only those that must be.
    const tries = [own, own.filter((column) => column.not_null)];
    let lastError = "";
    let filled = false;
    for (const chosen of tries) {
      const pairs = chosen.map((column) => ({ column, value: valueFor(column) }));
      if (pairs.some((pair) => pair.value === null && pair.column.not_null)) {
        lastError = "a required column of a type without a generic value";
        continue;
      }
      const named = pairs.filter((pair) => pair.value !== null);
      const insert = named.length === 0
        ? `insert into ${quoteName(table.name)} default values`
        : `insert into ${quoteName(table.name)} (${named.map((pair) => pair.column.column_name).join(", ")}) values (${named.map((pair) => pair.value).join(", ")})`;
      try {
        if (inTransaction) await db.unsafe("savepoint st44_check_row");
        await db.unsafe(insert);
        if (inTransaction) await db.unsafe("release savepoint st44_check_row");
        filled = true;
        break;
      } catch (error) {
        if (inTransaction) await db.unsafe("rollback to savepoint st44_check_row");
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    if (!filled) empty.push({ table: table.name, reason: lastError });
  }
  return empty;
}

/** `public.users` -> `"public"."users"` (the dump's names are not quoted). */
export function quoteName(name: string): string {
  const dot = name.indexOf(".");
  return [name.slice(0, dot), name.slice(dot + 1)].map((part) => `"${part.replaceAll('"', '""')}"`).join(".");
}
