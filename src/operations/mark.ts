import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import type { Plan, PlanEntry } from "../core/plan.ts";
import { printable } from "../core/printable.ts";
import { isVersion, versionKey } from "../core/version.ts";
import { inMigrationTransaction } from "../db/session.ts";
import { recordUnrunRows, removeRows } from "../db/tracking-rows.ts";
import { type RecordingChecks, assertTablesExist } from "./baseline.ts";
import type { MigratorOptions } from "./options.ts";
import { waitAndReadPlan } from "./read-plan.ts";
import { underMigrationLock } from "./under-lock.ts";

/**
 * Hand corrections of the tracking table, one migration at a time, where
 * baseline does not fit (a gap in the middle that an old runner left):
 * mark-applied records a pending migration without running it; forget
 * removes a row without running down SQL (undoing a baseline or a
 * mark-applied). Both ask first (before the lock), and both refuse when the
 * state changed between the question and the lock.
 */

/** Asks the operator; throws when they do not agree. */
export type Confirm = (question: string) => Promise<void>;

function entryFor(entries: readonly PlanEntry[], version: string, command: string): PlanEntry | undefined {
  if (!isVersion(version)) throw new MigrateError("USAGE", `${command} takes a version number (for example 014), not "${version}".`);
  return entries.find((entry) => entry.key === versionKey(version));
}

function pendingMigration(entries: readonly PlanEntry[], version: string): Migration {
  const entry = entryFor(entries, version, "mark-applied");
  if (!entry?.migration) {
    throw new MigrateError("MARK_REFUSED", `mark-applied ${version}: this build has no migration ${version}, so there is nothing to record. See st44-migrate status for the versions. Nothing was recorded.`);
  }
  if (entry.state !== "pending") {
    const why =
      entry.state === "mismatched"
        ? `schema_migrations already has a row for version ${version}, recorded for another file ("${printable(entry.row?.name ?? "")}"); remove it first with st44-migrate forget ${version} if it is wrong`
        : "it is already applied";
    throw new MigrateError("MARK_REFUSED", `mark-applied ${version}: ${why}. Nothing was recorded.`);
  }
  return entry.migration;
}

/** `mark-applied VERSION`: records one pending migration as applied without running it. */
export async function markApplied(options: MigratorOptions, version: string, confirm: Confirm, checks: RecordingChecks = {}): Promise<Migration> {
  const first = await waitAndReadPlan(options);
  const chosen = pendingMigration(first.plan.entries, version);
  const { forced } = await assertTablesExist(options, [chosen], "mark-applied", checks);
  await confirm(`Record ${chosen.fileName} as applied WITHOUT running it? Up will then never run it on this database.`);
  return underMigrationLock(
    options,
    async ({ session, plan }) => {
      // Another runner may have applied it while we asked.
      const migration = pendingMigration(plan.entries, version);
      await inMigrationTransaction(session, () => recordUnrunRows(session.db, [migration], session.runner, "mark-applied", forced));
      options.log.success(`marked ${migration.fileName} as applied (recorded, not run)`, { event: "migration_marked_applied", version: migration.version });
      return migration;
    },
    first,
  );
}

function recordedEntry(plan: Plan, version: string): PlanEntry & { row: NonNullable<PlanEntry["row"]> } {
  const entries = plan.entries;
  // A row an old runner wrote under a version that is not a number ('TEMPLATE') is forgotten by its exact text.
  const entry = isVersion(version) ? entryFor(entries, version, "forget") : entries.find((candidate) => candidate.row?.version === version);
  if (!entry?.row) {
    // The row is there, but a renumbered file claims it (formerly:): it is that file's row, moved to its version by the next writing run.
    const claimed = isVersion(version) ? plan.formerRows.find((former) => versionKey(former.row.version) === versionKey(version)) : undefined;
    if (claimed) {
      throw new MigrateError(
        "MARK_REFUSED",
        `forget ${version}: the row of version ${version} ("${printable(claimed.row.name ?? "")}") belongs to ${claimed.migration.fileName}, which was renumbered from it (formerly: on its up marker); it counts as ${claimed.migration.version} applied and is moved to that version by the next run. To remove it, run st44-migrate forget ${claimed.migration.version}. Nothing was removed.`,
      );
    }
    throw new MigrateError("MARK_REFUSED", `forget ${version}: schema_migrations has no row for version ${version}, so there is nothing to forget. See st44-migrate status. Nothing was removed.`);
  }
  return entry as PlanEntry & { row: NonNullable<PlanEntry["row"]> };
}

/** `forget VERSION`: removes one migration's row without running its down SQL; the schema is left as it is. */
export async function forgetMigration(options: MigratorOptions, version: string, confirm: Confirm): Promise<PlanEntry> {
  const first = await waitAndReadPlan(options);
  const chosen = recordedEntry(first.plan, version);
  const described = `${printable(chosen.row.version)} ("${printable(chosen.row.name ?? "no name recorded")}", applied ${chosen.row.appliedAt?.toISOString() ?? "at an unknown time"})`;
  await confirm(`Remove the row of ${described} from schema_migrations WITHOUT running its down SQL? Up will then apply this build's migration ${version} again, if there is one.`);
  return underMigrationLock(
    options,
    async ({ session, plan }) => {
      const entry = recordedEntry(plan, version);
      if (entry.row.name !== chosen.row.name || entry.row.checksum !== chosen.row.checksum) {
        throw new MigrateError("MARK_REFUSED", `forget ${version}: the row changed while you were asked (another runner wrote it). Nothing was removed; run forget again to see what it holds now.`);
      }
      await inMigrationTransaction(session, () => removeRows(session.db, { version: entry.row.version, key: entry.key, name: entry.row.name }, isVersion(entry.row.version)));
      options.log.success(`forgot ${described}: its row is gone, its SQL was not run`, { event: "migration_forgotten", version: entry.version });
      return entry;
    },
    first,
  );
}
