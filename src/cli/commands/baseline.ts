import { defineCommand } from "citty";
import { MigrateError } from "../../core/errors.ts";
import { baselineTo } from "../../migrator.ts";
import { connectionArgs, lockArgs } from "../args.ts";
import { confirmation } from "../confirm.ts";
import { withMigrator } from "../context.ts";

export default defineCommand({
  meta: { name: "baseline", description: "Record migrations up to VERSION as applied without running them (a schema created by hand)" },
  args: {
    ...connectionArgs,
    ...lockArgs,
    to: { type: "string", valueHint: "VERSION", description: "The last version the hand-made schema already has" },
    force: { type: "boolean", description: "Record them although tables they create do not exist (asks on a terminal)" },
  },
  async run({ args }) {
    if (args.to === undefined) throw new MigrateError("USAGE", "baseline needs --to VERSION: the last migration whose changes the database already has (see st44-migrate status).");
    await withMigrator(args, async (context, options) => {
      const marked = await baselineTo(options, String(args.to), { force: Boolean(args.force), confirm: confirmation({ yes: false, terminalOnly: true }) });
      context.log.info(`baseline: ${marked.length} migration(s) recorded as applied without running them`, {
        event: "baseline_done",
        baselined: marked.map((migration) => migration.version),
      });
    }, { interruptible: true });
  },
});
