import { expectedTables } from "../core/expected-tables.ts";
import { type Finding, missingTableFindings, planFindings } from "../core/findings.ts";
import type { Plan } from "../core/plan.ts";
import { missingTables } from "../db/tables.ts";
import type { MigratorOptions } from "./options.ts";
import { waitAndReadPlan } from "./read-plan.ts";

/** `verify`: every way the database and this build disagree, without writing or locking. */
export async function verifyDatabase(options: MigratorOptions): Promise<{ plan: Plan; findings: Finding[] }> {
  const { plan } = await waitAndReadPlan(options);
  const missing = await missingTables(options.sql, expectedTables(options.migrations));
  // Out-of-order is how up will apply a pending migration, not a disagreement of its own.
  const findings = [...planFindings(plan).filter((finding) => finding.kind !== "out-of-order"), ...missingTableFindings(missing)];
  return { plan, findings };
}
