import { defineCommand } from "citty";
import { MigrateError } from "../../core/errors.ts";
import { forgetMigration } from "../../migrator.ts";
import { connectionArgs, lockArgs } from "../args.ts";
import { confirmation } from "../confirm.ts";
import { withMigrator } from "../context.ts";

export default defineCommand({
  meta: { name: "forget", description: "Remove one migration's row without running its down SQL (undo a baseline or mark-applied); asks, or needs --yes" },
  args: {
    ...connectionArgs,
    ...lockArgs,
    version: { type: "positional", required: true, valueHint: "VERSION", description: "The version whose row to remove" },
    yes: { type: "boolean", description: "Do not ask for confirmation (required without a terminal)" },
  },
  async run({ args }) {
    if (args.version === undefined) throw new MigrateError("USAGE", "forget needs VERSION: the version whose row to remove from schema_migrations (see st44-migrate status).");
    await withMigrator(args, async (_context, options) => {
      await forgetMigration(options, String(args.version), confirmation({ yes: Boolean(args.yes) }));
    }, { interruptible: true });
  },
});
