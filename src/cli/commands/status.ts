import { defineCommand } from "citty";
import { MigrateError } from "../../core/errors.ts";
import { waitAndReadPlan } from "../../migrator.ts";
import { judgeSchemaDrift } from "../../operations/schema-drift.ts";
import { schemaDocument, schemaStatusLine } from "../../core/schema/verdict.ts";
import { refusalToApply } from "../../core/findings.ts";
import { statusDocument, statusTable } from "../../core/status-report.ts";
import { connectionArgs, jsonArg } from "../args.ts";
import { withMigrator } from "../context.ts";
import { writeStdout } from "../../output.ts";

export default defineCommand({
  meta: { name: "status", description: "Show each migration's state: applied, pending, changed or unknown" },
  args: {
    ...connectionArgs,
    ...jsonArg,
    "exit-code": {
      type: "boolean",
      description: "Exit 6 when migrations are pending and 4 when an applied one was changed (for CI and ssh checks)",
    },
  },
  async run({ args }) {
    const { plan, schema } = await withMigrator(args, async (context, options) => {
      const expected = await context.expectedSchema();
      const { plan } = await waitAndReadPlan(options);
      return { plan, schema: await judgeSchemaDrift(options.sql, plan, expected) };
    });
    writeStdout(args.json ? `${JSON.stringify({ ...statusDocument(plan), schema: schemaDocument(schema) }, null, 2)}\n` : `${statusTable(plan)}${schemaStatusLine(schema)}\n`);
    if (args["exit-code"]) {
      const refusal = refusalToApply(plan, "warn");
      if (refusal) throw refusal;
      if (plan.pending.length > 0) {
        throw new MigrateError("PENDING_MIGRATIONS", `${plan.pending.length} migration(s) pending: ${plan.pending.map((migration) => migration.version).join(", ")}. Run st44-migrate up.`);
      }
    }
  },
});
