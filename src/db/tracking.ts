import { MigrateError } from "../core/errors.ts";
import type { AppliedRow } from "../core/plan.ts";
import type { StoredRow } from "../core/rollback.ts";
import { type Queryable, type Reserved, lastRowSet } from "./connection.ts";
import { isConnectionFailure, readOnlyError } from "./connection-failures.ts";
import { literal } from "./sql-literal.ts";
import { type QueryRows, asQueryRows } from "./query-rows.ts";

/**
 * Every statement that reads or writes the tracking table is in this file:
 * its shape, creating or adopting it, reading the rows, and each way a row is
 * written or removed.
 */
export const TRACKING_TABLE = "schema_migrations";

/** SQL expression giving a version's key (digits without leading zeros), as versionKey() does. */
export const VERSION_KEY_SQL = "coalesce(nullif(ltrim(btrim(version::text), '0'), ''), '0')";

export type TrackingState =
  /** No table yet: everything is pending. */
  | { readonly kind: "missing"; readonly rows: readonly AppliedRow[] }
  /**
   * A table another hand or tool made, one row per applied version: the
   * hand-made three-column table, or dbmate's (version only). Its rows count
   * as applied; `up` adds the runner's columns in place.
   */
  | { readonly kind: "legacy"; readonly rows: readonly AppliedRow[]; readonly madeBy: "hand" | "dbmate" }
  /**
   * golang-migrate's table: one row, the version everything up to which is
   * applied. `rows` is empty: the plan derives them from the migrations
   * (rowsUpTo). `up` keeps the table under another name and creates its own.
   */
  | { readonly kind: "golang-migrate"; readonly rows: readonly AppliedRow[]; readonly upTo: string | null }
  | { readonly kind: "ready"; readonly rows: readonly AppliedRow[] };

/**
 * "full": every field of AppliedRow. "identities": version, name and checksum
 * of the runner's own table (applied_at, duration and down unknown): enough to
 * plan, read in about half the time at 10,000 rows.
 */
export type TrackingReadDepth = "full" | "identities";

/** What the catalog says the table is. */
export type TrackingShape = "missing" | "ready" | "legacy" | "dbmate" | "golang-migrate" | "invalid";

/** Where a golang-migrate table goes when the runner takes over: kept, not dropped, for whoever wants to look back. */
export const GOLANG_MIGRATE_KEPT_AS = `${TRACKING_TABLE}_golang_migrate`;

interface RowShape {
  version: string;
  name: string | null;
  /** applied_at in milliseconds since 1970 (appliedMs). */
  applied_ms: number | string | null;
  checksum: string | null;
  duration_ms: number | null;
  has_down: boolean;
}

/** Any driver's row: postgres.js and node-postgres give numbers and booleans; a driver that gives text still reads the same. */
const isUntrimmedAscii = (code: number): boolean => code > 32 && code < 128;

/** Only ASCII at both ends can skip trim(): a hand-written '5' + NBSP must still read as 5, or its file runs again. */
function versionOf(row: Pick<RowShape, "version">): string {
  const version = String(row.version);
  return isUntrimmedAscii(version.charCodeAt(0)) && isUntrimmedAscii(version.charCodeAt(version.length - 1)) ? version : version.trim();
}

function toRow(row: RowShape): AppliedRow {
  return {
    version: versionOf(row),
    name: row.name,
    appliedAt: row.applied_ms === null ? null : new Date(Math.round(Number(row.applied_ms))),
    checksum: row.checksum,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    hasDown: (row.has_down as boolean | string) === true || (row.has_down as boolean | string) === "t",
  };
}

/** The runner's columns that the read names: a table lacking one is from an older build, and adopted. */
const READ_COLUMNS = ["version", "name", "applied_at", "checksum", "duration_ms", "down_sql", "history"] as const;

