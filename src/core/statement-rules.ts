/**
 * Statements a migration file may not hold, found before anything is sent:
 * two-phase commit (PREPARE TRANSACTION leaves a prepared transaction that
 * keeps the transaction-level migration lock after the session is gone;
 * COMMIT/ROLLBACK PREPARED act on someone else's) and COPY ... FROM STDIN
 * (the server waits for data the runner never sends, holding the lock).
 */
import { MigrateError } from "./errors.ts";
import { type SqlStatement, SqlTokenizer, Token, scanSql } from "./sql-lexer.ts";
import { locateInFile } from "./sql-position.ts";

export type RefusedKind = "PREPARE TRANSACTION" | "COMMIT PREPARED" | "ROLLBACK PREPARED" | "COPY FROM STDIN";

export interface RefusedStatement {
  /** Offset of the statement in the file text (the part's offset added). */
  readonly offset: number;
  readonly kind: RefusedKind;
  /** What to do instead, as a sentence. */
  readonly fix: string;
}

const TWO_PHASE_FIX =
  "Two-phase commit has no place in a migration: the runner commits each migration itself. Remove the statement; prepare and finish distributed transactions from the application.";

const WHY_AND_FIX: Record<RefusedKind, { why: string; fix: string }> = {
  "PREPARE TRANSACTION": {
    why: "would leave a prepared transaction behind that holds the migration lock (and its table locks) until someone runs COMMIT PREPARED by hand",
    fix: TWO_PHASE_FIX,
  },
  "COMMIT PREPARED": { why: "would finish a transaction prepared elsewhere, which no migration can know about", fix: TWO_PHASE_FIX },
  "ROLLBACK PREPARED": { why: "would undo a transaction prepared elsewhere, which no migration can know about", fix: TWO_PHASE_FIX },
  "COPY FROM STDIN": {
    why: "waits for data the runner never sends, so the migration would hang holding the migration lock",
    fix: "Load the data with INSERT ... VALUES, or with COPY ... FROM a file on the database server, or load it outside the migrations.",
  },
};

/**
 * The statement's tokens at parenthesis depth 0: words upper-cased, "(" for a
 * whole parenthesised group, "'" for a string constant, '"' for a quoted
 * identifier, other characters as they are. Only called for the few
 * statements whose first word asks for it.
 */
function topLevelTokens(sql: string, statement: SqlStatement): string[] {
  const tokens = new SqlTokenizer(sql, statement.start, statement.end);
  const found: string[] = [];
  let depth = 0;
  while (tokens.next()) {
    if (tokens.kind === Token.openParen && depth++ === 0) found.push("(");
    else if (tokens.kind === Token.closeParen && depth > 0) depth--;
    else if (depth > 0) continue;
    else if (tokens.kind === Token.word) found.push(tokens.word());
    else if (tokens.kind === Token.string) found.push("'");
    else if (tokens.kind === Token.quotedIdentifier) found.push('"');
    else found.push(sql.slice(tokens.start, tokens.end));
  }
  return found;
}

function followedBy(tokens: readonly string[], first: string, second: string): boolean {
  return tokens.some((token, index) => token === first && tokens[index + 1] === second);
}

function refusal(sql: string, statement: SqlStatement): RefusedKind | null {
  const [first, second] = statement.keywords;
  if ((first === "COMMIT" || first === "ROLLBACK") && second === "PREPARED") return `${first} PREPARED`;
  if (first === "PREPARE" && second === "TRANSACTION") {
    // PREPARE transaction AS ... (or with a parameter list) prepares a statement named "transaction".
    const third = topLevelTokens(sql, statement)[2];
    return third === "AS" || third === "(" ? null : "PREPARE TRANSACTION";
  }
  if (first === "COPY" && followedBy(topLevelTokens(sql, statement), "FROM", "STDIN")) return "COPY FROM STDIN";
  return null;
}

/** The statements of `sql` (a part of a file starting at `offset`) that a migration may not hold. */
export function refusedStatements(sql: string, offset: number): RefusedStatement[] {
  const refused: RefusedStatement[] = [];
  for (const statement of scanSql(sql).statements) {
    const kind = refusal(sql, statement);
    if (kind) refused.push({ offset: offset + statement.start, kind, fix: WHY_AND_FIX[kind].fix });
  }
  return refused;
}

/** COPY ... TO STDOUT: its rows come back as a result the runner has to expect. */
export function isCopyToStdout(sql: string, statement: SqlStatement): boolean {
  return statement.keywords[0] === "COPY" && followedBy(topLevelTokens(sql, statement), "TO", "STDOUT");
}

/** Throws STATEMENT_REFUSED, naming file, line and fix, when the up or down part holds a refused statement. */
export function assertNoRefusedStatements(migration: {
  readonly fileName: string;
  readonly text: string;
  readonly up: string;
  readonly upOffset: number;
  readonly down: string | null;
}): void {
  const { fileName, text, up, upOffset, down } = migration;
  const refused = refusedStatements(up, upOffset);
  if (down !== null) refused.push(...refusedStatements(down, text.length - down.length));
  const [first, ...rest] = refused;
  if (!first) return;
  const lineOf = (offset: number): number => locateInFile(text, offset, 1)?.line ?? 1;
  const others = rest.length === 0 ? "" : ` (and ${rest.length} more: ${rest.map((item) => `${item.kind} at line ${lineOf(item.offset)}`).join(", ")})`;
  throw new MigrateError(
    "STATEMENT_REFUSED",
    `${fileName}, line ${lineOf(first.offset)}: ${first.kind} ${WHY_AND_FIX[first.kind].why}${others}. Nothing was run. ${[...new Set(refused.map((item) => item.fix))].join(" ")}`,
  );
}
