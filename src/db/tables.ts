import type { Queryable } from "./connection.ts";

/** Which of `tables` do not exist (to_regclass follows the search_path, as the migrations did). */
export async function missingTables(db: Queryable, tables: readonly string[]): Promise<string[]> {
  // A json parameter, not text[]: the client skips fetching array types (one round trip less at start).
  const rows = await db.unsafe<{ name: string }[]>(
    "select name from json_array_elements_text($1::json) as name where to_regclass(name) is null order by 1",
    [tables as never],
  );
  return rows.map((row) => row.name);
}