/** applied_at cut to what a Date holds, as float8 milliseconds (Math.round undoes float rounding): cheaper to send and read than text. */
// An int8, not a float8: a float's text form follows extra_float_digits (-10 put times hours off).
// 'infinity' (typed by hand) reads as no time rather than failing the read.
const appliedMs = (column: string) => `case when isfinite(${column}) then (extract(epoch from date_trunc('milliseconds', ${column})) * 1000)::int8 end`;

const READ_TRACKING_TABLE = `select version, name, ${appliedMs("applied_at::timestamptz")} as applied_ms, checksum, duration_ms, down_sql is not null as has_down, history is not null as has_history from ${TRACKING_TABLE}`;

/**
 * The rows as far as comparing them with the files needs: version, name and
 * checksum (the start of `up` and `run`, which reads the rest again under the
 * lock before writing anything). The WHERE names the runner's other columns,
 * so a table lacking one fails this read as it fails the full one and is
 * adopted the same way; the planner folds that part to true, so no row pays for it.
 */
// applied_at is cast as the full read casts it, row by row, so a table whose applied_at is no time (an integer
// column, a text 'garbage') fails here as it fails there; for the runner's own timestamptz column it folds away.
const READ_TRACKING_IDENTITIES = `select version, name, checksum from ${TRACKING_TABLE}
  where (applied_at::timestamptz is not null or applied_at is null) and ((duration_ms, down_sql, history) is null or true)`;

function toIdentityRow(row: Pick<RowShape, "version" | "name" | "checksum">): AppliedRow {
  return { version: versionOf(row), name: row.name, appliedAt: null, checksum: row.checksum, durationMs: null, hasDown: false };
}

/** A hand-made or dbmate table's rows: version always, name and applied_at where the table has them. */
function readForeignRowsSql(columns: readonly string[]): string {
  const name = columns.includes("name") ? "name::text" : "null::text";
  const appliedAt = columns.includes("applied_at") ? appliedMs("applied_at::timestamptz") : "null::int8";
  return `select version::text as version, ${name} as name, ${appliedAt} as applied_ms, null::text as checksum, null::int as duration_ms, false as has_down from ${TRACKING_TABLE}`;
}

/** One catalog read: which columns the table has (none: there is no table on the search_path). */
export async function inspectTrackingTable(db: Queryable | QueryRows): Promise<{ shape: TrackingShape; columns: readonly string[] }> {
  const rows = await rowsOf<{ name: string }>(db,
    `select attname::text as name from pg_attribute where attrelid = to_regclass('${TRACKING_TABLE}') and attnum > 0 and not attisdropped order by attnum`,
  );
  const columns = rows.map((row) => row.name);
  const has = (...wanted: string[]) => wanted.every((column) => columns.includes(column));
  const shape: TrackingShape =
    columns.length === 0
      ? "missing"
      : has(...READ_COLUMNS)
        ? "ready"
        : has("version", "dirty") && columns.length === 2
          ? "golang-migrate"
          : has("version", "name")
            ? "legacy"
            : has("version") && !has("name")
              ? "dbmate"
              : "invalid";
  return { shape, columns };
}

/**
 * Reads the rows. The common case is one round trip: the runner's own table,
 * read directly. When that read does not fit the catalog, the catalog tells
 * which shape is there, and the rows are read as that shape has them.
 * Reads only with SQL text, so any driver can do it through the QueryRows
 * port (the health check with the application's node-postgres pool).
 */
