import type { Queryable } from "./connection.ts";
import { type QueryRows, asQueryRows } from "./query-rows.ts";

/** Which of `tables` do not exist (to_regclass follows the search_path, as the migrations did). */
export async function missingTables(db: Queryable | QueryRows, tables: readonly string[]): Promise<string[]> {
  // One json literal, no parameter: any driver can send it through the QueryRows port, and the client
  // fetches no array types (one round trip less at start). An E'' string reads the same whatever
  // standard_conforming_strings is.
  const list = (names: readonly string[]) => `E'${JSON.stringify(names).replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
  // In a new backend each to_regclass is a catalog lookup (10,000 names: ~130 ms); many plain lower-case
  // names are compared with pg_class on the search path at once instead (a set operation, hashed or sorted).
  const plain = tables.filter((table) => PLAIN_NAME.test(table));
  const inBulk = plain.length >= 100 ? plain : [];
  const oneByOne = inBulk.length === 0 ? tables : tables.filter((table) => !PLAIN_NAME.test(table));
  const rows = await asQueryRows(db)(
    `select name from json_array_elements_text(${list(oneByOne)}::json) as name where to_regclass(name) is null
     union all (select name from json_array_elements_text(${list(inBulk)}::json) as name
       except select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = any(current_schemas(true))) order by 1`,
  );
  return rows.map((row) => String(row.name));
}

/** A name to_regclass reads as it is: unquoted, lower case, at most 63 characters (no truncation). */
const PLAIN_NAME = /^[a-z_][a-z0-9_$]{0,62}$/;
