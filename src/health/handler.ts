import { checkDatabaseHealth } from "./check.ts";
import { expectedSchemaOf } from "./expected.ts";
import type { HealthReport } from "./report.ts";
import { type HealthOptions, healthSessionOpener } from "./source.ts";

/** 200 for healthy and degraded (the application works), 503 otherwise. */
export function httpStatusOf(report: HealthReport): 200 | 503 {
  return report.status === "unhealthy" ? 503 : 200;
}

export const HEALTH_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } as const;

/**
 * A standard fetch-style handler for GET /health/database: works with
 * Bun.serve, Deno.serve, Hono, and node:http through a few lines (see the
 * README); Fastify has healthPlugin.
 */
export function createHealthHandler(options: HealthOptions): (request?: Request) => Promise<Response> {
  healthSessionOpener(options); // a missing database is said when the route is made, not at the first probe
  expectedSchemaOf(options); // so is a schema option that is no snapshot (SNAPSHOT_INVALID)
  return async () => {
    const report = await checkDatabaseHealth(options);
    return new Response(JSON.stringify(report), { status: httpStatusOf(report), headers: HEALTH_HEADERS });
  };
}
