import { defineCommand } from "citty";
import { migrateUp } from "../../migrator.ts";
import { applyArgs } from "../args.ts";
import { withMigrator } from "../context.ts";

export default defineCommand({
  meta: { name: "up", description: "Apply every pending migration, each in its own transaction, under a lock" },
  args: {
    ...applyArgs,
    "dry-run": { type: "boolean", description: "Show what would be applied (same as plan); write nothing" },
  },
  async run({ args }) {
    if (args["dry-run"]) {
      const { showPlan } = await import("./plan.ts");
      return showPlan(args, false);
    }
    await withMigrator(args, async (context, options) => {
      const result = await migrateUp(options);
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
      // The start compares identities only: what is applied is read again in full under the lock.
    }, { interruptible: true, trackingRead: "identities" });
  },
});
