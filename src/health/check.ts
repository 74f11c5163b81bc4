import { expectedTables } from "../core/expected-tables.ts";
import { healthReasons, missingTableFindings, planFindings } from "../core/findings.ts";
import { planMigrations } from "../core/plan.ts";
import { migrationSummary } from "../core/status-report.ts";
import { missingTables } from "../db/tables.ts";
import { readTracking } from "../db/tracking.ts";
import { appliedRows } from "../operations/read-plan.ts";
import { stateOfFailure } from "./database-state.ts";
import { type DatabaseState, type HealthReport, buildOfThisProcess, unreadMigrations } from "./report.ts";
import { type HealthOptions, type HealthSession, healthSessionOpener } from "./source.ts";

const TIMED_OUT = Symbol("timed out");

/**
 * Checks that the database is reachable, that every migration of this build
 * is applied unchanged, and that every table they create exists, within
 * `timeoutMs` (2 s) whatever the server does. Never throws for the database:
 * failures become an "unhealthy" report. Throws only when given no database
 * (or more than one) to read.
 */
export async function checkDatabaseHealth(options: HealthOptions): Promise<HealthReport> {
  const open = healthSessionOpener(options);
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 2000;
  const tables = expectedTables(options.migrations);
  const checkedAt = new Date().toISOString();
  /** What can be said without the database: only what this build expects. */
  const unread = (database: DatabaseState, reason: string): HealthReport => ({
    status: "unhealthy",
    database,
    migrations: unreadMigrations(planMigrations(options.migrations, []).latestKnown),
    tables: { expected: tables.length, missing: null },
    duration_ms: Math.round(performance.now() - started),
    checked_at: checkedAt,
    build: buildOfThisProcess(),
    reasons: [reason],
  });

  let timedOut = false;
  let session: HealthSession | undefined;
  const work = (async () => {
    const opened = await open();
    // Opened after the bound: nothing was sent on it, so the pool may have it back as it is.
    if (timedOut) return opened.end(false);
    session = opened;
    try {
      const result = await Promise.all([readTracking(opened.query), missingTables(opened.query, tables)]);
      opened.end(false);
      return result;
    } catch (error) {
      // A statement the server refused leaves a usable connection; anything else (a socket error) does not.
      if (!timedOut) opened.end(!hasSqlState(error));
      throw error;
    }
  })();
  work.catch(() => {}); // a late failure after the bound must not become an unhandled rejection
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  try {
    const outcome = await Promise.race([work, bound]);
    if (outcome === TIMED_OUT || outcome === undefined) {
      timedOut = true;
      // A read still running holds its connection (a pg pool client): drop it, so the pool is not left a client short.
      session?.end(true);
      return unread("timeout", `the database did not answer within ${timeoutMs} ms`);
    }
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
      checked_at: checkedAt,
      build: buildOfThisProcess(),
      reasons: [...unhealthy, ...degraded],
    };
  } catch (error) {
    const { database, reason } = stateOfFailure(error);
    return unread(database, reason);
  } finally {
    clearTimeout(timer);
  }
}

function hasSqlState(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
}
