import { defineCommand } from "citty";
import { MigrateError } from "../../core/errors.ts";
import { verifyFailures } from "../../core/findings.ts";
import { schemaDocument, schemaSummary } from "../../core/schema/verdict.ts";
import { verifyDatabase } from "../../migrator.ts";
import { connectionArgs, jsonArg } from "../args.ts";
import { withMigrator } from "../context.ts";
import { writeStdout } from "../../output.ts";

export default defineCommand({
  meta: {
    name: "verify",
    description: "Check the database against this build (changed, unknown, pending migrations, missing tables, schema drift from the snapshot); exit 4 on any finding",
  },
  args: {
    ...connectionArgs,
    ...jsonArg,
    strict: { type: "boolean", description: "Fail on objects the schema snapshot does not have (extra tables, indexes...) too, not only on missing and changed ones" },
  },
  async run({ args }) {
    const strict = args.strict === true;
    await withMigrator(args, async (context, options) => {
      const { plan, findings, schema } = await verifyDatabase(options, await context.expectedSchema());
      const failures = verifyFailures(findings, strict);
      if (args.json) {
        const document = { ok: failures.length === 0, latest: plan.latestApplied, expected_latest: plan.latestKnown, findings, schema: schemaDocument(schema) };
        writeStdout(`${JSON.stringify(document, null, 2)}\n`);
      } else {
        const lines = findings.map((finding) => `${finding.kind.padEnd(14)} ${finding.message}`);
        lines.push(`schema: ${schemaSummary(schema)}`);
        const warnings = findings.length - failures.length;
        const warned = warnings > 0 ? `; ${warnings} extra object(s) above are warnings (--strict fails on them)` : "";
        lines.push(failures.length === 0 ? `ok: the database matches this build (latest ${plan.latestApplied ?? "none"})${warned}` : `${failures.length} problem(s) found${warned}`);
        writeStdout(`${lines.join("\n")}\n`);
      }
      if (failures.length > 0) {
        throw new MigrateError(
          "VERIFY_FAILED",
          `The database does not match this build: ${failures.length} problem(s), listed above. Apply pending migrations with up, restore changed files (or repair --accept), and roll back unknown ones with down --to-known; for schema drift (missing, changed or invalid objects${strict ? ", and extra ones under --strict" : ""}), put the schema back as the migrations made it or write a migration that makes the change (docs/troubleshooting.md, "Schema drift").`,
        );
      }
    });
  },
});
