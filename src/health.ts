import type postgres from "postgres";
import { buildInfo } from "./build-info.ts";
import { MigrateError } from "./core/errors.ts";
import { expectedTables } from "./core/expected-tables.ts";
import type { Migration } from "./core/migration-set.ts";
import { planMigrations } from "./core/plan.ts";
import { missingTables } from "./db/tables.ts";
import { readTracking } from "./db/tracking.ts";
import { redact } from "./log.ts";

export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** The document GET /health/database returns (the seed's shape, plus detail). */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly database: "connected" | "unreachable" | "timeout";
  readonly migrations: {
    readonly applied: readonly string[];
    readonly latest: string | null;
    readonly pending: readonly string[];
    readonly changed: readonly string[];
    readonly unknown: readonly string[];
    readonly expected_latest: string | null;
  };
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

const EMPTY_MIGRATIONS = { applied: [], latest: null, pending: [], changed: [], unknown: [], expected_latest: null } as const;

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
    tables: { expected: tables.length, missing: [] as string[] },
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const sql = options.sql as postgres.Sql<Record<string, never>>;
    const work = (async () => {
      const [tracking, missing] = await Promise.all([readTracking(sql), missingTables(sql, tables)]);
      return { tracking, missing };
    })();
    work.catch(() => {}); // a late failure after the timeout must not become an unhandled rejection
    const outcome = await Promise.race([work, timeout]);
    const duration_ms = Math.round(performance.now() - started);
    if (outcome === "timeout") {
      return {
        status: "unhealthy",
        database: "timeout",
        migrations: { ...EMPTY_MIGRATIONS, expected_latest: options.migrations.at(-1)?.version ?? null },
        ...base,
        duration_ms,
        reasons: [`the database did not answer within ${timeoutMs} ms`],
      };
    }
    const plan = planMigrations(options.migrations, outcome.tracking.rows);
    const reasons: string[] = [];
    if (outcome.tracking.kind === "missing") reasons.push("the tracking table schema_migrations does not exist: no migration was applied");
    if (plan.pending.length > 0) reasons.push(`${plan.pending.length} migration(s) pending: ${plan.pending.map((m) => m.version).join(", ")}`);
    if (plan.changed.length > 0) reasons.push(`applied migration(s) differ from this build: ${plan.changed.map((e) => e.version).join(", ")}`);
    if (outcome.missing.length > 0) reasons.push(`missing table(s): ${outcome.missing.join(", ")}`);
    const unhealthy = reasons.length > 0;
    if (plan.unknown.length > 0) reasons.push(`the database has migration(s) this build does not know: ${plan.unknown.map((e) => e.version).join(", ")}`);
    return {
      status: unhealthy ? "unhealthy" : plan.unknown.length > 0 ? "degraded" : "healthy",
      database: "connected",
      migrations: {
        applied: plan.applied.map((entry) => entry.version),
        latest: plan.latestApplied,
        pending: plan.pending.map((migration) => migration.version),
        changed: plan.changed.map((entry) => entry.version),
        unknown: plan.unknown.map((entry) => entry.version),
        expected_latest: plan.latestKnown,
      },
      tables: { expected: tables.length, missing: outcome.missing },
      duration_ms,
      checked_at: base.checked_at,
      build: base.build,
      reasons,
    };
  } catch (error) {
    const message = error instanceof MigrateError ? error.message : (error as Error).message;
    return {
      status: "unhealthy",
      database: "unreachable",
      migrations: { ...EMPTY_MIGRATIONS, expected_latest: options.migrations.at(-1)?.version ?? null },
      ...base,
      duration_ms: Math.round(performance.now() - started),
      reasons: [redact(`the database cannot be queried: ${message}`)],
    };
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
