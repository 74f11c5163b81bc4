/**
 * Each new migration in turn, on one database that holds the set up to the
 * migration before: dump; measure it (rolled back); apply it; dump; run its
 * down part; dump again, which must equal the first; apply it again, which
 * must give the second. Applying and undoing go through the runner's own up
 * and down, so what passes here passes in a deploy and a rollback.
 */
import type { CheckFinding } from "../core/check/finding.ts";
import { measuredFindings } from "../core/check/measured.ts";
import type { MigrationCheck, RoundTrip } from "../core/check/report.ts";
import { schemaDifferences } from "../core/check/schema-diff.ts";
import { isMigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import { renderSnapshotText } from "../core/schema/render.ts";
import type { Sql } from "../db/connection.ts";
import { readSchema } from "../db/schema/read.ts";
import { silentLogger } from "../log.ts";
import { migrateDown, migrateUp } from "../migrator.ts";
import { existingTables, validatedNotNullChecks } from "./catalog.ts";
import { type Measurement, lineAltering, measureInAutocommit, measureMigration } from "./locks.ts";
import type { CheckServer, ScratchDatabase } from "./server.ts";

type TextContext = { readonly existingTables: ReadonlySet<string>; readonly validatedNotNull?: ReadonlySet<string> };

/** The rules read from the text (src/core/check/text-rules.ts), handed in so the run does not depend on them. */
export interface TextRules {
  readonly findings: (migration: Migration, context: TextContext) => Promise<CheckFinding[]>;
  /** The tables after the migration, from its text: the next one's existing tables when no database can say. */
  readonly tablesAfter: (migration: Migration, context: TextContext) => Promise<ReadonlySet<string>>;
}

/**
 * The text findings of `fresh` (new migrations of `set`) without a database,
 * each given the tables the text of the migrations before it leaves: for
 * those a run could not reach, since the text rules need no run.
 */
export async function textFindingsWithoutDatabase(set: readonly Migration[], fresh: readonly Migration[], textRules: TextRules | undefined): Promise<Map<string, CheckFinding[]>> {
  const found = new Map<string, CheckFinding[]>();
  if (!textRules || fresh.length === 0) return found;
  const wanted = new Set(fresh.map((migration) => migration.fileName));
  let existingTables: ReadonlySet<string> = new Set();
  for (const migration of set) {
    if (wanted.has(migration.fileName)) found.set(migration.fileName, await textRules.findings(migration, { existingTables }));
    if (found.size === wanted.size) break;
    existingTables = await textRules.tablesAfter(migration, { existingTables });
  }
  return found;
}

export async function dumpText(sql: Sql): Promise<string> {
  return renderSnapshotText(await readSchema(sql));
}

function options(database: ScratchDatabase, migrations: readonly Migration[]) {
  return { sql: database.open(), connection: database.connection, migrations, log: silentLogger, waitMs: 10_000, lockWaitMs: 10_000, statementTimeoutMs: database.statementTimeoutMs };
}

export async function applyUpTo(database: ScratchDatabase, migrations: readonly Migration[]): Promise<void> {
  await migrateUp(options(database, migrations));
}

/** The part of a failure message that says where and what; the runner's advice about `up` does not fit a check. */
export function failureText(error: unknown): { line: number | null; text: string } {
  const message = error instanceof Error ? error.message : String(error);
  // Only the runner's own position: a "line 99" in the server's message (a RAISE's text) is not one.
  const line = /^Migration \S+ failed (?:in the statement )?at line (\d+), column \d+/.exec(message)?.[1];
  const core = /^(Migration \S+ failed[\s\S]*?\(SQLSTATE \w+\))/.exec(message)?.[1] ?? message;
  return { line: line === undefined ? null : Number(line), text: core };
}

/** The server's message when statement_timeout (check's --statement-timeout) stopped a statement. */
export const isStatementTimeout = (text: string): boolean => text.includes("canceling statement due to statement timeout");

export const STATEMENT_TIMEOUT_FIX =
  "A statement that runs this long on check's few rows holds its locks far longer on production's: make it cheaper (batch a backfill outside the migration, build an index CONCURRENTLY), or if it is meant to take this long, give check a longer --statement-timeout.";

const failed = (rule: string, migration: Migration, lead: string, error: unknown, fix: string): CheckFinding => {
  const { line, text } = failureText(error);
  if (isStatementTimeout(text)) return { rule: "statement-timeout", severity: "error", fileName: migration.fileName, line, message: `${lead}: ${text}`, fix: STATEMENT_TIMEOUT_FIX };
  return { rule, severity: "error", fileName: migration.fileName, line, message: `${lead}: ${text}`, fix };
};

const roundTripFix = "Make the down part undo exactly what the up part does (drop what it creates, in reverse order, with IF EXISTS), then check again.";

/**
 * Checks `fresh` (new migrations, in order) against the whole `set`. Stops at
 * the first migration that cannot be applied: nothing after it can be judged.
 */
export async function checkNewMigrations(server: CheckServer, set: readonly Migration[], fresh: readonly Migration[], textRules?: TextRules): Promise<MigrationCheck[]> {
  const results: MigrationCheck[] = [];
  const trip = await server.createDatabase();
  let stopped: string | null = null;
  let unreached: Map<string, CheckFinding[]> | null = null;
  // The dump after the last round trip, while nothing has been applied since: the next migration's "before".
  let known: KnownState | null = null;
  for (const migration of fresh) {
    if (stopped !== null) {
      unreached ??= await textFindingsWithoutDatabase(set, fresh.slice(results.length), textRules);
      const findings = unreached.get(migration.fileName) ?? [];
      results.push({ fileName: migration.fileName, transaction: migration.options.transaction, observations: [], roundTrip: "not run", findings, allowed: [], notes: [stopped] });
      continue;
    }
    const index = set.indexOf(migration);
    const result = await checkOne(server, trip, set.slice(0, index), migration, textRules, known?.through === index ? known.dump : null);
    results.push(result.check);
    known = result.known;
    if (result.stop) stopped = `not run: ${migration.fileName} before it could not be checked through (the rules from the text were applied)`;
  }
  return results;
}

interface KnownState {
  /** How many migrations of the set the trip database holds. */
  readonly through: number;
  readonly dump: string;
}

async function checkOne(
  server: CheckServer,
  trip: ScratchDatabase,
  before: readonly Migration[],
  migration: Migration,
  textRules: TextRules | undefined,
  knownBefore: string | null,
): Promise<{ check: MigrationCheck; stop: boolean; known: KnownState | null }> {
  const findings: CheckFinding[] = [];
  const notes: string[] = [];
  let roundTrip: RoundTrip = "not run";
  let observations: MigrationCheck["observations"] = [];
  const done = (stop: boolean, known: KnownState | null = null) => ({
    check: { fileName: migration.fileName, transaction: migration.options.transaction, observations, roundTrip, findings, allowed: [], notes },
    stop,
    known,
  });

  try {
    await applyUpTo(trip, before);
  } catch (error) {
    notes.push(`not run: the migrations before it do not apply (${failureText(error).text})`);
    return done(true);
  }
  const tables = await existingTables(trip.open());
  const beforeDump = knownBefore ?? (await dumpText(trip.open()));
  const fromText: CheckFinding[] = [];
  if (textRules) {
    const context = { existingTables: new Set(tables.map((table) => table.name)), validatedNotNull: await validatedNotNullChecks(trip.open()) };
    fromText.push(...(await textRules.findings(migration, context)));
  }

  const measurement = await measure(server, trip, migration, tables);
  observations = measurement.observations;
  notes.push(...measurement.notes);
  const measured = measuredFindings(migration.fileName, measurement.observations);
  findings.push(...withoutMeasuredTwice(fromText, measured), ...measured);
  findings.push(...refusedSampleRows(migration, measurement));
  if (measurement.failure !== null && isStatementTimeout(measurement.failure.message)) {
    // Applying it would only wait as long again for the same statement.
    const { line, excerpt, message } = measurement.failure;
    findings.push({ rule: "statement-timeout", severity: "error", fileName: migration.fileName, line, message: `${excerpt} was stopped by check's statement_timeout (${message}).`, fix: STATEMENT_TIMEOUT_FIX });
    notes.push("not applied: a statement ran longer than --statement-timeout, so the round trip was not run");
    return done(true);
  }

  try {
    await applyUpTo(trip, [...before, migration]);
  } catch (error) {
    const finding = failed("apply-failed", migration, "It does not apply on the schema of the migrations before it", error, "Fix the statement named; the line is in the file.");
    // The server gives no position for some errors (a missing column in ALTER TABLE); the measured run found the statement.
    findings.push(finding.line === null && measurement.failure !== null ? { ...finding, line: measurement.failure.line } : finding);
    return done(true);
  }
  if (measurement.failure !== null) {
    const { line, excerpt, message } = measurement.failure;
    findings.push({
      rule: "fails-with-rows",
      severity: "error",
      fileName: migration.fileName,
      line,
      message: `${excerpt} fails when the tables have rows (${message}), although it applies to the empty tables of a fresh database: production's tables have rows.`,
      fix: "Give new NOT NULL columns a default (or add them nullable, backfill, then SET NOT NULL after a validated CHECK), and make data changes work on existing rows.",
    });
  }
  const afterDump = await dumpText(trip.open());
  if (migration.down === null) {
    roundTrip = "no down part";
    findings.push({
      rule: "missing-down",
      severity: "warning",
      fileName: migration.fileName,
      line: null,
      message: "It has no down part, so st44-migrate down cannot roll it back (NO_DOWN_MIGRATION) and the round trip was not run.",
      fix: 'Add "-- migrate:down" and the SQL that undoes the up part (a deliberate no-op: a comment saying why).',
    });
    return done(false);
  }
  try {
    await migrateDown(options(trip, [...before, migration]), { kind: "steps", steps: 1 }, async () => {});
  } catch (error) {
    roundTrip = "failed";
    findings.push(failed("round-trip", migration, "Its down part fails", error, roundTripFix));
    return done(!isMigrateError(error) || !migration.downOptions.transaction);
  }
  const undone = schemaDifferences(beforeDump, await dumpText(trip.open()));
  // Reported before the re-apply, which a down part that leaves things behind often makes fail.
  if (undone.length > 0) {
    findings.push({ rule: "round-trip", severity: "error", fileName: migration.fileName, line: null, message: `Its down part does not restore the schema before it (- before, + after down): ${undone.join("; ")}.`, fix: roundTripFix });
  }
  try {
    await applyUpTo(trip, [...before, migration]);
  } catch (error) {
    roundTrip = "failed";
    findings.push(failed("round-trip", migration, "After its down part it does not apply again", error, roundTripFix));
    return done(true);
  }
  const againDump = await dumpText(trip.open());
  const again = schemaDifferences(afterDump, againDump);
  roundTrip = undone.length === 0 && again.length === 0 ? "ok" : "failed";
  if (again.length > 0) {
    findings.push({ rule: "round-trip", severity: "error", fileName: migration.fileName, line: null, message: `Applied again after its down part it leaves another schema than the first time (- first, + again): ${again.join("; ")}.`, fix: roundTripFix });
  }
  return done(false, { through: before.length + 1, dump: againDump });
}

/** A table the migration alters but whose sample row was refused was measured empty: a statement that fails only on rows went unseen. */
function refusedSampleRows(migration: Migration, measurement: Measurement): CheckFinding[] {
  return measurement.leftEmpty.flatMap(({ table, reason }) => {
    const line = lineAltering(migration, table);
    if (line === null) return [];
    return [{
      rule: "sample-rows-refused",
      severity: "warning" as const,
      fileName: migration.fileName,
      line,
      message: `${table} refused the generic sample row (${reason}), so the migration was measured on it empty: what it does to existing rows (a NOT NULL without a default, a failing validation, a rewrite) was not seen.`,
      fix: `Review the statement on ${table} as if the table had rows, or accept it for this migration: -- migrate:up allow:sample-rows-refused with the reason on the line below.`,
    }];
  });
}

/** In a rolled-back transaction on the trip database, or (transaction:false) in autocommit on a scratch copy of it. */
async function measure(server: CheckServer, trip: ScratchDatabase, migration: Migration, tables: Parameters<typeof measureMigration>[2]): Promise<Measurement> {
  if (migration.options.transaction) return measureMigration(trip.open(), migration, tables);
  await trip.close();
  const scratch = await server.createDatabase(trip);
  try {
    return await measureInAutocommit(scratch.open(), migration, tables);
  } finally {
    await scratch.close();
  }
}

/** A text rule and the measurement that saw the same thing happen (on the same line): the measurement says it, once. */
const MEASURED_AS: Readonly<Record<string, string>> = { "create-index-blocking": "index-not-concurrent", "alter-column-type": "table-rewrite" };

export function withoutMeasuredTwice(fromText: readonly CheckFinding[], measured: readonly CheckFinding[]): CheckFinding[] {
  const seen = new Set(measured.map((finding) => `${finding.rule} ${finding.line}`));
  return fromText.filter((finding) => !seen.has(`${MEASURED_AS[finding.rule] ?? ""} ${finding.line}`));
}
