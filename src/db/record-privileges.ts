import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import type { Queryable } from "./connection.ts";
import { TRACKING_TABLE } from "./tracking.ts";

type Privilege = "SELECT" | "INSERT" | "DELETE";

/**
 * What writing the rows of `migrations` takes: reading the table, inserting
 * the row, and deleting the row a legacy file writes for itself (only files
 * that name the table, as tracking.ts's replacesOwnRowSql decides).
 */
function privilegesNeeded(migrations: readonly Migration[]): Privilege[] {
  const deletes = migrations.some((migration) => new RegExp(TRACKING_TABLE, "i").test(migration.up));
  return ["SELECT", "INSERT", ...(deletes ? (["DELETE"] as const) : [])];
}

/**
 * Refuses, before the first statement of the run, a role that could run the
 * migrations but not record them: a transaction:false migration's statements
 * would stay applied without their row, and run again on every retry. One
 * query per run.
 */
export async function assertCanRecord(db: Queryable, migrations: readonly Migration[]): Promise<void> {
  if (migrations.length === 0) return;
  const needed = privilegesNeeded(migrations);
  const checks = needed.map((privilege) => `has_table_privilege('${TRACKING_TABLE}', '${privilege}') as "${privilege}"`).join(", ");
  const [row] = await db.unsafe<Record<string, unknown>[]>(`select current_user::text as role, ${checks}`);
  const missing = needed.filter((privilege) => row?.[privilege] !== true);
  if (missing.length === 0) return;
  const role = String(row?.role ?? "this role");
  throw new MigrateError(
    "DB_PERMISSION_DENIED",
    `The database role "${role}" lacks ${missing.join(", ")} on ${TRACKING_TABLE}, which recording each applied migration needs (${needed.join(", ")}). Nothing was applied. Grant it (GRANT ${needed.join(", ")} ON ${TRACKING_TABLE} TO "${role}";) or run st44-migrate as the role that owns the table.`,
  );
}
