// The library: what an application imports. The CLI lives in src/cli/.
export { checkDatabaseHealth, createHealthHandler, fromPgPool, fromPostgresJs, healthPlugin, httpStatusOf } from "./health.ts";
export type { DatabaseState, HealthDatabase, HealthOptions, HealthPluginOptions, HealthReport, HealthStatus, PgPoolLike, SchemaSection, QueryRows, RowsQueryable } from "./health.ts";
export { migrateUp, waitAndReadPlan } from "./migrator.ts";
export type { MigratorOptions, UpResult, AppliedMigration } from "./migrator.ts";
export { buildMigrationSet } from "./core/migration-set.ts";
export type { Migration, MigrationFile } from "./core/migration-set.ts";
export type { Plan, PlanEntry, MigrationState } from "./core/plan.ts";
export { MigrateError, ExitCode, errorCodes } from "./core/errors.ts";
export type { ErrorCode } from "./core/errors.ts";
export { embeddedMigrations } from "./source/embedded-migrations.gen.ts";
export { bundledMigrations } from "./source/embedded.ts";
export { buildInfo } from "./build-info.ts";

