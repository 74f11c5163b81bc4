/** The catalog reads the measurements compare before and after each statement. */
import type { Queryable } from "../db/connection.ts";

/** A table (or materialized view) that existed before the migration: its oid, which no ALTER changes, and its name then. */
export interface ExistingTable {
  readonly oid: number;
  /** `public.users`, as the dump names it. */
  readonly name: string;
  /** A materialized view is locked, rewritten (REFRESH) and indexed like a table, but takes no INSERT. */
  readonly materialized: boolean;
}

type Run = Pick<Queryable, "unsafe">;

const USER_TABLES = `
  select c.oid::int8 as oid, n.nspname || '.' || c.relname as name, c.relkind = 'm' as materialized
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'm')
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
    and c.relname not like 'schema\\_migrations%'
    and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
  order by 2`;

export async function existingTables(db: Run): Promise<ExistingTable[]> {
  const rows = (await db.unsafe(USER_TABLES)) as unknown as { oid: string | number; name: string; materialized: boolean }[];
  return rows.map((row) => ({ oid: Number(row.oid), name: row.name, materialized: row.materialized }));
}

const oidList = (tables: readonly ExistingTable[]) => tables.map((table) => table.oid).join(",") || "0";

/** oid -> relfilenode: a rewrite gives the table a new file. */
export async function fileNodes(db: Run, tables: readonly ExistingTable[]): Promise<Map<number, number>> {
  const rows = (await db.unsafe(`select oid::int8 as oid, relfilenode::int8 as node from pg_catalog.pg_class where oid in (${oidList(tables)})`)) as unknown as { oid: string; node: string }[];
  return new Map(rows.map((row) => [Number(row.oid), Number(row.node)]));
}

/** Indexes on the tables, by name, with the table's oid. */
export async function indexesOn(db: Run, tables: readonly ExistingTable[]): Promise<Map<string, number>> {
  const rows = (await db.unsafe(
    `select indexrelid::regclass::text as name, indrelid::int8 as table_oid from pg_catalog.pg_index where indrelid in (${oidList(tables)})`,
  )) as unknown as { name: string; table_oid: string }[];
  return new Map(rows.map((row) => [row.name, Number(row.table_oid)]));
}

/** `oid:mode` of every relation lock this session holds on the tables. */
export async function heldLocks(db: Run, tables: readonly ExistingTable[]): Promise<Set<string>> {
  const rows = (await db.unsafe(
    `select relation::int8 as oid, mode from pg_catalog.pg_locks where pid = pg_backend_pid() and locktype = 'relation' and granted and relation in (${oidList(tables)})`,
  )) as unknown as { oid: string; mode: string }[];
  return new Set(rows.map((row) => `${Number(row.oid)}:${row.mode}`));
}

/** `schema.table.column` of every validated one-column `CHECK (column IS NOT NULL)`: what lets SET NOT NULL skip its scan. */
export async function validatedNotNullChecks(db: Run): Promise<Set<string>> {
  const rows = (await db.unsafe(`
    select n.nspname || '.' || c.relname || '.' || a.attname as key
    from pg_catalog.pg_constraint con
      join pg_catalog.pg_class c on c.oid = con.conrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = con.conkey[1]
    where con.contype = 'c' and con.convalidated and cardinality(con.conkey) = 1
      and pg_catalog.pg_get_constraintdef(con.oid) = format('CHECK ((%s IS NOT NULL))', quote_ident(a.attname))`)) as unknown as { key: string }[];
  return new Set(rows.map((row) => row.key));
}
