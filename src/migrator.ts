/**
 * The operations, one file each under operations/: what the CLI commands and
 * the library call. This module only gathers them.
 */
export type { AppliedMigration, MigratorOptions, ReadState, StartedRead } from "./operations/options.ts";
export type { TrackingReadDepth } from "./db/tracking.ts";
export { assertCanApply, assertConsistent, assertSchemaPresent, readPlan, startReadingTracking, waitAndReadPlan } from "./operations/read-plan.ts";
export { type UpResult, migrateUp } from "./operations/up.ts";
export { type DownResult, migrateDown } from "./operations/down.ts";
export { baselineTo, repairChecksum } from "./operations/baseline.ts";
export { forgetMigration, markApplied } from "./operations/mark.ts";
export { verifyDatabase } from "./operations/verify.ts";
