import { defineCommand } from "citty";
import { MigrateError } from "../../core/errors.ts";
import { printable } from "../../core/printable.ts";
import { type RollbackStep, type RollbackTarget, describeStep } from "../../core/rollback.ts";
import { migrateDown } from "../../migrator.ts";
import { connectionArgs, lockArgs } from "../args.ts";
import { withMigrator } from "../context.ts";

function targetOf(args: Record<string, unknown>): RollbackTarget {
  const chosen = [args.to !== undefined, args.steps !== undefined, Boolean(args["to-known"]), Boolean(args.all)].filter(Boolean).length;
  if (chosen !== 1) {
    throw new MigrateError("USAGE", "down needs exactly one of --to VERSION (keep VERSION and older), --steps N, --to-known (undo what this build does not know) or --all.");
  }
  if (args.to !== undefined) return { kind: "to", version: String(args.to) };
  if (args.steps !== undefined) {
    const steps = Number(args.steps);
    if (!Number.isInteger(steps) || steps < 1) throw new MigrateError("USAGE", `--steps takes a whole number of migrations (1 or more), not "${String(args.steps)}".`);
    return { kind: "steps", steps };
  }
  return args.all ? { kind: "all" } : { kind: "to-known" };
}

/** Destructive: on a terminal ask; elsewhere insist on --yes. Asked before the migration lock is taken. */
async function confirm(steps: readonly RollbackStep[], yes: boolean): Promise<void> {
  if (yes) return;
  const list = steps.map((step) => `  ${describeStep(step)}`).join("\n");
  if (!process.stdin.isTTY) {
    throw new MigrateError("CONFIRMATION_REQUIRED", `down would roll back ${steps.length} migration(s) and may drop data. Nothing was done; pass --yes to confirm.`, {
      details: steps.map((step) => `  ${describeStep(step)}`),
    });
  }
  // Loaded here: a static node: import is loaded on every start of the executable, whatever the command.
  const { createInterface } = await import("node:readline/promises");
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`Roll back ${steps.length} migration(s), newest first:\n${list}\nThis may drop data. Type "yes" to go on: `);
    if (answer.trim().toLowerCase() !== "yes") throw new MigrateError("CONFIRMATION_REQUIRED", "Not confirmed; nothing was rolled back.");
  } finally {
    prompt.close();
  }
}

export default defineCommand({
  meta: { name: "down", description: "Roll back applied migrations, newest first, each in its own transaction (destructive: asks, or needs --yes)" },
  args: {
    ...connectionArgs,
    ...lockArgs,
    to: { type: "string", valueHint: "VERSION", description: "Roll back every migration newer than VERSION" },
    steps: { type: "string", valueHint: "N", description: "Roll back the N newest migrations" },
    "to-known": { type: "boolean", description: "Roll back the applied migrations this build does not know (after deploying an older image), with their stored down SQL" },
    all: { type: "boolean", description: "Roll back every applied migration" },
    yes: { type: "boolean", description: "Do not ask for confirmation (required without a terminal)" },
  },
  async run({ args }) {
    const target = targetOf(args);
    await withMigrator(args, async (context, options) => {
      const result = await migrateDown(options, target, (steps) => confirm(steps, Boolean(args.yes)));
      // The version as its row writes it: from the database, so escaped.
      const latest = result.plan.latestApplied === null ? "none" : printable(result.plan.latestApplied);
      context.log.info(
        result.reverted.length === 0
          ? `nothing to roll back; latest applied is ${latest}`
          : `rolled back ${result.reverted.length} migration(s); latest applied is now ${latest}`,
        { event: "down_done", reverted: result.reverted.map((entry) => entry.version), latest: result.plan.latestApplied },
      );
    }, { interruptible: true });
  },
});
