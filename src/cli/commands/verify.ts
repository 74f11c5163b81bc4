import { defineCommand } from "citty";
import { MigrateError } from "../../core/errors.ts";
import { verifyDatabase } from "../../migrator.ts";
import { connectionArgs, jsonArg } from "../args.ts";
import { withMigrator } from "../context.ts";
import { writeStdout } from "../../output.ts";

export default defineCommand({
  meta: { name: "verify", description: "Check the database against this build (changed, unknown, pending migrations, missing tables); exit 4 on any finding" },
  args: { ...connectionArgs, ...jsonArg },
  async run({ args }) {
    await withMigrator(args, async (_context, options) => {
      const { plan, findings } = await verifyDatabase(options);
      if (args.json) {
        writeStdout(`${JSON.stringify({ ok: findings.length === 0, latest: plan.latestApplied, expected_latest: plan.latestKnown, findings }, null, 2)}\n`);
      } else {
        const lines = findings.map((finding) => `${finding.kind.padEnd(13)} ${finding.message}`);
        lines.push(findings.length === 0 ? `ok: the database matches this build (latest ${plan.latestApplied ?? "none"})` : `${findings.length} problem(s) found`);
        writeStdout(`${lines.join("\n")}\n`);
      }
      if (findings.length > 0) {
        throw new MigrateError("VERIFY_FAILED", `The database does not match this build: ${findings.length} problem(s), listed above. Apply pending migrations with up, restore changed files (or repair --accept), and roll back unknown ones with down --to-known.`);
      }
    });
  },
});
