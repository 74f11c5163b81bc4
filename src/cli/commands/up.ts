import { defineCommand } from "citty";
import { applyArgs } from "../args.ts";
import { createContext, loadMigrations, openDatabase } from "../context.ts";
import { migrateUp } from "../../migrator.ts";

export default defineCommand({
  meta: { name: "up", description: "Apply every pending migration, each in its own transaction, under a lock" },
  args: applyArgs,
  async run({ args }) {
    const context = createContext(args);
    const migrations = await loadMigrations(context);
    const db = openDatabase(context, args);
    try {
      const result = await migrateUp({ ...db.migrator, migrations });
      const { plan } = result;
      context.log.info(
        result.applied.length === 0
          ? `nothing to do: ${plan.applied.length} migrations applied, latest ${plan.latestApplied ?? "none"} (${result.durationMs} ms)`
          : `applied ${result.applied.length} migration(s) in ${result.durationMs} ms; latest is now ${plan.latestApplied}`,
        {
          event: "up_done",
          applied_now: result.applied.length,
          applied_total: plan.applied.length,
          latest: plan.latestApplied,
          pending: plan.pending.length,
          duration_ms: result.durationMs,
        },
      );
    } finally {
      await db.close();
    }
  },
});
