import type postgres from "postgres";
import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import type { Sql } from "../db/connection.ts";
import { type QueryRows, type RowsQueryable, fromPgPool } from "../db/query-rows.ts";

/**
 * A node-postgres Pool as the check uses it: one client checked out per
 * check, so that a check cut off by its bound can drop that client (pg has no
 * per-query timeout; a hung query would hold it for good).
 */
export interface PgPoolLike extends RowsQueryable {
  connect(): Promise<RowsQueryable & { release(error?: Error | boolean): void }>;
  readonly idleCount: number;
}

/** What the application already has; exactly one of them. */
export type HealthDatabase =
  /** The application's postgres.js client. */
  | { readonly sql: postgres.Sql<Record<string, never>> | postgres.Sql; readonly pool?: never; readonly query?: never }
  /** A node-postgres Pool, Client or PoolClient, or anything with query(text) → Promise<{ rows }>. */
  | { readonly pool: RowsQueryable; readonly sql?: never; readonly query?: never }
  /** Any function from SQL text to its rows (or to { rows }). */
  | {
      readonly query: (text: string) => unknown;
      readonly sql?: never;
      readonly pool?: never;
    };

export type HealthOptions = HealthDatabase & {
  /** The migrations the application was built with. */
  readonly migrations: readonly Migration[];
  /** Upper bound for the whole check (ms); default 2000. */
  readonly timeoutMs?: number;
  /**
   * The schema the migrations leave, as `st44-migrate dump` prints it (the
   * text of their schema.snapshot), to find drift. Left out: the snapshot this
   * build embeds, when `migrations` are exactly the ones it embeds
   * (bundledMigrations()); with other migrations, none. null: no comparison.
   * Without one, the document's schema section says `unknown`.
   */
  readonly schema?: string | null;
};

/** One check's connection: the reads go through `query`; `end(abandoned)` gives it back (abandoned: cut off, drop it). */
export interface HealthSession {
  readonly query: QueryRows;
  end(abandoned: boolean): void;
}

const keep = () => {};

/** Turns the options into a way to open a session; a missing or doubled database is a mistake of the caller, said at once. */
export function healthSessionOpener(options: HealthDatabase): () => Promise<HealthSession> {
  const given = (["sql", "pool", "query"] as const).filter((key) => options[key as keyof HealthDatabase] != null);
  if (given.length !== 1) {
    throw new MigrateError(
      "CONFIG_INVALID",
      `The health check needs exactly one database to read, and got ${given.length === 0 ? "none" : given.join(" and ")}. Pass the application's own: { pool } (a node-postgres Pool, or anything with query(text) returning { rows }), { sql } (a postgres.js client) or { query } (a function from SQL text to rows).`,
    );
  }
  if (options.sql) {
    const sql = options.sql as Sql;
    return async () => cancellableSession(sql);
  }
  if (options.pool) {
    const pool = options.pool;
    if (isPgPool(pool)) {
      return async () => {
        const client = await pool.connect();
        return { query: fromPgPool(client), end: (abandoned) => client.release(abandoned ? new Error("st44-migrate health check cut off by its time bound") : undefined) };
      };
    }
    const query = fromPgPool(pool);
    return async () => ({ query, end: keep });
  }
  const query = rowsFunction(options.query as (text: string) => unknown);
  return async () => ({ query, end: keep });
}

/**
 * postgres.js queries of one check: a check cut off by its bound cancels
 * the ones still running, so a read stuck behind a lock does not keep one
 * of the application's pooled connections busy until the lock goes.
 */
function cancellableSession(sql: Sql): HealthSession {
  const running = new Set<ReturnType<Sql["unsafe"]>>();
  const query: QueryRows = async (text) => {
    const pending = sql.unsafe(text);
    running.add(pending);
    try {
      return (await pending) as unknown as readonly Record<string, unknown>[];
    } finally {
      running.delete(pending);
    }
  };
  return {
    query,
    end(abandoned) {
      if (!abandoned) return;
      for (const pending of running) Promise.resolve(pending.cancel()).catch(() => {});
    },
  };
}

function isPgPool(pool: RowsQueryable): pool is PgPoolLike {
  const candidate = pool as Partial<PgPoolLike>;
  return typeof candidate.connect === "function" && typeof candidate.idleCount === "number";
}

function rowsFunction(query: (text: string) => unknown): QueryRows {
  return async (text) => {
    const result = await query(text);
    if (Array.isArray(result)) return result;
    const rows = (result as { rows?: unknown } | null)?.rows;
    if (Array.isArray(rows)) return rows;
    throw new TypeError("the health check's query function must return an array of rows, or { rows }");
  };
}
