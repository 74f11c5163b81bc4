import { expectedTables } from "../core/expected-tables.ts";
import { healthReasons, missingTableFindings, planFindings } from "../core/findings.ts";
import { type Plan, planMigrations } from "../core/plan.ts";
import { migrationSummary } from "../core/status-report.ts";
import { missingTables } from "../db/tables.ts";
import { readTracking } from "../db/tracking.ts";
import { appliedRows } from "../operations/read-plan.ts";
import { stateOfFailure } from "./database-state.ts";
import { reasonNotJudged } from "../core/schema/verdict.ts";
import type { ExpectedSchemaLookup } from "../source/expected-schema.ts";
import { expectedSchemaOf } from "./expected.ts";
import { type DatabaseState, type HealthReport, type SchemaSection, buildOfThisProcess, schemaNotJudged, unreadMigrations } from "./report.ts";
import { readSchemaSection, schemaReasons } from "./schema-section.ts";
import { type HealthOptions, type HealthSession, healthSessionOpener } from "./source.ts";

const TIMED_OUT = Symbol("timed out");

/**
 * Checks that the database is reachable, that every migration of this build
 * is applied unchanged, that every table they create exists, and that the
 * schema is the one they leave (HealthOptions.schema), within `timeoutMs`
 * (2 s) whatever the server does. Never throws for the database: failures
 * become an "unhealthy" report. Throws only for the caller's mistakes: no
 * database (or more than one) to read, a schema text that is no snapshot.
 */
export async function checkDatabaseHealth(options: HealthOptions): Promise<HealthReport> {
  return checkDatabaseHealthAgainst(options, expectedSchemaOf(options));
}

/** The check with the expected schema chosen by the caller (the CLI's `--dir` reads DIR/schema.snapshot). */
export async function checkDatabaseHealthAgainst(options: HealthOptions, expectedSchema: ExpectedSchemaLookup): Promise<HealthReport> {
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
    schema: schemaNotJudged("the database was not read"),
    duration_ms: Math.round(performance.now() - started),
    checked_at: checkedAt,
    build: buildOfThisProcess(),
    reasons: [reason],
  });

  let timedOut = false;
  let session: HealthSession | undefined;
  /** Gives the session back once: kept (the reads finished) or abandoned (a read still running). */
  const release = (abandoned: boolean) => {
    const held = session;
    session = undefined;
    held?.end(abandoned);
  };
  const work = (async () => {
    const opened = await open();
    // Opened after the bound: nothing was sent on it, so the pool may have it back as it is.
    if (timedOut) return opened.end(false);
    session = opened;
    try {
      return await Promise.all([readTracking(opened.query), missingTables(opened.query, tables)]);
    } catch (error) {
      // A statement the server refused leaves a usable connection; anything else (a socket error) does not.
      if (!timedOut) release(!hasSqlState(error));
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
      release(true);
      return unread("timeout", `the database did not answer within ${timeoutMs} ms`);
    }
    clearTimeout(timer);
    const [tracking, missing] = outcome;
    const plan = planMigrations(options.migrations, appliedRows(tracking, options.migrations));
    const { unhealthy, degraded } = healthReasons([...planFindings(plan), ...missingTableFindings(missing)]);
    if (tracking.kind === "missing") unhealthy.unshift("the tracking table schema_migrations does not exist: no migration was applied");
    const schema = await judgeSchema(plan, expectedSchema, session, timeoutMs - (performance.now() - started), () => release(true));
    release(false);
    const drift = schemaReasons(schema);
    unhealthy.push(...drift.unhealthy);
    degraded.push(...drift.degraded);
    return {
      status: unhealthy.length > 0 ? "unhealthy" : degraded.length > 0 ? "degraded" : "healthy",
      database: "connected",
      migrations: migrationSummary(plan),
      tables: { expected: tables.length, missing },
      schema,
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

/** Drift is judged only against a schema the migrations are meant to have left: all applied, none from a newer release. */
async function judgeSchema(plan: Plan, choice: ExpectedSchemaLookup, session: HealthSession | undefined, leftMs: number, abandon: () => void): Promise<SchemaSection> {
  // The same rule, and the same words, as verify and status.
  const notJudged = reasonNotJudged(plan);
  if (notJudged !== null) return schemaNotJudged(notJudged);
  if (choice.expected === null) return schemaNotJudged(choice.reason);
  if (session === undefined) return schemaNotJudged("the database was not read");
  // What is left of the bound, less a margin to compare and answer in.
  const margin = Math.min(50, leftMs / 10);
  return readSchemaSection(session.query, choice.expected, leftMs - margin, abandon);
}

function hasSqlState(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
}
