import { defineCommand } from "citty";
import { MAX_TIMEOUT_MS, durationSetting, stringSetting } from "../../config.ts";
import { checkDatabaseHealthAgainst } from "../../health/check.ts";
import { expectedSchemaOf } from "../../health/expected.ts";
import { type ExpectedSchemaLookup, directoryExpectedSchema } from "../../source/expected-schema.ts";
import { dirArg, logFormatArg, urlArg } from "../args.ts";
import { createContext, loadMigrations, openDatabase } from "../context.ts";
import { writeStdout } from "../../output.ts";

/**
 * Exit codes follow Docker's HEALTHCHECK: 0 healthy (or degraded), 1
 * unhealthy. Any error, a usage error included, also exits 1 (main.ts):
 * Docker reserves 2.
 */
export default defineCommand({
  meta: { name: "health", description: "Print the /health/database document; exit 0 when healthy or degraded, 1 when unhealthy" },
  args: {
    ...urlArg,
    ...dirArg,
    ...logFormatArg,
    timeout: { type: "string", valueHint: "SECONDS", description: "Upper bound for the check (default: HEALTH_TIMEOUT or 2)" },
  },
  async run({ args }) {
    const context = createContext(args);
    const migrations = await loadMigrations(context);
    const dir = stringSetting(args, "dir", context.env, "MIGRATIONS_DIR");
    const expectedSchema = dir === undefined ? expectedSchemaOf({ migrations }) : await folderSchema(dir);
    const timeoutMs = durationSetting(args, "timeout", context.env, "HEALTH_TIMEOUT", 2000, MAX_TIMEOUT_MS);
    // One try within --timeout, whatever MIGRATE_WAIT says; still checked, as every command that
    // connects checks every MIGRATE_* variable, so a typo in the environment shows up here too.
    durationSetting({}, "wait", context.env, "MIGRATE_WAIT", 0);
    const db = openDatabase(context, { ...args, wait: "0" }, { connectTimeoutSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)) });
    try {
      const report = await checkDatabaseHealthAgainst({ sql: db.sql, migrations, timeoutMs }, expectedSchema);
      writeStdout(`${JSON.stringify(report, null, 2)}\n`);
      return report.status === "unhealthy" ? 1 : 0;
    } finally {
      // A server that does not answer must not hold the process past the bound.
      await db.sql.end({ timeout: 0 });
    }
  },
});

/** With --dir, the folder's own snapshot describes its migrations (the embedded one describes the build's). */
async function folderSchema(dir: string): Promise<ExpectedSchemaLookup> {
  const expected = await directoryExpectedSchema(dir);
  return expected === null ? { expected: null, reason: `${dir} has no schema.snapshot: write one with st44-migrate dump against a database its migrations alone built` } : { expected, reason: null };
}
