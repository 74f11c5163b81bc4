import { defineCommand } from "citty";
import { MigrateError } from "../../core/errors.ts";
import { markApplied } from "../../migrator.ts";
import { connectionArgs, lockArgs } from "../args.ts";
import { confirmation } from "../confirm.ts";
import { withMigrator } from "../context.ts";

export default defineCommand({
  meta: { name: "mark-applied", description: "Record one pending migration as applied without running it (a gap an old runner left); asks, or needs --yes" },
  args: {
    ...connectionArgs,
    ...lockArgs,
    version: { type: "positional", required: true, valueHint: "VERSION", description: "The pending migration whose changes the database already has" },
    yes: { type: "boolean", description: "Do not ask for confirmation (required without a terminal)" },
    force: { type: "boolean", description: "Record it although tables it creates do not exist (asks on a terminal, whatever --yes says)" },
  },
  async run({ args }) {
    if (args.version === undefined) throw new MigrateError("USAGE", "mark-applied needs VERSION: the pending migration to record as applied (see st44-migrate status).");
    await withMigrator(args, async (_context, options) => {
      await markApplied(options, String(args.version), confirmation({ yes: Boolean(args.yes) }), {
        force: Boolean(args.force),
        confirm: confirmation({ yes: false, terminalOnly: true }),
      });
    }, { interruptible: true });
  },
});
