import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import { printable } from "../core/printable.ts";
import { compareVersions, isVersion, versionKey } from "../core/version.ts";
import { inMigrationTransaction } from "../db/session.ts";
import { recordRepairRow, recordUnrunRows } from "../db/tracking-rows.ts";
import type { MigratorOptions } from "./options.ts";
import { missingTablesOf, waitAndReadPlan } from "./read-plan.ts";
import { underMigrationLock } from "./under-lock.ts";

/**
 * Operations that write rows without running a migration's SQL: baseline
 * (a schema created by hand) and repair (an applied file edited on purpose).
 * Each writes in one transaction, behind a pooler under the
 * transaction-level lock like every other write of the tracking table.
 */

/** How an operation that records unrun migrations asks before recording what the schema does not have. */
export interface RecordingChecks {
  /** Record even when tables the migrations create are missing; `confirm` must then agree (a terminal prompt). */
  readonly force?: boolean;
  readonly confirm?: (question: string) => Promise<void>;
}

/**
 * Refuses to record migrations as applied when tables they create do not
 * exist (unless forced and confirmed): that would make up say "nothing to
 * do" and start the application on a schema without them.
 */
export async function assertTablesExist(options: MigratorOptions, migrations: readonly Migration[], command: string, checks: RecordingChecks): Promise<{ forced: boolean }> {
  const missing = await missingTablesOf(options, migrations);
  if (missing.size === 0) return { forced: false };
  const list = [...missing].map(([table, fileName]) => `${printable(table)} (created by ${fileName})`).join(", ");
  if (!checks.force) {
    throw new MigrateError(
      command === "baseline" ? "BASELINE_REFUSED" : "MARK_REFUSED",
      `${command} would record migrations as applied whose tables do not exist: ${list}. Up would then skip them and start the application without those tables. Nothing was recorded. Apply them instead (st44-migrate up), or create what is missing by hand first; if you know the schema is right anyway, run ${command} again with --force and confirm on a terminal.`,
    );
  }
  await checks.confirm?.(`${command}: these tables do not exist: ${list}. Record the migrations as applied anyway?`);
  return { forced: true };
}

/** `baseline --to VERSION`: records migrations up to VERSION as applied without running them. */
export async function baselineTo(options: MigratorOptions, version: string, checks: RecordingChecks = {}): Promise<readonly Migration[]> {
  if (!isVersion(version)) throw new MigrateError("USAGE", `baseline --to takes a version number (for example 016), not "${version}".`);
  if (!options.migrations.some((migration) => migration.key === versionKey(version))) {
    const known = options.migrations.map((migration) => migration.version);
    throw new MigrateError(
      "BASELINE_REFUSED",
      `baseline --to ${version}: this build has no migration ${version} (its versions: ${known.length > 0 ? `${known[0]} to ${known.at(-1)}, see st44-migrate status` : "none"}). Give the version of the last migration whose changes the database already has. Nothing was recorded.`,
    );
  }
  const first = await waitAndReadPlan(options);
  const toMark = (pending: readonly Migration[]) => pending.filter((migration) => compareVersions(migration.version, version) <= 0);
  // Asked before the lock: a prompt must not hold up the deploys of others.
  const { forced } = await assertTablesExist(options, toMark(first.plan.pending), "baseline", checks);
  return underMigrationLock(
    options,
    async ({ session, plan }) => {
      const beyond = plan.applied.filter((entry) => compareVersions(entry.version, version) > 0);
      if (beyond.length > 0) {
        throw new MigrateError(
          "BASELINE_REFUSED",
          `schema_migrations already has migrations beyond ${version}: ${beyond.map((entry) => entry.version).join(", ")}. A baseline only marks a database whose schema was created by hand and that the runner has not migrated past that point. Nothing was recorded; check st44-migrate status.`,
        );
      }
      const marked = await inMigrationTransaction(session, () => recordUnrunRows(session.db, toMark(plan.pending), session.runner, "baseline", forced));
      for (const migration of marked) {
        options.log.success(`baselined ${migration.fileName} (recorded as applied, not run)`, { event: "migration_baselined", version: migration.version });
      }
      return marked;
    },
    first,
  );
}

/**
 * `repair --accept VERSION`: takes the file's current checksum for an applied
 * migration edited on purpose, or its current name for one renamed (a row
 * that records the version under another name).
 */
export async function repairChecksum(options: MigratorOptions, version: string): Promise<{ from: string | null; to: string } | null> {
  return underMigrationLock(options, async ({ session, plan }) => {
    const entry = plan.entries.find((candidate) => candidate.key === versionKey(version));
    if (!entry || !entry.row || !entry.migration) {
      throw new MigrateError(
        "REPAIR_REFUSED",
        `repair --accept ${version}: ${!entry?.migration ? "this build has no migration with that version" : "that migration is not applied"}, so there is no checksum to accept. See st44-migrate status.`,
      );
    }
    const { migration, row } = { migration: entry.migration, row: entry.row };
    if (entry.state === "applied" && row.checksum === migration.checksum) return null;
    await inMigrationTransaction(session, () => recordRepairRow(session.db, migration, { checksum: row.checksum, name: row.name }, session.runner));
    const renamed = entry.state === "mismatched" ? ` and its name ("${printable(row.name ?? "")}" -> "${migration.name}")` : "";
    options.log.success(`accepted the current text of ${migration.fileName}${renamed} (checksum ${row.checksum?.slice(0, 12) ?? "none"}… -> ${migration.checksum.slice(0, 12)}…)`, {
      event: "migration_repaired",
      version: entry.version,
    });
    return { from: row.checksum, to: migration.checksum };
  });
}
