import type postgres from "postgres";
import { MigrateError } from "../core/errors.ts";
import type { AppliedRow } from "../core/plan.ts";
import { MIGRATION_LOCK_KEY } from "./lock.ts";

/** Anything that runs queries: the pool, a reserved connection, a transaction. */
export type Queryable = postgres.Sql<Record<string, never>> | postgres.ReservedSql<Record<string, never>>;

export const TRACKING_TABLE = "schema_migrations";

export type TrackingState =
  /** No table yet: everything is pending. */
  | { readonly kind: "missing"; readonly rows: readonly AppliedRow[] }
  /** The hand-made three-column table: its rows count as applied; `up` adds the runner's columns. */
  | { readonly kind: "legacy"; readonly rows: readonly AppliedRow[] }
  | { readonly kind: "ready"; readonly rows: readonly AppliedRow[] };

interface RowShape {
  version: string;
  name: string;
  applied_at: Date;
  checksum: string | null;
  duration_ms: number | null;
  has_down: boolean;
}

function toRow(row: RowShape): AppliedRow {
  return {
    version: row.version.trim(),
    name: row.name,
    appliedAt: row.applied_at,
    checksum: row.checksum,
    durationMs: row.duration_ms,
    hasDown: row.has_down,
  };
}

// Naming every column of the runner makes a table from an older build "legacy", so up adds what is missing.
const READ_TRACKING_TABLE = `select version, name, applied_at, checksum, duration_ms, down_sql is not null as has_down, history is not null as has_history from ${TRACKING_TABLE}`;

/**
 * The rows of the last statement that returns rows in a multi-statement
 * simple query. postgres.js starts a new result at each statement that
 * returns rows (a list of them when there are several); statements without
 * rows fold into the one before.
 */
export function lastRowSet<T>(results: unknown): T[] {
  const all = results as unknown[];
  return (Array.isArray(all[0]) ? all.at(-1) : all) as T[];
}

/**
 * One round trip in the common case: read the runner's columns; the error
 * for a missing table or missing column tells which older shape is there.
 */
export async function readTracking(db: Queryable): Promise<TrackingState> {
  try {
    const rows = await db.unsafe<RowShape[]>(READ_TRACKING_TABLE);
    return { kind: "ready", rows: rows.map(toRow) };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "42P01") return { kind: "missing", rows: [] };
    if (code === "42501") throw permissionDenied(error, "read");
    if (code !== "42703") throw error;
  }
  try {
    const rows = await db.unsafe<RowShape[]>(
      `select version::text as version, name::text as name, applied_at, null::text as checksum, null::int as duration_ms, false as has_down from ${TRACKING_TABLE}`,
    );
    return { kind: "legacy", rows: rows.map(toRow) };
  } catch (error) {
    throw new MigrateError(
      "TRACKING_TABLE_INVALID",
      `The table ${TRACKING_TABLE} exists but lacks the columns version, name and applied_at (${(error as Error).message}). It was not made by st44-migrate or by migration 000; rename it (ALTER TABLE ${TRACKING_TABLE} RENAME TO ${TRACKING_TABLE}_old) and run st44-migrate again.`,
      { cause: error },
    );
  }
}

function permissionDenied(error: unknown, action: "read" | "create"): MigrateError {
  const grant =
    action === "read"
      ? `GRANT SELECT ON ${TRACKING_TABLE} TO <this user>`
      : "GRANT CREATE ON SCHEMA public TO <this user> (or run as the schema owner)";
  return new MigrateError(
    "DB_PERMISSION_DENIED",
    `The database user may not ${action} the tracking table ${TRACKING_TABLE}: ${(error as Error).message}. Run as the role that owns the schema, or ${grant}.`,
    { cause: error },
  );
}

