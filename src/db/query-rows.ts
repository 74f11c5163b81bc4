import type { Queryable } from "./connection.ts";

/**
 * The port the health check reads through: SQL text in, rows out, with no
 * parameters, so that any driver fits (postgres.js, node-postgres, a test
 * double of the application's own). Only single statements are sent.
 */
export type QueryRows = (text: string) => Promise<readonly Record<string, unknown>[]>;

/** What node-postgres's Pool, Client and PoolClient have in common (and anything shaped like them). */
export interface RowsQueryable {
  query(text: string): Promise<{ readonly rows: readonly Record<string, unknown>[] }>;
}

export function fromPostgresJs(sql: Queryable): QueryRows {
  return async (text) => (await sql.unsafe(text)) as unknown as readonly Record<string, unknown>[];
}

export function fromPgPool(db: RowsQueryable): QueryRows {
  return async (text) => (await db.query(text)).rows;
}

/** Either a postgres.js client (it has `unsafe`; it is itself a function, so that cannot tell them apart) or the port. */
export function asQueryRows(db: Queryable | QueryRows): QueryRows {
  return "unsafe" in db ? fromPostgresJs(db) : db;
}
