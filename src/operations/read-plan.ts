import { MigrateError } from "../core/errors.ts";
import { planFindings, refusalToApply, schemaIncompleteError, unknownMigrationsWarning } from "../core/findings.ts";
import { candidateTablesOf, hasPrecomputedFacts, tablesCreatedBy, tablesTouchedBy } from "../core/expected-tables.ts";
import { missingTables } from "../db/tables.ts";
import type { Migration } from "../core/migration-set.ts";
import { type AppliedRow, type Plan, planMigrations, rowsUpTo } from "../core/plan.ts";
import { type Queryable } from "../db/connection.ts";
import { waitForDatabase } from "../db/wait.ts";
import { missingCreateGrant, probeCreateGrant } from "../db/session.ts";
import { TRACKING_TABLE, type TrackingReadDepth, type TrackingState, readTracking } from "../db/tracking.ts";
import type { LogFields, Logger } from "../log.ts";
import type { MigratorOptions, ReadState, StartedRead } from "./options.ts";

/**
 * Waits for the server, then reads the state. The read is the connection
 * probe: it opens the pool's first connection (postgres.js 3.4.9's reserve()
 * hangs on a pool that has none yet).
 */
export function waitAndReadPlan(options: Pick<MigratorOptions, "sql" | "connection" | "waitMs" | "log" | "migrations" | "startedRead">): Promise<ReadState> {
  return readPlanFrom(waitAndReadTracking(options), options.migrations);
}

/** waitAndReadPlan's first half: the tracking table's state, once the server answers. */
export function waitAndReadTracking(options: Pick<MigratorOptions, "sql" | "connection" | "waitMs" | "log" | "startedRead">): Promise<TrackingState> {
  return options.startedRead?.take() ?? waitForDatabase(() => readTracking(options.sql), options.connection, options.waitMs, options.log);
}

/**
 * Starts waiting for the server and reading the tracking table now, so that
 * connecting (the login, a backend starting: most of a no-op run) overlaps
 * whatever the caller does before it needs the state, such as reading the
 * migration files.
 */
export function startReadingTracking(options: Pick<MigratorOptions, "sql" | "connection" | "waitMs" | "log">, depth: TrackingReadDepth = "full"): StartedRead {
  let cancelled = false;
  // Until someone takes the read it is speculative: what it logs (a retry while the server starts) waits, so
  // that broken migration files are reported alone, and goes when the read is cancelled.
  let held: (() => void)[] | null = [];
  const deferred = (type: keyof Logger) => (message: string, fields?: LogFields) => {
    if (cancelled) return;
    if (held) held.push(() => options.log[type](message, fields));
    else options.log[type](message, fields);
  };
  const log: Logger = { info: deferred("info"), success: deferred("success"), warn: deferred("warn"), error: deferred("error"), debug: deferred("debug") };
  const attempt = (): Promise<TrackingState> => {
    // A MigrateError ends the wait at once.
    if (cancelled) return Promise.reject(new MigrateError("INTERNAL", "The read of the tracking table was cancelled."));
    return readTracking(options.sql, depth);
  };
  let read: Promise<TrackingState> | null = waitForDatabase(attempt, options.connection, options.waitMs, log);
  // Its failure is reported by whoever takes it; nobody does when the files turn out to be broken.
  read.catch(() => {});
  return {
    take() {
      const taken = read;
      read = null;
      const lines = held ?? [];
      held = null;
      for (const line of lines) line();
      return taken;
    },
    cancel() {
      cancelled = true;
      held = null;
      read = null;
    },
  };
}

/** Reads the tracking table and compares it with the migrations; writes nothing. */
export function readPlan(db: Queryable, migrations: readonly Migration[]): Promise<ReadState> {
  return readPlanFrom(readTracking(db), migrations);
}

export async function readPlanFrom(reading: Promise<TrackingState>, migrations: readonly Migration[]): Promise<ReadState> {
  return stateOf(await reading, migrations);
}

/** The files compared with what the tracking table holds. */
export function stateOf(tracking: TrackingState, migrations: readonly Migration[]): ReadState {
  return { plan: planMigrations(migrations, appliedRows(tracking, migrations)), tracking };
}

/** The rows the table stands for: its own, or for golang-migrate's one row, the migrations up to its version. */
export function appliedRows(tracking: TrackingState, migrations: readonly Migration[]): readonly AppliedRow[] {
  return tracking.kind === "golang-migrate" ? rowsUpTo(migrations, tracking.upTo) : tracking.rows;
}

/** Refuses, before anything is written, when files and database disagree; warns about what it lets through. */
export function assertConsistent(plan: Plan, onUnknown: "warn" | "fail", log: Logger): void {
  const refusal = refusalToApply(plan, onUnknown);
  if (refusal) throw refusal;
  if (plan.unknown.length > 0) {
    log.warn(unknownMigrationsWarning(plan.unknown), { event: "unknown_migrations", unknown: plan.unknown.map((entry) => entry.version) });
  }
  for (const finding of planFindings(plan)) {
    if (finding.kind === "out-of-order") log.warn(finding.message, { event: "out_of_order", version: finding.subject });
  }
}

