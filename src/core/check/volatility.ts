/**
 * Whether a column default is evaluated once (PostgreSQL 11+ stores it in the
 * catalog: no rewrite) or per row (every existing row is rewritten under
 * ACCESS EXCLUSIVE, on every version). The text cannot ask the server, so a
 * default is judged by its function calls: one on the volatile list is
 * volatile; calls only to functions known stable or immutable (and
 * constants, casts, operators, CURRENT_TIMESTAMP and its kin) are not; any
 * other function (a user's own, or one not listed) is unknown.
 */
import type { FuncCall, Node } from "libpg-query";

export type Volatility = "volatile" | "not-volatile" | "unknown";

/** Volatile in pg_proc (provolatile = 'v'), and the ones migrations reach for. */
const VOLATILE = new Set([
  "random",
  "random_normal",
  "setseed",
  "clock_timestamp",
  "timeofday",
  "gen_random_uuid",
  "uuidv4",
  "uuidv7",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "gen_random_bytes",
  "nextval",
  "currval",
  "lastval",
  "txid_current",
  "pg_current_xact_id",
]);

/** Stable or immutable in pg_proc: evaluated once for ADD COLUMN's default. */
const NOT_VOLATILE = new Set([
  "now",
  "transaction_timestamp",
  "statement_timestamp",
  "current_setting",
  "lower",
  "upper",
  "trim",
  "btrim",
  "length",
  "abs",
  "round",
  "concat",
  "to_json",
  "to_jsonb",
  "json_build_object",
  "jsonb_build_object",
  "json_build_array",
  "jsonb_build_array",
  "make_date",
  "make_interval",
  "make_timestamptz",
  "date_trunc",
  "to_timestamp",
  "to_date",
  "timezone",
]);

/** The function's own name, unqualified and as PostgreSQL folds it. */
export function functionName(call: FuncCall): string {
  const last = call.funcname?.at(-1);
  return last && "String" in last ? (last.String.sval ?? "") : "";
}

/** Every FuncCall in an expression tree (the tree is plain JSON, so a walk over its objects finds them all). */
function functionCalls(node: unknown, found: FuncCall[] = []): FuncCall[] {
  if (Array.isArray(node)) for (const item of node) functionCalls(item, found);
  else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "FuncCall") found.push(value as FuncCall);
      functionCalls(value, found);
    }
  }
  return found;
}

/** The volatility of an expression, with the function that decided it (null when none did). */
export function volatilityOf(expression: Node | undefined): { volatility: Volatility; culprit: string | null } {
  const names = functionCalls(expression).map(functionName);
  const volatile = names.find((name) => VOLATILE.has(name));
  if (volatile !== undefined) return { volatility: "volatile", culprit: volatile };
  const unknown = names.find((name) => !NOT_VOLATILE.has(name));
  if (unknown !== undefined) return { volatility: "unknown", culprit: unknown };
  return { volatility: "not-volatile", culprit: null };
}

/** serial types are a nextval() default in disguise. */
export const SERIAL_TYPES = new Set(["serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"]);
