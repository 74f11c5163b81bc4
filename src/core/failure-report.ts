import { MigrateError } from "./errors.ts";
import type { Migration } from "./migration-set.ts";
import type { ScanResult } from "./sql-lexer.ts";
import { type SourcePosition, clipText, excerptAround, locateInFile } from "./sql-position.ts";

/** A session that blocks the migration, as pg_stat_activity shows it. */
export interface Blocker {
  readonly pid: number;
  readonly application_name: string;
  readonly state: string | null;
  readonly xact_seconds: number | null;
  readonly query: string | null;
}

export function describeBlockers(blockers: readonly Blocker[]): string {
  return blockers
    .map((blocker) => {
      const app = blocker.application_name ? `application "${blocker.application_name}", ` : "";
      const age = blocker.xact_seconds === null ? "" : ` for ${blocker.xact_seconds} s`;
      const query = blocker.query ? `; last query: ${blocker.query.replace(/\s+/g, " ").trim()}` : "";
      return `pid ${blocker.pid} (${app}${blocker.state ?? "unknown state"}${age}${query})`;
    })
    .join(", ");
}

/** The text an error position points into: a file, or down SQL stored in the tracking table. */
export interface SqlSource {
  readonly fileName: string;
  readonly text: string;
}

/** The fields of a server error that the report uses (a PostgresError has them all). */
export interface ServerError {
  readonly code?: string;
  readonly message?: string;
  readonly position?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly where?: string;
}

/** How many steps of this run came before the failing one, and how many follow. */
export interface StepProgress {
  readonly before: number;
  readonly after: number;
}

/** What a failure leaves behind, in words: the step itself, and the steps before and after it. */
export interface FailureOutcome {
  readonly step: string;
  readonly before: string;
  readonly after: string;
  /** After a lost connection: what to do, when the step's outcome was looked up (the default assumes a rollback). */
  readonly afterLoss?: string;
}

export const outcomes = {
  /** A migration in one transaction: the server rolled all of it back. */
  rolledBack: (fileName: string): FailureOutcome => ({
    step: `Nothing of ${fileName} was applied (rolled back)`,
    before: "before it in this run were applied",
    after: "after it were not run",
  }),
  /** The connection broke after our COMMIT was sent; a new connection found the row with this file's checksum. */
  appliedDespiteLoss: (fileName: string): FailureOutcome => ({
    step: `The outcome was unknown when the connection broke (our COMMIT had been sent), so st44-migrate looked on a new connection: ${fileName} WAS applied and recorded (its tracking row is there with this file's checksum)`,
    before: "before it in this run were applied",
    after: "after it were not run",
    afterLoss: " Check the server, then run st44-migrate again to apply the rest.",
  }),
  /** The connection broke after our COMMIT was sent; its session is gone and there is no row. */
  notAppliedAfterLoss: (fileName: string): FailureOutcome => ({
    step: `The outcome was unknown when the connection broke (our COMMIT had been sent), so st44-migrate looked on a new connection: the migration's session has ended and ${fileName} has no tracking row, so nothing of it was applied (the server rolled it back)`,
    before: "before it in this run were applied",
    after: "after it were not run",
    afterLoss: " Check the server, then run st44-migrate again.",
  }),
  /** The connection broke after our COMMIT was sent, and no new connection could tell. */
  unknownAfterLoss: (fileName: string, checkedMs: number): FailureOutcome => ({
    step: `OUTCOME UNKNOWN: the connection broke after ${fileName} and our COMMIT were sent, and no new connection within ${checkedMs / 1000} s could tell whether it was committed`,
    before: "before it in this run were applied",
    after: "after it were not run",
    afterLoss: ` Once the server answers, run st44-migrate status: ${fileName} "applied" means it was committed with its row, "pending" that it was rolled back; then run st44-migrate again.`,
  }),
  /** transaction:false: what ran before the failing statement stays. */
  partlyApplied: (fileName: string): FailureOutcome => ({
    step: `${fileName} runs outside a transaction (transaction:false), so the statements before the failing one stay applied and it is not recorded; make its statements safe to repeat (IF NOT EXISTS) before running again`,
    before: "before it in this run were applied",
    after: "after it were not run",
  }),
  /** One step of down. */
  rollbackStepUndone: (): FailureOutcome => ({
    step: "Nothing of this rollback step was undone (rolled back) and the migration stays applied",
    before: "were rolled back before it",
    after: "after it were not",
  }),
} as const;

export interface FailureFacts {
  readonly source: SqlSource;
  /** Where the query text the server saw starts in `source.text`. */
  readonly queryOffset: number;
  /** The server's position, already relative to the text at queryOffset; null when it points elsewhere or is absent. */
  readonly position: number | null;
  /** The position is the failing statement's start, not the server's (which gave none). */
  readonly statementOnly?: boolean;
  readonly outcome: FailureOutcome;
  readonly progress: StepProgress;
  readonly connectionLost: boolean;
  readonly blockers?: readonly Blocker[];
  readonly invalidIndexes?: readonly string[];
  /** Secrets to cut out before any text is shortened (a cut through a password would show part of it). */
  readonly secrets?: readonly string[];
  /** The migration's version, when the failed step applied it (up): what a fix may name. */
  readonly version?: string;
}

