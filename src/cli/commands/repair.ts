import { defineCommand } from "citty";
import { MigrateError } from "../../core/errors.ts";
import { repairChecksum } from "../../migrator.ts";
import { connectionArgs, lockArgs } from "../args.ts";
import { withMigrator } from "../context.ts";

export default defineCommand({
  meta: { name: "repair", description: "Accept the current text of an applied migration edited on purpose (keeps the old checksum in its history)" },
  args: { ...connectionArgs, ...lockArgs, accept: { type: "string", valueHint: "VERSION", description: "The applied migration whose file was edited harmlessly" } },
  async run({ args }) {
    if (args.accept === undefined) throw new MigrateError("USAGE", "repair needs --accept VERSION: the applied migration whose edited file you accept (see st44-migrate status for changed ones).");
    await withMigrator(args, async (context, options) => {
      const result = await repairChecksum(options, String(args.accept));
      if (result === null) context.log.info(`${args.accept}: the file already matches what was applied; nothing to repair`, { event: "repair_noop" });
    }, { interruptible: true });
  },
});
