import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import { compareVersions, isVersion, versionKey } from "../core/version.ts";
import { inMigrationTransaction } from "../db/session.ts";
import { recordBaselineRows, recordRepairRow } from "../db/tracking.ts";
import type { MigratorOptions } from "./options.ts";
import { underMigrationLock } from "./under-lock.ts";

/**
 * Operations that write rows without running a migration's SQL: baseline
 * (a schema created by hand) and repair (an applied file edited on purpose).
 * Each writes in one transaction, behind a pooler under the
 * transaction-level lock like every other write of the tracking table.
 */

/** `baseline --to VERSION`: records migrations up to VERSION as applied without running them. */
export async function baselineTo(options: MigratorOptions, version: string): Promise<readonly Migration[]> {
  if (!isVersion(version)) throw new MigrateError("USAGE", `baseline --to takes a version number (for example 016), not "${version}".`);
  return underMigrationLock(options, async ({ session, plan }) => {
    const beyond = plan.applied.filter((entry) => compareVersions(entry.version, version) > 0);
    if (beyond.length > 0) {
      throw new MigrateError(
        "BASELINE_REFUSED",
        `schema_migrations already has migrations beyond ${version}: ${beyond.map((entry) => entry.version).join(", ")}. A baseline only marks a database whose schema was created by hand and that the runner has not migrated past that point. Nothing was recorded; check st44-migrate status.`,
      );
    }
    const marked = plan.pending.filter((migration) => compareVersions(migration.version, version) <= 0);
    await inMigrationTransaction(session, () => recordBaselineRows(session.db, marked, session.runner));
    for (const migration of marked) {
      options.log.success(`baselined ${migration.fileName} (recorded as applied, not run)`, { event: "migration_baselined", version: migration.version });
    }
    return marked;
  });
}

/** `repair --accept VERSION`: takes the file's current checksum for an applied migration edited on purpose. */
export async function repairChecksum(options: MigratorOptions, version: string): Promise<{ from: string | null; to: string } | null> {
  return underMigrationLock(options, async ({ session, plan }) => {
    const entry = plan.entries.find((candidate) => candidate.key === versionKey(version));
    if (!entry || !entry.row || !entry.migration) {
      throw new MigrateError(
        "REPAIR_REFUSED",
        `repair --accept ${version}: ${!entry?.migration ? "this build has no migration with that version" : "that migration is not applied"}, so there is no checksum to accept. See st44-migrate status.`,
      );
    }
    if (entry.row.checksum === entry.migration.checksum) return null;
    const { migration, row } = { migration: entry.migration, row: entry.row };
    await inMigrationTransaction(session, () => recordRepairRow(session.db, migration, row.checksum, session.runner));
    options.log.success(`accepted the current text of ${migration.fileName} (checksum ${row.checksum?.slice(0, 12) ?? "none"}… -> ${migration.checksum.slice(0, 12)}…)`, {
      event: "migration_repaired",
      version: entry.version,
    });
    return { from: row.checksum, to: migration.checksum };
  });
}