/** The runner creates its own table whatever migration 000 says: never a table the schema lacks. */
function withoutTrackingTable(names: { delete(name: string): boolean }): void {
  for (const name of [TRACKING_TABLE, `public.${TRACKING_TABLE}`]) names.delete(name);
}

/** Which tables the given migrations leave behind do not exist, each with the file that creates it. */
export async function missingTablesOf(options: Pick<MigratorOptions, "sql">, migrations: readonly Migration[]): Promise<Map<string, string>> {
  const created = tablesCreatedBy(migrations);
  withoutTrackingTable(created);
  if (created.size === 0) return new Map();
  const missing = await missingTables(options.sql, [...created.keys()]);
  return new Map(missing.map((table) => [table, created.get(table)?.fileName ?? "?"]));
}

/**
 * Refuses when migrations recorded as applied create tables that do not
 * exist: the rows say the schema is there and it is not. Only what the
 * applied migrations leave behind is expected (a pending one may drop a table).
 */
export async function assertSchemaPresent(options: Pick<MigratorOptions, "sql">, plan: Plan, asked: CandidateCheck | null = null): Promise<void> {
  const applied = plan.entries.flatMap((entry) => (entry.migration && (entry.state === "applied" || entry.state === "changed") ? [entry.migration] : []));
  // Awaited whether or not it is used: the connection it runs on must be free before anything else is sent.
  const answer = asked ? await asked.missing : undefined;
  if (asked?.exact) {
    // The build's answer is for the whole set: it settles a start that has all of it applied, the usual one.
    if (sameMigrations(asked.about, applied) && answer?.size === 0) return;
  } else if (!hasPrecomputedFacts(applied) && (await allCandidatesExist(options, applied, answer))) return;
  const missing = await missingTablesOf(options, applied);
  if (missing.size === 0) return;
  // Rebuilding a table means running again what created it and every later change to it.
  const toRerun = applied.filter((migration) => [...tablesTouchedBy(migration)].some((table) => missing.has(table))).map((migration) => migration.version);
  throw schemaIncompleteError(missing, toRerun);
}

/**
 * The schema question put before the plan was made, about `about`: with
 * `exact`, about the tables the build says they leave (an embedded set),
 * otherwise about every name their files could create (a --dir set).
 * `missing` never rejects: null when the query failed.
 */
export interface CandidateCheck {
  readonly about: readonly Migration[];
  readonly exact: boolean;
  readonly missing: Promise<ReadonlySet<string> | null>;
}

/**
 * Asks which of the tables the migrations could leave are missing, to be
 * answered while the plan is made: called once the tracking read is in, the
 * query goes on the connection that read it (a second connection would cost a
 * login, more than the question at the seed's size). A failure means the long
 * way, which reports its own.
 */
export function startCandidateCheck(options: Pick<MigratorOptions, "sql">, migrations: readonly Migration[], tracking: TrackingState): CandidateCheck | null {
  // Nothing recorded, nothing expected; and the build's answer serves only a table with a row per migration at least.
  const rows = tracking.kind === "golang-migrate" ? (tracking.upTo === null ? 0 : migrations.length) : tracking.rows.length;
  const exact = hasPrecomputedFacts(migrations);
  if (migrations.length === 0 || rows === 0 || (exact && rows < migrations.length)) return null;
  const names = exact ? new Set(tablesCreatedBy(migrations).keys()) : candidateTablesOf(migrations);
  return { about: migrations, exact, missing: missingCandidates(options, names) };
}

function sameMigrations(left: readonly Migration[], right: readonly Migration[]): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

function missingCandidates(options: Pick<MigratorOptions, "sql">, candidates: Set<string>): Promise<ReadonlySet<string> | null> {
  withoutTrackingTable(candidates);
  if (candidates.size === 0) return Promise.resolve(new Set());
  // A name only a comment holds must not fail a check the scan would pass (one the query cannot carry, such as
  // a lone surrogate through the library): any failure of this query means the long way, which reports its own.
  return missingTables(options.sql, [...candidates]).then((missing) => new Set(missing), () => null);
}

/**
 * Without the build's facts (a --dir set) the lexer scan of every file is most
 * of the check's cost. Every name a file could create existing settles it
 * first; only when one is missing (a table dropped later, a name in a comment)
 * are the files scanned to tell which are really expected. `answer` is the
 * same question's, put earlier about every migration, applied or not.
 */
async function allCandidatesExist(options: Pick<MigratorOptions, "sql">, migrations: readonly Migration[], answer: ReadonlySet<string> | null | undefined): Promise<boolean> {
  const missing = answer === undefined ? await missingCandidates(options, candidateTablesOf(migrations)) : answer;
  if (missing === null) return false;
  if (missing.size === 0) return true;
  // Missing names of pending migrations (their tables are not made yet) say nothing of the applied ones.
  for (const name of candidateTablesOf(migrations)) if (missing.has(name)) return false;
  return true;
}

/** plan refuses, as up would, when the role may not create what the pending migrations create. */
export async function assertCanApply(options: Pick<MigratorOptions, "sql">, plan: Plan): Promise<void> {
  if (plan.pending.length === 0) return;
  const probe = await probeCreateGrant(options.sql);
  if (!probe.canCreate) throw missingCreateGrant(probe);
}