export async function readTracking(db: Queryable | QueryRows, depth: TrackingReadDepth = "full"): Promise<TrackingState> {
  let firstError: unknown;
  try {
    if (depth === "identities") return { kind: "ready", rows: (await rowsOf<RowShape>(db, READ_TRACKING_IDENTITIES)).map(toIdentityRow) };
    const rows = await rowsOf<RowShape>(db, READ_TRACKING_TABLE);
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
    case "dbmate":
      return { kind: "legacy", rows: (await rowsOf<RowShape>(db, readForeignRowsSql(columns))).map(toRow), madeBy: shape === "dbmate" ? "dbmate" : "hand" };
    case "golang-migrate":
      return readGolangMigrate(db);
    case "ready":
      // Another runner created or adopted it since the first read (or that read failed for another reason,
      // which a second read reports again).
      return { kind: "ready", rows: (await rowsOf<RowShape>(db, READ_TRACKING_TABLE)).map(toRow) };
    case "invalid":
      throw new MigrateError(
        "TRACKING_TABLE_INVALID",
        `The table ${TRACKING_TABLE} exists but is not a table of applied versions this runner knows (it has ${columns.join(", ")}; it needs at least a version column), so another tool made it and its rows cannot say what is applied. Nothing was changed. Do not just rename it and run up: that would apply every migration again to a schema that has them. Rename it (ALTER TABLE ${TRACKING_TABLE} RENAME TO ${TRACKING_TABLE}_old), then record what the schema already has with st44-migrate baseline --to VERSION (the last migration whose changes are there), check with st44-migrate verify, and only then run up.`,
        { cause: firstError },
      );
  }
}

/** golang-migrate keeps one row: the version reached, and whether the last run failed halfway (dirty). */
async function readGolangMigrate(db: Queryable | QueryRows): Promise<TrackingState> {
  const rows = await rowsOf<{ version: string; dirty: boolean }>(db, `select version::text as version, dirty from ${TRACKING_TABLE} order by version::numeric desc`);
  const [latest] = rows;
  if (latest?.dirty) {
    throw new MigrateError(
      "TRACKING_TABLE_DIRTY",
      `The table ${TRACKING_TABLE} is golang-migrate's, and it says version ${latest.version} is dirty: its migration failed halfway, so the schema is somewhere between ${latest.version} and the version before. Nothing was changed. Repair the schema by hand until it is exactly what ${latest.version} makes, then clear the flag (UPDATE ${TRACKING_TABLE} SET dirty = false, or golang-migrate's force ${latest.version}), and run st44-migrate again: it then adopts the table.`,
    );
  }
  return { kind: "golang-migrate", rows: [], upTo: latest?.version ?? null };
}

