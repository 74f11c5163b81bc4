import { expectedTables } from "../core/expected-tables.ts";
import { type Finding, missingTableFindings, planFindings, schemaDriftFindings } from "../core/findings.ts";
import type { Plan } from "../core/plan.ts";
import type { SchemaVerdict } from "../core/schema/verdict.ts";
import { missingTables } from "../db/tables.ts";
import type { ExpectedSchemaLookup } from "../source/expected-schema.ts";
import type { MigratorOptions } from "./options.ts";
import { waitAndReadPlan } from "./read-plan.ts";
import { judgeSchemaDrift } from "./schema-drift.ts";

const NO_SNAPSHOT: ExpectedSchemaLookup = { expected: null, reason: "no schema snapshot was given" };

/** `verify`: every way the database and this build disagree, without writing or locking. */
export async function verifyDatabase(
  options: MigratorOptions,
  expectedSchema: ExpectedSchemaLookup = NO_SNAPSHOT,
): Promise<{ plan: Plan; findings: Finding[]; schema: SchemaVerdict }> {
  const { plan } = await waitAndReadPlan(options);
  const missing = await missingTables(options.sql, expectedTables(options.migrations));
  const schema = await judgeSchemaDrift(options.sql, plan, expectedSchema);
  // A dropped table is already a missing-table finding: the drift's line for it would say it twice.
  const missingTableLines = new Set(missing.map((table) => `table ${table}`));
  const drift = schema.drift === null ? [] : schemaDriftFindings(schema.drift).filter((finding) => !(finding.kind === "schema-missing" && missingTableLines.has(finding.subject)));
  // Out-of-order is how up will apply a pending migration, not a disagreement of its own.
  const findings = [...planFindings(plan).filter((finding) => finding.kind !== "out-of-order"), ...missingTableFindings(missing), ...drift];
  return { plan, findings, schema };
}