/** The place in a file, as compilers show it: file:line:column, the line, a caret under the column. */
export function pointAt(fileName: string, position: SourcePosition, secrets: readonly string[] = []): string[] {
  const gutter = String(position.line).length;
  const excerpt = excerptAround(position.lineText, position.column, undefined, secrets);
  return [
    `  --> ${fileName}:${position.line}:${position.column}`,
    `  ${String(position.line)} | ${excerpt.text}`,
    `  ${" ".repeat(gutter)} | ${" ".repeat(Math.max(excerpt.column - 1, 0))}^`,
  ];
}

/** duplicate_table, duplicate_column, duplicate_object, duplicate_schema, duplicate_function, duplicate_database. */
const ALREADY_EXISTS = new Set(["42P07", "42701", "42710", "42P06", "42723", "42P04"]);

/** The report of a failed step: file, line and column, the failing line, and the server's message, code, detail and hint. */
export function migrationFailure(error: unknown, facts: FailureFacts): MigrateError {
  if (error instanceof MigrateError) return error;
  const server = error as ServerError;
  const { source, outcome, progress } = facts;
  const secrets = facts.secrets ?? [];
  const details: string[] = [];
  const position = facts.position === null ? null : locateInFile(source.text, facts.queryOffset, facts.position);
  let at = "";
  if (position) {
    at = facts.statementOnly ? ` in the statement at line ${position.line}, column ${position.column}` : ` at line ${position.line}, column ${position.column}`;
    details.push(...pointAt(source.fileName, position, secrets));
  }
  if (server.detail) details.push(`  detail: ${clipText(server.detail, undefined, secrets)}`);
  if (server.hint) details.push(`  hint: ${clipText(server.hint, undefined, secrets)}`);
  if (server.where) details.push(`  context: ${clipText(server.where, undefined, secrets)}`);
  const blockers = facts.blockers ?? [];
  if (blockers.length > 0) details.push(`  blocked by: ${describeBlockers(blockers)}`);
  const invalid = facts.invalidIndexes ?? [];
  for (const index of invalid) {
    details.push(`  left behind: index ${index} is INVALID (a failed CREATE INDEX CONCURRENTLY); remove it with DROP INDEX CONCURRENTLY IF EXISTS ${index}; before running again`);
  }
  const sqlstate = server.code ? ` (SQLSTATE ${server.code})` : "";
  const progressText = `; ${progress.before} migration(s) ${outcome.before} and ${progress.after} ${outcome.after}.`;
  const fix = facts.connectionLost
    ? ` The connection to the database was lost.${outcome.afterLoss ?? " The server rolls back an unfinished transaction: check the server, then run st44-migrate again."}`
    : server.code === "55P03"
      ? ` It waited longer than lock_timeout for a table lock held by ${blockers.length > 0 ? describeBlockers(blockers) : "other sessions (see pg_locks and pg_stat_activity)"}; retry when the application is quieter, raise --lock-timeout, or use --lock-retries.`
      : invalid.length > 0
        ? ` Drop the INVALID index${invalid.length > 1 ? "es" : ""} listed below, fix the file, and run st44-migrate up again.`
        : facts.version !== undefined && ALREADY_EXISTS.has(server.code ?? "")
          ? ` What it creates exists already. If the database has this migration's changes (it ran once without being recorded, as legacy runners left it), record it without running it: st44-migrate mark-applied ${facts.version}; otherwise make the file safe to repeat (IF NOT EXISTS) and run st44-migrate up again.`
          : " Fix the SQL in the file and run st44-migrate up again.";
  return new MigrateError("MIGRATION_FAILED", `Migration ${source.fileName} failed${at}: ${clipText(server.message ?? String(error), undefined, secrets)}${sqlstate}. ${outcome.step}${progressText}${fix}`, {
    details,
    cause: error,
  });
}

/** The server's error position as a number, or null (runtime errors such as 1/0 have none). */
export function serverPosition(error: unknown): number | null {
  const raw = Number((error as ServerError).position);
  return Number.isInteger(raw) && raw > 0 ? raw : null;
}

/** Refuses, before sending anything, a file whose quote, identifier, dollar quote or comment never closes. */
export function assertTerminated(migration: Migration, unterminated: ScanResult["unterminated"], secrets: readonly string[] = []): void {
  if (unterminated === null) return;
  const position = locateInFile(migration.text, migration.upOffset + unterminated.offset, 1);
  throw new MigrateError(
    "MIGRATION_FAILED",
    `Migration ${migration.fileName} has an unterminated ${unterminated.kind}${position ? ` starting at line ${position.line}, column ${position.column}` : ""}: it never closes, so the server would read the rest of the file as part of it. Nothing of ${migration.fileName} was run. Close it and run st44-migrate up again.`,
    { details: position ? pointAt(migration.fileName, position, secrets) : [] },
  );
}