async function rowsOf<T>(db: Queryable | QueryRows, text: string): Promise<readonly T[]> {
  return (await asQueryRows(db)(text)) as readonly T[];
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

/**
 * Adds the runner's columns to a hand-made or dbmate table and widens version
 * (a no-op rewrite: varchar grows in place). Columns that a tool did not keep
 * (dbmate: name, applied_at) stay empty for its rows: unknown, not invented.
 */
const ADOPT_TRACKING_TABLE = `
  alter table ${TRACKING_TABLE}
    add column if not exists name varchar(255),
    add column if not exists applied_at timestamptz,
    add column if not exists checksum char(64),
    add column if not exists duration_ms integer,
    add column if not exists applied_by text,
    add column if not exists runner text,
    add column if not exists down_sql text,
    add column if not exists history jsonb not null default '[]'::jsonb;
  alter table ${TRACKING_TABLE} alter column applied_at set default now(), alter column applied_by set default current_user;
  do $st44$
  begin
    if (select atttypmod - 4 from pg_attribute where attrelid = '${TRACKING_TABLE}'::regclass and attname = 'version') < 255 then
      alter table ${TRACKING_TABLE} alter column version type varchar(255);
    end if;
  end
  $st44$;
  create index if not exists idx_${TRACKING_TABLE}_applied_at on ${TRACKING_TABLE} (applied_at);`;

/** What the runner's own table must hold once a foreign one is taken over. */
export interface Adoption {
  readonly kind: "missing" | "legacy" | "golang-migrate";
  /** golang-migrate: the rows its one version stands for (the migrations up to it), written into the new table. */
  readonly derivedRows?: readonly AppliedRow[];
  /** golang-migrate: the version its table held, for the rows' history. */
  readonly upTo?: string | null;
}

function adoptionSql(adoption: Adoption): string {
  switch (adoption.kind) {
    case "missing":
      return CREATE_TRACKING_TABLE;
    case "legacy":
      return ADOPT_TRACKING_TABLE;
    case "golang-migrate": {
      const event = literal(JSON.stringify({ action: "adopted", from: "golang-migrate", version: adoption.upTo ?? null }));
      // applied_at stays empty for these rows: golang-migrate did not keep when they ran.
      const inserts = (adoption.derivedRows ?? []).map(
        (row) =>
          `insert into ${TRACKING_TABLE} (version, name, applied_at, history) values (${literal(row.version)}, ${literal(row.name)}, null, jsonb_build_array(${event}::jsonb || jsonb_build_object('at', now(), 'by', current_user)))`,
      );
      // Behind a pooler another runner may have taken the table over while this one waited for the
      // transaction-level lock: only a table that still has golang-migrate's dirty column is renamed.
      const body = [`alter table ${TRACKING_TABLE} rename to ${GOLANG_MIGRATE_KEPT_AS}`, CREATE_TRACKING_TABLE, `alter table ${TRACKING_TABLE} alter column applied_at drop not null, alter column name drop not null`, ...inserts]
        .map((statement) => statement.trim().replace(/;$/, ""))
        .join(";\n");
      return `do $st44_adopt$ begin
        if exists (select 1 from pg_attribute where attrelid = to_regclass('${TRACKING_TABLE}') and attname = 'dirty' and not attisdropped) then
          ${body};
        end if;
      end $st44_adopt$`;
    }
  }
}

/**
 * Creates the tracking table in its final shape, or adopts another's table,
 * keeping what its rows say, in one transaction. `lockSql` runs first in that
 * transaction: lock_timeout, and behind a pooler the transaction-level
 * migration lock, where the session lock is not held.
 */
export async function ensureTrackingTable(db: Reserved, adoption: Adoption, lockSql: string): Promise<void> {
  try {
    // A runner behind a pooler may have created it meanwhile: create-if-missing, then adopt-if-needed is safe either way.
    await db.unsafe(`begin; ${lockSql ? `${lockSql};` : ""} ${adoptionSql(adoption)}; commit;`);
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
  if (code === "55P03") {
    throw new MigrateError(
      "LOCK_TIMEOUT",
      `Creating or adopting ${TRACKING_TABLE} needs a brief exclusive lock on it, and other sessions (an application reading it in a long transaction, a health check) held theirs longer than lock_timeout. Nothing was changed. Run st44-migrate again when the table is free, or raise --lock-timeout; pg_locks and pg_stat_activity show who holds it.`,
      { cause: error },
    );
  }
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

/**
 * What each row holds beyond the plan's read, by version key: its stored down
 * SQL, and applied_at as exact text (a Date drops the microseconds), which
 * tells this row from one applied again since. A legacy table has no down_sql.
 */
export async function readStoredDown(db: Queryable, kind: TrackingState["kind"] = "ready"): Promise<Map<string, StoredRow>> {
  if (kind === "missing") return new Map();
  // A legacy table may lack applied_at (dbmate's): read it through the row's json, in the format applied_at::text has.
  const downSql = kind === "legacy" ? "null::text" : "down_sql";
  const appliedAt = kind === "legacy" ? "(to_jsonb(t) ->> 'applied_at')::timestamptz::text" : "applied_at::text";
  const rows = await db.unsafe<{ key: string; down_sql: string | null; applied_at: string | null }[]>(
    `select ${VERSION_KEY_SQL} as key, ${downSql} as down_sql, ${appliedAt} as applied_at from ${TRACKING_TABLE} t`,
  );
  return new Map(rows.map((row) => [row.key, { downSql: row.down_sql, appliedAt: row.applied_at }]));
}
