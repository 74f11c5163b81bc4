import { compareSnapshots } from "../core/schema/compare.ts";
import { snapshotEntries } from "../core/schema/snapshot-text.ts";
import { type SchemaVerdict, judgedVerdict, reasonNotJudged, unjudgedVerdict } from "../core/schema/verdict.ts";
import type { Plan } from "../core/plan.ts";
import type { Sql } from "../db/connection.ts";
import { readSchema } from "../db/schema/read.ts";
import type { ExpectedSchemaLookup } from "../source/expected-schema.ts";

/**
 * Compares the live schema with the expected snapshot when the comparison
 * means something: a snapshot exists and the database is at exactly this
 * build's migrations. Otherwise says why not, without reading the catalog
 * (status stays one query on a database with migrations pending).
 */
export async function judgeSchemaDrift(sql: Sql, plan: Plan, lookup: ExpectedSchemaLookup): Promise<SchemaVerdict> {
  if (lookup.expected === null) return unjudgedVerdict(lookup.reason);
  const reason = reasonNotJudged(plan);
  if (reason !== null) return unjudgedVerdict(reason);
  const live = snapshotEntries(await readSchema(sql));
  return judgedVerdict(lookup.expected.origin, compareSnapshots(lookup.expected.snapshot, live));
}
