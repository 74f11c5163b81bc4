import { compareSnapshots } from "../core/schema/compare.ts";
import { snapshotEntries } from "../core/schema/snapshot-text.ts";
import type { QueryRows } from "../db/query-rows.ts";
import { readSchema } from "../db/schema/read.ts";
import type { ExpectedSchema } from "../source/expected-schema.ts";
import { stateOfFailure } from "./database-state.ts";
import { type SchemaSection, schemaNotJudged } from "./report.ts";

const TIMED_OUT = Symbol("timed out");

/**
 * Reads the live schema (one statement) and compares it with the expected
 * one, within `budgetMs`: what is left of the check's bound. A read that
 * does not finish in it, or fails, leaves the schema unknown and the rest of
 * the document as it is; `abandon` then gives the session's connection up.
 */
export async function readSchemaSection(query: QueryRows, expected: ExpectedSchema, budgetMs: number, abandon: () => void): Promise<SchemaSection> {
  const timedOut = (): SchemaSection => schemaNotJudged(`timed out: the schema read did not finish within what was left of the check's bound (${Math.max(0, Math.round(budgetMs))} ms)`);
  if (budgetMs <= 0) return timedOut();
  const read = readSchema(query);
  read.catch(() => {}); // a failure after the bound is nobody's to report
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), budgetMs);
  });
  try {
    const live = await Promise.race([read, bound]);
    if (live === TIMED_OUT) {
      abandon();
      return timedOut();
    }
    const drift = compareSnapshots(expected.snapshot, snapshotEntries(live));
    const lines = (list: readonly { line: string }[]) => list.map((difference) => difference.line);
    const found = drift.missing.length + drift.changed.length + drift.extra.length > 0;
    return { status: found ? "drift" : "ok", missing: lines(drift.missing), changed: lines(drift.changed), extra: lines(drift.extra) };
  } catch (error) {
    return schemaNotJudged(`the schema read failed: ${stateOfFailure(error).reason}`);
  } finally {
    clearTimeout(timer);
  }
}

const SHOWN = 5;

/** The document's reasons for a drifted schema: the first few lines, the section has them all. */
export function schemaReasons(schema: SchemaSection): { unhealthy: string[]; degraded: string[] } {
  const list = (lines: readonly string[]) => `${lines.slice(0, SHOWN).join("; ")}${lines.length > SHOWN ? ` (and ${lines.length - SHOWN} more: see schema)` : ""}`;
  const wrong = [...(schema.missing ?? []), ...(schema.changed ?? [])];
  const extra = schema.extra ?? [];
  return {
    unhealthy: wrong.length > 0 ? [`the schema is not the one the migrations leave: ${list(wrong)}`] : [],
    degraded: extra.length > 0 ? [`the database has objects the migrations do not create: ${list(extra)}`] : [],
  };
}
