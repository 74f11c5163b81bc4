import type { Queryable } from "./connection.ts";
import { type QueryRows, asQueryRows } from "./query-rows.ts";

/** Which of `tables` do not exist (to_regclass follows the search_path, as the migrations did). */
export async function missingTables(db: Queryable | QueryRows, tables: readonly string[]): Promise<string[]> {
  // One json literal, no parameter: any driver can send it through the QueryRows port, and the client
  // fetches no array types (one round trip less at start). An E'' string reads the same whatever
  // standard_conforming_strings is.
  const list = `E'${JSON.stringify(tables).replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
  const rows = await asQueryRows(db)(`select name from json_array_elements_text(${list}::json) as name where to_regclass(name) is null order by 1`);
  return rows.map((row) => String(row.name));
}
