import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import type { AppliedRow } from "../core/plan.ts";
import { type Queryable, type Reserved, isConnectionFailure, lastRowSet, readOnlyError } from "./connection.ts";

/**
 * Every statement that reads or writes the tracking table is in this file:
 * its shape, creating or adopting it, reading the rows, and each way a row is
 * written or removed.
 */
export const TRACKING_TABLE = "schema_migrations";

/** SQL expression giving a version's key (digits without leading zeros), as versionKey() does. */
export const VERSION_KEY_SQL = "coalesce(nullif(ltrim(btrim(version), '0'), ''), '0')";

export type TrackingState =
  /** No table yet: everything is pending. */
  | { readonly kind: "missing"; readonly rows: readonly AppliedRow[] }
  /** The hand-made three-column table: its rows count as applied; `up` adds the runner's columns. */
  | { readonly kind: "legacy"; readonly rows: readonly AppliedRow[] }
  | { readonly kind: "ready"; readonly rows: readonly AppliedRow[] };

/** What the catalog says the table is. */
export type TrackingShape = "missing" | "legacy" | "ready" | "invalid";

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

/** The runner's columns that the read names: a table lacking one is from an older build, and adopted. */
const READ_COLUMNS = ["version", "name", "applied_at", "checksum", "duration_ms", "down_sql", "history"] as const;
const LEGACY_COLUMNS = ["version", "name", "applied_at"] as const;

const READ_TRACKING_TABLE = `select version, name, applied_at, checksum, duration_ms, down_sql is not null as has_down, history is not null as has_history from ${TRACKING_TABLE}`;
const READ_LEGACY_TABLE = `select version::text as version, name::text as name, applied_at, null::text as checksum, null::int as duration_ms, false as has_down from ${TRACKING_TABLE}`;

/** One catalog read: which columns the table has (none: there is no table on the search_path). */
export async function inspectTrackingTable(db: Queryable): Promise<{ shape: TrackingShape; columns: readonly string[] }> {
  const rows = await db.unsafe<{ name: string }[]>(
    `select attname::text as name from pg_attribute where attrelid = to_regclass('${TRACKING_TABLE}') and attnum > 0 and not attisdropped order by attnum`,
  );
  const columns = rows.map((row) => row.name);
  const has = (wanted: readonly string[]) => wanted.every((column) => columns.includes(column));
  const shape: TrackingShape = columns.length === 0 ? "missing" : has(READ_COLUMNS) ? "ready" : has(LEGACY_COLUMNS) ? "legacy" : "invalid";
  return { shape, columns };
}

/**
 * Reads the rows. The common case is one round trip: the runner's own table,
 * read directly. When that read fails, the catalog tells which shape is
 * there, and the rows are read as that shape has them.
 */
