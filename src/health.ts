// The health check of GET /health/database; each part has its file in src/health/.
export { checkDatabaseHealth } from "./health/check.ts";
export { createHealthHandler, httpStatusOf } from "./health/handler.ts";
export { healthPlugin } from "./health/fastify.ts";
export type { HealthPluginOptions, HealthRouteHost, HealthRouteReply } from "./health/fastify.ts";
export type { DatabaseState, HealthReport, HealthStatus, SchemaSection } from "./health/report.ts";
export type { HealthDatabase, HealthOptions, PgPoolLike } from "./health/source.ts";
export { fromPgPool, fromPostgresJs } from "./db/query-rows.ts";
export type { QueryRows, RowsQueryable } from "./db/query-rows.ts";