const CREATE_TRACKING_TABLE = `
  create table if not exists ${TRACKING_TABLE} (
    version varchar(255) primary key,
    name varchar(255) not null,
    applied_at timestamptz not null default now(),
    checksum char(64),
    duration_ms integer,
    applied_by text default current_user,
    runner text,
    down_sql text,
    history jsonb not null default '[]'::jsonb
  );
  create index if not exists idx_${TRACKING_TABLE}_applied_at on ${TRACKING_TABLE} (applied_at);`;

/** Adds the runner's columns to a legacy table and widens version (a no-op rewrite: varchar grows in place). */
const ADOPT_TRACKING_TABLE = `
  alter table ${TRACKING_TABLE}
    add column if not exists checksum char(64),
    add column if not exists duration_ms integer,
    add column if not exists applied_by text default current_user,
    add column if not exists runner text,
    add column if not exists down_sql text,
    add column if not exists history jsonb not null default '[]'::jsonb;
  do $st44$
  begin
    if (select atttypmod - 4 from pg_attribute where attrelid = '${TRACKING_TABLE}'::regclass and attname = 'version') < 255 then
      alter table ${TRACKING_TABLE} alter column version type varchar(255);
    end if;
  end
  $st44$;
  create index if not exists idx_${TRACKING_TABLE}_applied_at on ${TRACKING_TABLE} (applied_at);`;

/**
 * Creates the tracking table in its final shape, or adopts the legacy one in
 * place, keeping every row. Idempotent; run under the migration lock, in
 * one transaction.
 */
export async function ensureTrackingTable(
  db: postgres.ReservedSql<Record<string, never>>,
  kind: "missing" | "legacy",
  transactionLockWaitMs: number | null,
): Promise<void> {
  // Behind a pooler (transaction mode) the session lock is not held: serialise creation with a transaction-level one.
  const lock =
    transactionLockWaitMs === null
      ? ""
      : `set local lock_timeout = ${Math.max(1, Math.round(transactionLockWaitMs))}; select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});`;
  try {
    // A runner behind a pooler may have created it meanwhile: create-if-missing, then adopt-if-needed is safe either way.
    await db.unsafe(`begin; ${lock} ${kind === "missing" ? CREATE_TRACKING_TABLE : ADOPT_TRACKING_TABLE} commit;`);
  } catch (error) {
    await failedCreation(db, error);
    throw error;
  }
}

/** After a failed create or adopt: rolls back, and turns a missing privilege into its fix-it error. */
async function failedCreation(db: postgres.ReservedSql<Record<string, never>>, error: unknown): Promise<void> {
  await db.unsafe("rollback").catch(() => {});
  if ((error as { code?: string }).code === "42501") throw permissionDenied(error, "create");
}

/**
 * For a database without the table, under the session lock: creates it
 * (unless another runner did while we waited for the lock) and reads it, in
 * one round trip. A table of another shape that appeared meanwhile makes the
 * read fail; then it is read as readTracking does, and adopted by the caller.
 */
export async function createAndReadTracking(db: postgres.ReservedSql<Record<string, never>>): Promise<TrackingState> {
  try {
    const results = await db.unsafe(`begin; ${CREATE_TRACKING_TABLE} commit; ${READ_TRACKING_TABLE}`);
    return { kind: "ready", rows: lastRowSet<RowShape>(results).map(toRow) };
  } catch (error) {
    await failedCreation(db, error);
    if ((error as { code?: string }).code !== "42703") throw error;
    return readTracking(db);
  }
}

/** SQL expression giving a version's key (digits without leading zeros), as versionKey() does. */
export const VERSION_KEY_SQL = "coalesce(nullif(ltrim(btrim(version), '0'), ''), '0')";

/** The down SQL stored with each row (for migrations this build does not embed). */
export async function readStoredDown(db: Queryable): Promise<Map<string, string | null>> {
  const rows = await db.unsafe<{ version: string; down_sql: string | null }[]>(`select version, down_sql from ${TRACKING_TABLE}`);
  return new Map(rows.map((row) => [row.version.trim(), row.down_sql]));
}
