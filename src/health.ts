import type postgres from "postgres";
import { buildInfo } from "./build-info.ts";
import { expectedTables } from "./core/expected-tables.ts";
import { healthReasons, missingTableFindings, planFindings } from "./core/findings.ts";
import type { Migration } from "./core/migration-set.ts";
import { planMigrations } from "./core/plan.ts";
import { migrationSummary } from "./core/status-report.ts";
import type { Sql } from "./db/connection.ts";
import { missingTables } from "./db/tables.ts";
import { readTracking } from "./db/tracking.ts";
import { appliedRows } from "./operations/read-plan.ts";
import { redact } from "./log.ts";

export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** The document GET /health/database returns (the seed's shape, plus detail). */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly database: "connected" | "unreachable" | "timeout";
  readonly migrations: ReturnType<typeof migrationSummary>;
  readonly tables: { readonly expected: number; readonly missing: readonly string[] };
  readonly duration_ms: number;
  readonly checked_at: string;
  /** The build that answers: lets a deploy tell the new containers from the old. */
  readonly build: { readonly version: string; readonly commit: string };
  /** Why the status is not healthy; never holds a connection string or password. */
  readonly reasons: readonly string[];
}

export interface HealthOptions {
  /** The application's postgres.js client (a read-only role is enough: SELECT on schema_migrations). */
  readonly sql: postgres.Sql<Record<string, never>> | postgres.Sql;
  /** The migrations the application was built with. */
  readonly migrations: readonly Migration[];
  /** Upper bound for the whole check (ms); default 2000. */
  readonly timeoutMs?: number;
}

/**
 * Checks that the database is reachable, that every migration of this build
 * is applied unchanged, and that every table they create exists. Never
 * throws: failures become an "unhealthy" report.
 */
export async function checkDatabaseHealth(options: HealthOptions): Promise<HealthReport> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 2000;
  const tables = expectedTables(options.migrations);
  const base = {
    checked_at: new Date().toISOString(),
    build: { version: buildInfo.version, commit: buildInfo.commit },
  };
  /** What can be said without the database: nothing applied is known. */
  const unanswered = (database: "unreachable" | "timeout", reason: string): HealthReport => ({
    status: "unhealthy",
    database,
    migrations: { ...migrationSummary(planMigrations(options.migrations, [])), pending: [] },
    tables: { expected: tables.length, missing: [] },
    ...base,
    duration_ms: Math.round(performance.now() - started),
    reasons: [reason],
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const sql = options.sql as Sql;
    const work = Promise.all([readTracking(sql), missingTables(sql, tables)]);
    work.catch(() => {}); // a late failure after the timeout must not become an unhandled rejection
    const outcome = await Promise.race([work, timeout]);
    if (outcome === "timeout") return unanswered("timeout", `the database did not answer within ${timeoutMs} ms`);
    const [tracking, missing] = outcome;
    const plan = planMigrations(options.migrations, appliedRows(tracking, options.migrations));
    const { unhealthy, degraded } = healthReasons([...planFindings(plan), ...missingTableFindings(missing)]);
    if (tracking.kind === "missing") unhealthy.unshift("the tracking table schema_migrations does not exist: no migration was applied");
    return {
      status: unhealthy.length > 0 ? "unhealthy" : degraded.length > 0 ? "degraded" : "healthy",
      database: "connected",
      migrations: migrationSummary(plan),
      tables: { expected: tables.length, missing },
      duration_ms: Math.round(performance.now() - started),
      ...base,
      reasons: [...unhealthy, ...degraded],
    };
  } catch (error) {
    return unanswered("unreachable", redact(`the database cannot be queried: ${(error as Error).message}`));
  } finally {
    clearTimeout(timer);
  }
}

/** 200 for healthy and degraded (the application works), 503 otherwise. */
export function httpStatusOf(report: HealthReport): 200 | 503 {
  return report.status === "unhealthy" ? 503 : 200;
}

/**
 * A standard fetch-style handler for GET /health/database: works with
 * Bun.serve, Deno.serve, Hono, and Fastify or node:http through a few lines
 * (see the README).
 */
export function createHealthHandler(options: HealthOptions): (request?: Request) => Promise<Response> {
  return async () => {
    const report = await checkDatabaseHealth(options);
    return new Response(JSON.stringify(report), {
      status: httpStatusOf(report),
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    });
  };
}