export async function readTracking(db: Queryable): Promise<TrackingState> {
  let firstError: unknown;
  try {
    const rows = await db.unsafe<RowShape[]>(READ_TRACKING_TABLE);
    return { kind: "ready", rows: rows.map(toRow) };
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (code === "42501") throw permissionDenied(error, "read");
    // Only a statement that did not fit the catalog (class 42) says anything about the table; a lost
    // connection, a timeout or a server that is starting up is the caller's to handle (the wait retries it).
    if (!code.startsWith("42")) throw error;
    firstError = error;
  }
  const { shape, columns } = await inspectTrackingTable(db);
  switch (shape) {
    case "missing":
      return { kind: "missing", rows: [] };
    case "legacy":
      return { kind: "legacy", rows: (await db.unsafe<RowShape[]>(READ_LEGACY_TABLE)).map(toRow) };
    case "ready":
      // Another runner created or adopted it since the first read (or that read failed for another reason,
      // which a second read reports again).
      return { kind: "ready", rows: (await db.unsafe<RowShape[]>(READ_TRACKING_TABLE)).map(toRow) };
    case "invalid":
      throw new MigrateError(
        "TRACKING_TABLE_INVALID",
        `The table ${TRACKING_TABLE} exists but lacks the columns version, name and applied_at (it has ${columns.join(", ")}). It was not made by st44-migrate or by migration 000; rename it (ALTER TABLE ${TRACKING_TABLE} RENAME TO ${TRACKING_TABLE}_old) and run st44-migrate again.`,
        { cause: firstError },
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
 * place, keeping every row, in one transaction. Idempotent. `lockSql` runs
 * first in that transaction: the transaction-level migration lock behind a
 * pooler, where the session lock is not held.
 */
export async function ensureTrackingTable(db: Reserved, kind: "missing" | "legacy", lockSql: string): Promise<void> {
  try {
    // A runner behind a pooler may have created it meanwhile: create-if-missing, then adopt-if-needed is safe either way.
    await db.unsafe(`begin; ${lockSql ? `${lockSql};` : ""} ${kind === "missing" ? CREATE_TRACKING_TABLE : ADOPT_TRACKING_TABLE} commit;`);
  } catch (error) {
    await failedCreation(db, error);
    throw error;
  }
}

/** After a failed create or adopt: rolls back, and turns a missing privilege or a read-only session into its fix-it error. */
async function failedCreation(db: Reserved, error: unknown): Promise<void> {
  // On a closed connection the server rolled back already, and a write there throws from a timer (postgres.js 3.4.9).
  if (!isConnectionFailure(error)) await db.unsafe("rollback").catch(() => {});
  const code = (error as { code?: string }).code;
  if (code === "42501") throw permissionDenied(error, "create");
  // The probe refuses a read-only session first; this is a server that turned read-only since (a failover).
  if (code === "25006") throw readOnlyError(null, error);
}

/**
 * For a database without the table, under the session lock: creates it
 * (unless another runner did while we waited for the lock) and reads it, in
 * one round trip. A table of another shape that appeared meanwhile makes the
 * read fail; then it is read as readTracking does, and adopted by the caller.
 */
export async function createAndReadTracking(db: Reserved): Promise<TrackingState> {
  try {
    const results = await db.unsafe(`begin; ${CREATE_TRACKING_TABLE} commit; ${READ_TRACKING_TABLE}`);
    return { kind: "ready", rows: lastRowSet<RowShape>(results).map(toRow) };
  } catch (error) {
    await failedCreation(db, error);
    return readTracking(db);
  }
}

/** The down SQL stored with each row (for migrations this build does not embed). */
export async function readStoredDown(db: Queryable): Promise<Map<string, string | null>> {
  const rows = await db.unsafe<{ version: string; down_sql: string | null }[]>(`select version, down_sql from ${TRACKING_TABLE}`);
  return new Map(rows.map((row) => [row.version.trim(), row.down_sql]));
}

/** Whether a row for `key` exists: behind a pooler another runner may have applied it while we waited. */
export async function isRecorded(db: Queryable, key: string): Promise<boolean> {
  const [row] = await db.unsafe<{ n: number }[]>(`select count(*)::int as n from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = $1`, [key]);
  return (row?.n ?? 0) > 0;
}

/** A value as an SQL literal (standard_conforming_strings on; NUL bytes were refused at parse time). */
function literal(value: string | number | null): string {
  if (value === null) return "null";
  if (typeof value === "number") return String(Math.trunc(value));
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * A legacy file may write its own row for its version, spelled differently
 * ('46' for 046), inside the migration's transaction: ours replaces it. Only
 * files that name the table pay for the delete.
 */
function replacesOwnRowSql(migration: Migration): string[] {
  return /schema_migrations/i.test(migration.up) ? [`delete from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = ${literal(migration.key)}`] : [];
}

/**
 * Statements that write a migration's row, as literals (sent in the same
 * simple-protocol query as the migration), only while `guard` holds. The row
 * comes back (RETURNING): none means the guard failed. The duration is
 * measured from `startedSetting`, set when the transaction began.
 */
export function recordAppliedSql(migration: Migration, runner: string, guard: string, startedSetting: string): string[] {
  return [
    ...replacesOwnRowSql(migration),
    `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql)
     select ${literal(migration.version)}, ${literal(migration.name)}, now(), ${literal(migration.checksum)},
            (extract(epoch from clock_timestamp() - current_setting('${startedSetting}')::timestamptz) * 1000)::int,
            ${literal(runner)}, ${literal(migration.down)}
      where ${guard}
     returning 1 as recorded`,
  ];
}

/** Whether the statements of recordAppliedSql wrote the row (their results, or a larger query's that ends with them). */
export function rowWasRecorded(results: unknown): boolean {
  return lastRowSet(results).length === 1;
}

/** Writes a migration's row after its statements ran outside a transaction (transaction:false). */
export async function recordApplied(db: Reserved, migration: Migration, durationMs: number, runner: string): Promise<void> {
  for (const statement of replacesOwnRowSql(migration)) await db.unsafe(statement);
  await db.unsafe(
    `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql)
     values ($1, $2, now(), $3, $4, $5, $6)`,
    [migration.version, migration.name, migration.checksum, durationMs, runner, migration.down],
  );
}

/** Removes a migration's row (down). */
export async function forgetRow(db: Queryable, key: string): Promise<void> {
  await db.unsafe(`delete from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = $1`, [key]);
}

/** Rows for migrations recorded as applied without running them (baseline), each with a history entry. */
export async function recordBaselineRows(db: Queryable, migrations: readonly Migration[], runner: string): Promise<void> {
  for (const migration of migrations) {
    await db.unsafe(
      `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql, history)
       values ($1, $2, now(), $3, null, $4, $5, jsonb_build_array($6::jsonb || jsonb_build_object('at', now(), 'by', current_user)))`,
      // jsonb parameters take objects: postgres.js serialises by the type the server infers.
      [migration.version, migration.name, migration.checksum, runner, migration.down, { action: "baseline", runner } as never],
    );
  }
}

/** Accepts a file's current text for an applied migration, keeping the old checksum in the row's history. */
export async function recordRepairRow(db: Queryable, migration: Migration, previousChecksum: string | null, runner: string): Promise<void> {
  const event = { action: "repair", runner, from_checksum: previousChecksum, to_checksum: migration.checksum } as never;
  await db.unsafe(
    `update ${TRACKING_TABLE}
        set checksum = $2, down_sql = $3,
            history = coalesce(history, '[]'::jsonb) || jsonb_build_array($4::jsonb || jsonb_build_object('at', now(), 'by', current_user))
      where ${VERSION_KEY_SQL} = $1`,
    [migration.key, migration.checksum, migration.down, event],
  );
}
