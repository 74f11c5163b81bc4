/**
 * The rules of `st44-migrate check` that a run cannot see, read from
 * PostgreSQL's parse tree of each new migration: what will lock or rewrite a
 * table that has rows and readers, what breaks the release still running,
 * and what fails at run time. Only tables that existed before the migration
 * count: a table created in the same migration has no rows and no readers.
 */
import type { Migration } from "../migration-set.ts";
import type { CheckFinding, CheckSeverity } from "./finding.ts";
import { type LocatedStatement, type Node, type ParseOutcome, codePointOffsetToIndex, lineFinder, locateStatements } from "./parsed-sql.ts";
import { AlterTableRules, type Report, tableRuleFindings } from "./table-rules.ts";
import { TableState } from "./table-state.ts";
import { isTransactionBoundary, needsTransaction, refusesTransaction } from "./transaction-rules.ts";

export interface TextRuleContext {
  /** Schema-qualified names (`public.users`) of the tables that exist before this migration. */
  readonly existingTables: ReadonlySet<string>;
  /**
   * `public.users.email` for each validated `CHECK (email IS NOT NULL)` the
   * database holds before this migration: the proof SET NOT NULL needs, made
   * by an earlier migration that this file's text does not show.
   */
  readonly validatedNotNull?: ReadonlySet<string>;
}

/** The findings of one migration, given the parser's outcome for its up part. */
export function textRuleFindingsFromParse(migration: Migration, parsed: ParseOutcome, context: TextRuleContext): CheckFinding[] {
  return analyse(migration, parsed, context).findings;
}

/**
 * The tables (schema-qualified) after the migration: the existing ones, with
 * its creations, renames and drops; what the next migration's existingTables
 * is when no database says. Unchanged when the text cannot be parsed.
 */
export function tablesAfterFromParse(migration: Migration, parsed: ParseOutcome, context: TextRuleContext): ReadonlySet<string> {
  return analyse(migration, parsed, context).tablesAfter;
}

function analyse(migration: Migration, parsed: ParseOutcome, context: TextRuleContext): { findings: CheckFinding[]; tablesAfter: ReadonlySet<string> } {
  const findings: CheckFinding[] = [];
  const report: Report = (rule, severity, line, message, fix) => findings.push({ rule, severity, fileName: migration.fileName, line, message, fix });
  if (!parsed.ok) {
    reportUnparsable(migration, parsed, report);
    return { findings, tablesAfter: context.existingTables };
  }
  const statements = locateStatements(migration.text, migration.up, migration.upOffset, parsed.tree);
  const tables = new TableState(context.existingTables);
  const alterTable = new AlterTableRules(migration, tables, report, context.validatedNotNull);
  for (const statement of statements) tableRuleFindings(statement, tables, alterTable, report);
  transactionFindings(migration, statements, report);
  return { findings: findings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)), tablesAfter: tables.after() };
}

function reportUnparsable(migration: Migration, parsed: Extract<ParseOutcome, { ok: false }>, report: Report): void {
  const index = migration.upOffset + codePointOffsetToIndex(migration.up, parsed.cursorPosition);
  report(
    "unparsable-sql",
    "error",
    lineFinder(migration.text)(index),
    `PostgreSQL's parser stops here: ${parsed.message}, so none of the text rules could look at this migration.`,
    "Correct the SQL (running it against a scratch database shows the same error with its position).",
  );
}

const NEEDS_TRANSACTION_FIX: Readonly<Record<string, string>> = {
  "LOCK TABLE": "Outside a transaction no lock outlives its statement: move the statements the lock protects into a transactional migration (no transaction:false), or drop the LOCK TABLE (CONCURRENTLY statements take the locks they need).",
  "SET LOCAL": "Use a plain SET, and RESET it at the end of the part (the runner's connection is reused), or move the statements into a transactional migration.",
  "SET TRANSACTION": "Outside a transaction SET TRANSACTION does nothing: drop it, or move the statements into a transactional migration.",
};

function transactionFindings(migration: Migration, statements: readonly LocatedStatement[], report: Report): void {
  if (migration.options.transaction) {
    for (const { node, line } of statements) {
      const refused = refusesTransaction(node);
      if (refused === null) continue;
      report(
        "refuses-transaction",
        "error",
        line,
        `${refused} cannot run inside a transaction block, and this migration runs in one: PostgreSQL refuses it (error 25001) when the migration is applied.`,
        `Move the statement into a migration of its own whose up marker is "-- migrate:up transaction:false".`,
      );
    }
    return;
  }
  for (const { node, line } of statements) {
    const needed = needsTransaction(node);
    if (needed === null) continue;
    report(
      "needs-transaction",
      "error",
      line,
      `${needed} only works inside a transaction block, but this migration runs outside one (transaction:false): it fails, or for SET LOCAL and SET TRANSACTION silently does nothing.`,
      NEEDS_TRANSACTION_FIX[needed] ?? "Move this statement, and the statements it belongs with, into a transactional migration (no transaction:false on its up marker).",
    );
  }
  if (statements.length < 2 || statements.some(({ node }) => isTransactionBoundary(node))) return;
  const others = statements.filter(({ node }) => refusesTransaction(node) === null);
  const first = others[0];
  if (!first) return;
  const needsOutside = statements.length - others.length;
  report(
    "non-atomic-migration",
    "warning",
    first.line,
    needsOutside === 0
      ? `This migration runs outside a transaction (transaction:false) though none of its ${statements.length} statements needs to: if one fails, those before it stay applied and the migration is not recorded.`
      : `This migration runs outside a transaction (transaction:false) for its CONCURRENTLY-style statement, but holds ${others.length} other statement(s) that then lose their all-or-nothing: a failure between them leaves the migration half applied and unrecorded.`,
    needsOutside === 0
      ? `Remove transaction:false from the up marker.`
      : `Give the statement that refuses a transaction a migration of its own with transaction:false, and keep the other statements in an ordinary (transactional) migration.`,
  );
}

export type { CheckFinding, CheckSeverity, Node };
