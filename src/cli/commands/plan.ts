import { defineCommand } from "citty";
import type { Flags } from "../../config.ts";
import { assertCanApply, assertConsistent, assertSchemaPresent, waitAndReadPlan } from "../../migrator.ts";
import { connectionArgs, jsonArg, onUnknownArg } from "../args.ts";
import { withMigrator } from "../context.ts";
import { writeStdout } from "../../output.ts";

/** What `up` would do, in order, with each migration's SQL. Reads only: no lock, no writes. */
export async function showPlan(flags: Flags, json: boolean): Promise<void> {
  await withMigrator(flags, async (context, options) => {
    const { plan } = await waitAndReadPlan(options);
    // Refuses exactly when up would (changed checksums, unknown with --on-unknown fail).
    assertConsistent(plan, options.onUnknown ?? "warn", context.log);
    await assertSchemaPresent(options, plan);
    await assertCanApply(options, plan);
    if (json) {
      const document = {
        database: options.connection.display,
        latest: plan.latestApplied,
        expected_latest: plan.latestKnown,
        unknown: plan.unknown.map((entry) => entry.version),
        pending: plan.pending.map((migration) => ({
          version: migration.version,
          name: migration.name,
          file: migration.fileName,
          transaction: migration.options.transaction,
          checksum: migration.checksum,
          sql: migration.up,
        })),
      };
      writeStdout(`${JSON.stringify(document, null, 2)}\n`);
      return;
    }
    const lines = [
      plan.pending.length === 0
        ? `Nothing to apply to ${options.connection.display}: ${plan.applied.length} migrations applied, latest ${plan.latestApplied ?? "none"}.`
        : `${plan.pending.length} migration(s) would be applied to ${options.connection.display} (latest ${plan.latestApplied ?? "none"} -> ${plan.latestKnown}), in this order:`,
    ];
    for (const migration of plan.pending) {
      lines.push(
        "",
        `-- ${migration.fileName} (${migration.options.transaction ? "in one transaction with its tracking row" : "statement by statement, outside a transaction"})`,
        migration.up.trim(),
      );
    }
    writeStdout(`${lines.join("\n")}\n`);
  });
}

export default defineCommand({
  meta: { name: "plan", description: "Show what up would apply, in order, with each migration's SQL; writes nothing, takes no lock" },
  // No lock flags: plan takes no lock and writes nothing.
  args: { ...connectionArgs, ...onUnknownArg, ...jsonArg },
  run: ({ args }) => showPlan(args, Boolean(args.json)),
});
