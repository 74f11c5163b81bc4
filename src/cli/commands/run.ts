import { defineCommand } from "citty";
import { buildInfo } from "../../build-info.ts";
import { ExitCode, MigrateError, isMigrateError } from "../../core/errors.ts";
import { exitCodeForSignal } from "../../core/interrupt.ts";
import { reportError } from "../report-error.ts";
import { execApplication, resolveExecutable } from "../../exec.ts";
import { migrateUp } from "../../migrator.ts";
import { applyArgs } from "../args.ts";
import { createContext, withMigrator } from "../context.ts";
import { stringSetting } from "../../config.ts";

function interruptedBeforeStart(signal: AbortSignal, command: string): MigrateError {
  const name = typeof signal.reason === "string" ? signal.reason : "a signal";
  return new MigrateError("INTERRUPTED", `Stopped by ${name} before ${command} was started: what was applied stays applied and recorded, and ${command} was not started.`, {
    exitCode: exitCodeForSignal(signal.reason),
  });
}

/**
 * The container entrypoint: `st44-migrate run -- node dist/server.js`.
 * Applies what is pending exactly as `up` does, logs one start-up line, then
 * replaces itself with the application. The application never starts on a
 * schema that failed to migrate, unless --on-error start says otherwise.
 */
export default defineCommand({
  meta: { name: "run", description: "Apply pending migrations, then replace this process with COMMAND (st44-migrate run -- COMMAND [ARGS...])" },
  args: {
    ...applyArgs,
    "on-error": {
      type: "string",
      valueHint: "fail|start",
      description: "When migrating fails: fail (do not start COMMAND; default) or start it anyway, logging that the schema is behind (default: MIGRATE_ON_ERROR or fail)",
    },
  },
  async run({ args, data }) {
    const command = (data as { passthrough: string[] | null } | undefined)?.passthrough ?? null;
    if (command === null || command.length === 0) {
      throw new MigrateError("USAGE", 'run needs the command to start after "--", for example: st44-migrate run -- node dist/server.js');
    }
    const context = createContext(args);
    // Before migrating: a typo in the command must fail with nothing changed.
    const executable = resolveExecutable(command[0] ?? "", context.env.PATH);
    const onError = stringSetting(args, "on-error", context.env, "MIGRATE_ON_ERROR") ?? "fail";
    if (onError !== "fail" && onError !== "start") {
      throw new MigrateError("USAGE", `--on-error (or MIGRATE_ON_ERROR) must be fail or start, not "${onError}".`);
    }
    const started = performance.now();
    let signal: AbortSignal | undefined;
    const { result, migrations } = await withMigrator(
      args,
      async (_context, options) => {
        signal = options.interruptSignal?.();
        try {
          return { result: await migrateUp(options), migrations: options.migrations };
        } catch (error) {
          // Usage errors and an operator's SIGTERM never start the application.
          if (onError === "fail" || (isMigrateError(error) && (error.exitCode === ExitCode.usage || error.code === "INTERRUPTED"))) throw error;
          reportError(error, context.log);
          // Unreachable is not "behind": nothing is known of the schema then, and the warning must not guess.
          const unreachable = isMigrateError(error) && error.exitCode === ExitCode.databaseUnreachable;
          const refused = isMigrateError(error) && error.exitCode === ExitCode.refused;
          const state = unreachable
            ? "THE DATABASE COULD NOT BE REACHED, SO ITS SCHEMA IS UNKNOWN"
            : refused
              ? `THE DATABASE DOES NOT MATCH THIS BUILD (${error.code})`
              : "THE DATABASE SCHEMA IS BEHIND THIS BUILD";
          context.log.warn(`STARTING ${command[0]} ANYWAY (--on-error start): ${state} (expects ${options.migrations.at(-1)?.version ?? "none"})`, {
            event: unreachable ? "schema_unknown" : "schema_behind",
            expected_latest: options.migrations.at(-1)?.version ?? null,
          });
          return { result: null, migrations: options.migrations };
        }
      },
      { interruptible: true, beforeExec: true, trackingRead: "identities" },
      context,
    );
    // A SIGTERM that came after the last statement (while the run finished or the connections closed) is
    // still the operator's: the application must not start, whatever --on-error says.
    if (signal?.aborted) throw interruptedBeforeStart(signal, command[0] ?? "");
    const durationMs = Math.round(performance.now() - started);
    const plan = result?.plan;
    // Which migrations this start checked the schema against: the folder a build embedded (an image built
    // without --migrations embeds this tool's own set, not the app's), or the --dir it read.
    const dir = stringSetting(args, "dir", context.env, "MIGRATIONS_DIR");
    const source = dir === undefined ? `migrations embedded from ${buildInfo.migrationsFolder}` : `migrations read from ${dir}`;
    context.log.info(
      plan
        ? `starting ${command.join(" ")}: st44-migrate ${buildInfo.version} (${buildInfo.commit}), schema at ${plan.latestApplied ?? "none"}, ${plan.applied.length} applied (${result?.applied.length ?? 0} now), ${plan.pending.length} pending, ${plan.unknown.length} unknown, ${durationMs} ms; ${source}`
        : `starting ${command.join(" ")}: st44-migrate ${buildInfo.version} (${buildInfo.commit}), migrations FAILED, ${durationMs} ms; ${source}`,
      {
        event: "startup",
        version: buildInfo.version,
        commit: buildInfo.commit,
        migrated: plan !== undefined,
        applied: plan?.applied.length ?? null,
        applied_now: result?.applied.length ?? 0,
        latest: plan?.latestApplied ?? null,
        expected_latest: migrations.at(-1)?.version ?? null,
        migrations_source: dir === undefined ? "embedded" : "directory",
        migrations_folder: dir ?? buildInfo.migrationsFolder,
        pending: plan?.pending.length ?? null,
        unknown: plan?.unknown.map((entry) => entry.version) ?? [],
        duration_ms: durationMs,
      },
    );
    const mode = context.env.ST44_EXEC === "spawn" ? "spawn" : "auto";
    return execApplication(executable, command, context.log, mode);
  },
});
