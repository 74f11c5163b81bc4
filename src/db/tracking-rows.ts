import type { Migration } from "../core/migration-set.ts";
import type { RowIdentity } from "../core/rollback.ts";
import type { Queryable, Reserved } from "./connection.ts";
import { literal } from "./sql-literal.ts";
import { TRACKING_TABLE, VERSION_KEY_SQL } from "./tracking.ts";

/**
 * The rows of the tracking table, one statement each way a row is written,
 * moved or removed (its shape, creation and reads are in tracking.ts).
 */

/** Whether a row for `key` exists: behind a pooler another runner may have applied it while we waited. */
export async function isRecorded(db: Queryable, key: string): Promise<boolean> {
  const [row] = await db.unsafe<{ n: number }[]>(`select count(*)::int as n from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = $1`, [key]);
  return (row?.n ?? 0) > 0;
}

/**
 * A legacy file may write its own row for its version, spelled differently
 * ('46' for 046), inside the migration's transaction: ours replaces it. Only
 * files that name the table pay for the delete.
 */
function replacesOwnRowSql(migration: Migration): string[] {
  return /schema_migrations/i.test(migration.up) ? [`delete from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = ${literal(migration.key)}`] : [];
}

/** The column of the row that recordAppliedSql's insert returns. */
const RECORDED_COLUMN = "st44_recorded";

/**
 * Statements that write a migration's row, as literals (sent in the same
 * simple-protocol query as the migration). The insert returns `token`, so
 * rowWasRecorded can tell its row from anything the file's own statements
 * return. The duration is measured from the start of the transaction
 * (now()), which no statement of the file can change.
 */
export function recordAppliedSql(migration: Migration, runner: string, token: string): string[] {
  return [
    ...replacesOwnRowSql(migration),
    `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql)
     values (${literal(migration.version)}, ${literal(migration.name)}, now(), ${literal(migration.checksum)},
            (extract(epoch from clock_timestamp() - now()) * 1000)::int,
            ${literal(runner)}, ${literal(migration.down)})
     returning ${literal(token)} as ${RECORDED_COLUMN}`,
  ];
}

/**
 * Whether the results of a query that ended with recordAppliedSql hold its
 * row: searched by column and token in every result set, not by position,
 * since what the file's statements return (a COPY, a SELECT) must not
 * decide it.
 */
export function rowWasRecorded(results: unknown, token: string): boolean {
  if (!Array.isArray(results)) return false;
  const sets: unknown[] = Array.isArray(results[0]) ? results : [results];
  return sets.some((set) => Array.isArray(set) && set.some((row) => (row as Record<string, unknown> | null)?.[RECORDED_COLUMN] === token));
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

/**
 * Moves rows recorded under a former identity to the renumbered file's own
 * version (history says from what), or drops one where the file has a row of
 * its own already, so the number it leaves is free for the file that has it now.
 */
export async function moveFormerRows(db: Queryable, moves: readonly { readonly fromVersion: string; readonly fromName: string | null; readonly migration: Migration; readonly drop: boolean }[]): Promise<void> {
  for (const move of moves) {
    if (move.drop) {
      await db.unsafe(`delete from ${TRACKING_TABLE} where version = $1`, [move.fromVersion]);
      continue;
    }
    const event = { action: "renumbered", from_version: move.fromVersion, from_name: move.fromName } as never;
    await db.unsafe(
      `update ${TRACKING_TABLE} set version = $2, name = $3,
              history = coalesce(history, '[]'::jsonb) || jsonb_build_array($4::jsonb || jsonb_build_object('at', now(), 'by', current_user))
        where version = $1`,
      [move.fromVersion, move.migration.version, move.migration.name, event],
    );
  }
}

/**
 * Removes the rows that record one migration, for `forget` (which checked
 * under the lock that they are what the operator was shown): every row under
 * its number ('46' and '046' alike) with its name or none, but not a row under
 * that number that records another file. A version that is not a number (an
 * old runner's 'TEMPLATE') is matched exactly.
 */
export async function removeRows(db: Queryable, row: { readonly version: string; readonly key: string; readonly name: string | null }, numeric: boolean): Promise<void> {
  if (!numeric) {
    await db.unsafe(`delete from ${TRACKING_TABLE} where version::text = $1`, [row.version]);
    return;
  }
  await db.unsafe(
    `delete from ${TRACKING_TABLE}
      where ${VERSION_KEY_SQL} = $1
        and (name is null or $2::text is null
             or lower(regexp_replace(regexp_replace(btrim(name), '\\.sql$', '', 'i'), '^[0-9]+_', '')) = lower(regexp_replace(regexp_replace(btrim($2::text), '\\.sql$', '', 'i'), '^[0-9]+_', '')))`,
    [row.key, row.name],
  );
}

/**
 * Removes a migration's row (down), only while it is the row that was
 * planned (same applied_at and checksum): false when it is gone or was
 * applied again meanwhile, by another runner behind a pooler.
 */
export async function forgetRow(db: Queryable, row: RowIdentity): Promise<boolean> {
  const removed = await db.unsafe(
    `delete from ${TRACKING_TABLE}
      where ${VERSION_KEY_SQL} = $1 and applied_at::text is not distinct from $2::text and checksum is not distinct from $3::text
      returning 1`,
    [row.key, row.appliedAt, row.checksum],
  );
  return removed.length > 0;
}

/** Rows for migrations recorded as applied without running them (baseline, mark-applied), each with a history entry. */
export async function recordUnrunRows(
  db: Queryable,
  migrations: readonly Migration[],
  runner: string,
  action: "baseline" | "mark-applied",
  /** Recorded although tables the migrations create were missing (--force): the history says so. */
  forced = false,
): Promise<Migration[]> {
  const recorded: Migration[] = [];
  for (const migration of migrations) {
    // Behind a pooler another runner may have applied it after this one planned: under the
    // transaction-level lock, a row that exists now is kept, not duplicated.
    const rows = await db.unsafe(
      `insert into ${TRACKING_TABLE} (version, name, applied_at, checksum, duration_ms, runner, down_sql, history)
       select $1, $2, now(), $3, null, $4, $5, jsonb_build_array($6::jsonb || jsonb_build_object('at', now(), 'by', current_user))
        where not exists (select 1 from ${TRACKING_TABLE} where ${VERSION_KEY_SQL} = $7)
       returning 1`,
      // jsonb parameters take objects: postgres.js serialises by the type the server infers.
      [migration.version, migration.name, migration.checksum, runner, migration.down, { action, runner, ...(forced ? { forced: true } : {}) } as never, migration.key],
    );
    if (rows.length > 0) recorded.push(migration);
  }
  return recorded;
}

/**
 * Accepts a file's current text (and name) for an applied migration, keeping
 * the old checksum and name in the row's history.
 */
export async function recordRepairRow(db: Queryable, migration: Migration, previous: { checksum: string | null; name: string | null }, runner: string): Promise<void> {
  const event = { action: "repair", runner, from_checksum: previous.checksum, to_checksum: migration.checksum, from_name: previous.name, to_name: migration.name } as never;
  await db.unsafe(
    `update ${TRACKING_TABLE}
        set checksum = $2, down_sql = $3, name = $5,
            history = coalesce(history, '[]'::jsonb) || jsonb_build_array($4::jsonb || jsonb_build_object('at', now(), 'by', current_user))
      where ${VERSION_KEY_SQL} = $1`,
    [migration.key, migration.checksum, migration.down, event, migration.name],
  );
}
