import { buildInfo } from "../build-info.ts";
import type { migrationSummary } from "../core/status-report.ts";

export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/**
 * What the check found of the database, named as an operator acts on it:
 * - `connected`: the server answered the reads;
 * - `timeout`: no answer within the bound (a hung server, a lock, an exhausted pool);
 * - `unreachable`: no connection (refused, no route, reset, the server shutting down or starting up);
 * - `auth_failed`: the login was refused (wrong user or password, pg_hba.conf);
 * - `not_found`: the server has no such database;
 * - `permission_denied`: logged in, but may not read schema_migrations.
 */
export type DatabaseState = "connected" | "timeout" | "unreachable" | "auth_failed" | "not_found" | "permission_denied";

type Summary = ReturnType<typeof migrationSummary>;

/**
 * The document GET /health/database returns (the seed's shape, plus detail).
 * Every list read from the database is `null` when it was not read (any
 * `database` but `connected`, or a tracking table that cannot be read): unknown,
 * never "nothing pending".
 */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly database: DatabaseState;
  readonly migrations: { readonly [K in keyof Summary]: K extends "expected_latest" ? Summary[K] : Summary[K] | null };
  readonly tables: { readonly expected: number; readonly missing: readonly string[] | null };
  /** The live schema against the expected one (the build's snapshot): see SchemaSection. */
  readonly schema: SchemaSection;
  readonly duration_ms: number;
  readonly checked_at: string;
  /** The build that answers: lets a deploy tell the new containers from the old. */
  readonly build: { readonly version: string; readonly commit: string };
  /** Why the status is not healthy; never holds a connection string or password. */
  readonly reasons: readonly string[];
}

/**
 * Drift, one line per object (`missing column users.first_name`,
 * `changed column tasks.points: integer → bigint`, `extra table public.audit`):
 * - `ok`: the live schema is the expected one;
 * - `drift`: it differs (missing or changed objects make the document
 *   unhealthy, extra ones degraded);
 * - `unknown`: not judged, `reason` says why (pending or unknown migrations,
 *   no expected schema, the read did not finish in the bound); the lists are null.
 */
export interface SchemaSection {
  readonly status: "ok" | "drift" | "unknown";
  readonly missing: readonly string[] | null;
  readonly changed: readonly string[] | null;
  readonly extra: readonly string[] | null;
  readonly reason?: string;
}

export function schemaNotJudged(reason: string): SchemaSection {
  return { status: "unknown", missing: null, changed: null, extra: null, reason };
}

export function buildOfThisProcess(): HealthReport["build"] {
  return { version: buildInfo.version, commit: buildInfo.commit };
}

/** The migrations part when the database was not read: only what this build knows. */
export function unreadMigrations(expectedLatest: string | null): HealthReport["migrations"] {
  return { applied: null, pending: null, latest: null, expected_latest: expectedLatest, changed: null, mismatched: null, unknown: null };
}
