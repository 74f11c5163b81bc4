/**
 * A statement splitter that understands PostgreSQL's lexical structure well
 * enough to find top-level semicolons: quoted strings ('' and E'' escapes),
 * quoted identifiers, dollar quotes with tags, line and nested block comments,
 * and BEGIN ATOMIC ... END bodies of SQL-standard functions (as psql does).
 * It never throws on bad input; unterminated constructs are reported.
 */

export interface SqlStatement {
  /** Offset of the first character that is not whitespace or a comment. */
  readonly start: number;
  /** Offset just past the statement's last character, before its `;`. */
  readonly end: number;
  /** Offset just past the terminating `;`, or `end` for a final statement without one. */
  readonly endWithTerminator: number;
  /** Upper-cased leading keywords (up to three), for classification. */
  readonly keywords: readonly string[];
}

export type Unterminated = "string" | "quoted identifier" | "dollar quote" | "block comment";

export interface ScanResult {
  readonly statements: readonly SqlStatement[];
  /** Set when input ends inside a construct; `offset` is where it opened. */
  readonly unterminated: { readonly kind: Unterminated; readonly offset: number } | null;
}

// Character classes by code unit: the scanner runs over every character of every file, where a regular expression per character costs several times more.
const isLetterOrUnderscore = (code: number): boolean => (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code >= 0x80;
const isIdentStartCode = (code: number): boolean => isLetterOrUnderscore(code);
const isIdentCharCode = (code: number): boolean => isLetterOrUnderscore(code) || (code >= 48 && code <= 57) || code === 36;
/** \s of a regular expression, for the characters SQL text holds: space, \t \n \v \f \r, NBSP, and the Unicode spaces. */
const isSpaceCode = (code: number): boolean =>
  code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || (code >= 0x80 && /\s/.test(String.fromCharCode(code)));
const isIdentChar = (ch: string): boolean => ch !== "" && isIdentCharCode(ch.charCodeAt(0));
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * Where a quoted string or identifier that starts before `from` ends (just
 * past its closing quote), or -1 when it never does. A doubled quote is an
 * escaped quote; E'' strings also escape with a backslash.
 */
function closingQuote(text: string, from: number, quote: string, backslashEscapes: boolean): number {
  let index = from;
  while (index < text.length) {
    const c = text.charAt(index);
    if (backslashEscapes && c === "\\") index += 2;
    else if (c !== quote) index++;
    else if (text.charAt(index + 1) === quote) index += 2;
    else return index + 1;
  }
  return -1;
}

export function scanSql(text: string): ScanResult {
  const statements: SqlStatement[] = [];
  let statementStart = -1;
  let keywords: string[] = [];
  let blockDepth = 0; // BEGIN ... END depth inside CREATE FUNCTION/PROCEDURE bodies
  let parenDepth = 0; // "begin" inside parentheses is a parameter or column name, not a block
  let unterminated: ScanResult["unterminated"] = null;

  // CREATE [OR REPLACE] FUNCTION|PROCEDURE: decided once per statement, when its keywords arrive.
  let routine = false;
  const isRoutineDefinition = (): boolean => {
    const words = keywords.filter((word) => word !== "OR" && word !== "REPLACE");
    return words[0] === "CREATE" && (words[1] === "FUNCTION" || words[1] === "PROCEDURE");
  };
  const finish = (end: number, endWithTerminator: number): void => {
    if (statementStart !== -1) {
      let trimmedEnd = end;
      while (trimmedEnd > statementStart && isSpaceCode(text.charCodeAt(trimmedEnd - 1))) trimmedEnd--;
      statements.push({ start: statementStart, end: trimmedEnd, endWithTerminator, keywords: keywords.slice(0, 3) });
    }
    statementStart = -1;
    keywords = [];
    routine = false;
    blockDepth = 0;
    parenDepth = 0;
  };
  const markStart = (offset: number): void => {
    if (statementStart === -1) statementStart = offset;
  };

  let index = 0;
  const length = text.length;
  let lastContentEnd = 0;
  while (index < length) {
    const ch = text.charAt(index);
    const next = text.charAt(index + 1);

    if (ch === "-" && next === "-") {
      const newline = text.indexOf("\n", index);
      index = newline === -1 ? length : newline + 1;
      continue;
    }
    if (ch === "/" && next === "*") {
      const opened = index;
      let depth = 1;
      index += 2;
      while (index < length && depth > 0) {
        if (text.startsWith("/*", index)) {
          depth++;
          index += 2;
        } else if (text.startsWith("*/", index)) {
          depth--;
          index += 2;
        } else index++;
      }
      if (depth > 0) {
        unterminated = { kind: "block comment", offset: opened };
        break;
      }
      continue;
    }
    if (isSpaceCode(ch.charCodeAt(0))) {
      index++;
      continue;
    }
    if (ch === ";") {
      if (blockDepth > 0) {
        index++;
        continue;
      }
      finish(index, index + 1);
      index++;
      continue;
    }

    markStart(index);
    const isEscapeString = (ch === "E" || ch === "e") && next === "'" && !isIdentChar(text.charAt(index - 1));
    if (ch === "'" || ch === '"' || isEscapeString) {
      const quote = isEscapeString ? "'" : ch;
      const closedAt = closingQuote(text, index + (isEscapeString ? 2 : 1), quote, isEscapeString);
      if (closedAt === -1) {
        unterminated = { kind: quote === '"' ? "quoted identifier" : "string", offset: index };
        break;
      }
      index = closedAt;
      lastContentEnd = index;
      continue;
    }
    if (ch === "$" && !isIdentChar(text.charAt(index - 1))) {
      const tag = DOLLAR_TAG.exec(text.slice(index, index + 256));
      if (tag) {
        const delimiter = tag[0];
        const close = text.indexOf(delimiter, index + delimiter.length);
        if (close === -1) {
          unterminated = { kind: "dollar quote", offset: index };
          break;
        }
        index = close + delimiter.length;
        lastContentEnd = index;
        continue;
      }
    }
    if (isIdentStartCode(ch.charCodeAt(0))) {
      let end = index + 1;
      while (end < length && isIdentCharCode(text.charCodeAt(end))) end++;
      // Only a statement's first words and a routine body's BEGIN/CASE/END matter: the rest are not copied.
      if (keywords.length < 6) {
        keywords.push(text.slice(index, end).toUpperCase());
        routine = isRoutineDefinition();
      }
      if (parenDepth === 0 && routine && end - index <= 5) {
        const word = text.slice(index, end).toUpperCase();
        if (word === "BEGIN" || word === "CASE") blockDepth++;
        else if (word === "END" && blockDepth > 0) blockDepth--;
      }
      index = end;
      lastContentEnd = index;
      continue;
    }
    if (ch === "(") parenDepth++;
    else if (ch === ")" && parenDepth > 0) parenDepth--;
    index++;
    lastContentEnd = index;
  }
  if (unterminated === null) finish(Math.max(lastContentEnd, statementStart), Math.max(lastContentEnd, statementStart));
  else if (statementStart !== -1) finish(length, length);
  return { statements, unterminated };
}

/** BEGIN, START TRANSACTION, COMMIT and END (as statements) end or open a transaction. */
export function isTransactionControl(statement: SqlStatement): boolean {
  const [first, second] = statement.keywords;
  if (first === "BEGIN" || first === "COMMIT" || first === "END") return second !== "ATOMIC";
  return first === "START" && second === "TRANSACTION";
}

/**
 * Replaces the file's own top-level BEGIN/COMMIT statements with spaces (one
 * per character), so the rest runs inside the runner's transaction and the
 * server's error positions, counted in characters, still point into the
 * original text.
 */
export function blankTransactionControl(sql: string): { text: string; blanked: number; unterminated: ScanResult["unterminated"] } {
  const { statements, unterminated } = scanSql(sql);
  let text = sql;
  let blanked = 0;
  // Last to first, so earlier offsets stay valid; one space per code point, as the server counts.
  for (const statement of [...statements].reverse()) {
    if (!isTransactionControl(statement)) continue;
    const span = text.slice(statement.start, statement.endWithTerminator);
    text = text.slice(0, statement.start) + span.replace(/[^\n]/gu, " ") + text.slice(statement.endWithTerminator);
    blanked++;
  }
  return { text, blanked, unterminated };
}
