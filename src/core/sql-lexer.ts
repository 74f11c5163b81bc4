/**
 * A statement splitter that understands PostgreSQL's lexical structure well
 * enough to find top-level semicolons, as psql does: quoted strings ('' and
 * E'' escapes), quoted identifiers, dollar quotes with tags of any length,
 * line and nested block comments, parentheses (a rule's action list), and the
 * BEGIN ATOMIC ... END bodies of SQL-standard functions. `begin` anywhere else
 * is a name. It never throws on bad input; unterminated constructs are reported.
 * test/unit/sql-lexer-vs-parser.test.ts holds it against PostgreSQL's parser.
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
const isDigit = (code: number): boolean => code >= 48 && code <= 57;
const isIdentCharCode = (code: number): boolean => isLetterOrUnderscore(code) || isDigit(code) || code === 36;
/** A dollar-quote tag has no `$` and no leading digit (PostgreSQL's dolq_start / dolq_cont). */
const isTagCharCode = (code: number): boolean => isLetterOrUnderscore(code) || isDigit(code);
/** \s of a regular expression, for the characters SQL text holds: space, \t \n \v \f \r, NBSP, and the Unicode spaces. */
const isSpaceCode = (code: number): boolean =>
  code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || (code >= 0x80 && /\s/.test(String.fromCharCode(code)));

const SINGLE_QUOTE = 39;
const DOUBLE_QUOTE = 34;
const DOLLAR = 36;

/** What the last token read by a SqlTokenizer was. */
export const Token = {
  end: 0,
  word: 1,
  /** '...', E'...' or $tag$...$tag$: a string constant. */
  string: 2,
  quotedIdentifier: 3,
  semicolon: 4,
  openParen: 5,
  closeParen: 6,
  dot: 7,
  /** A number, a parameter, an operator character, anything else. */
  other: 8,
} as const;
export type Token = (typeof Token)[keyof typeof Token];

/**
 * Reads `text` token by token, skipping whitespace and comments. One mutable
 * object instead of one allocation per token: it reads every file on every start.
 */
export class SqlTokenizer {
  kind: Token = Token.end;
  start = 0;
  end = 0;
  unterminated: ScanResult["unterminated"] = null;
  private position: number;

  constructor(
    private readonly text: string,
    from = 0,
    private readonly limit = text.length,
  ) {
    this.position = from;
  }

  /** The current word, upper-cased. */
  word(): string {
    return this.text.slice(this.start, this.end).toUpperCase();
  }

  /** Whether the current word is `upper` (given in upper case), without copying it. */
  isWord(upper: string): boolean {
    if (this.kind !== Token.word || this.end - this.start !== upper.length) return false;
    for (let index = 0; index < upper.length; index++) {
      if ((this.text.charCodeAt(this.start + index) & ~32) !== upper.charCodeAt(index)) return false;
    }
    return true;
  }

  /** Advances to the next token; false at the end of input or of an unterminated construct. */
  next(): boolean {
    const { text, limit } = this;
    let index = this.position;
    while (index < limit) {
      const code = text.charCodeAt(index);
      const nextCode = text.charCodeAt(index + 1);
      if (code === 45 && nextCode === 45) {
        const newline = text.indexOf("\n", index);
        index = newline === -1 || newline >= limit ? limit : newline + 1;
      } else if (code === 47 && nextCode === 42) {
        const closed = closingComment(text, index, limit);
        if (closed === -1) return this.fail("block comment", index);
        index = closed;
      } else if (isSpaceCode(code)) index++;
      else break;
    }
    this.start = index;
    if (index >= limit) {
      this.kind = Token.end;
      this.end = this.position = limit;
      return false;
    }
    const code = text.charCodeAt(index);
    let end = index + 1;
    let kind: Token = Token.other;
    if (code === SINGLE_QUOTE || code === DOUBLE_QUOTE) {
      end = closingQuote(text, index + 1, limit, code, false);
      if (end === -1) return this.fail(code === DOUBLE_QUOTE ? "quoted identifier" : "string", index);
      kind = code === DOUBLE_QUOTE ? Token.quotedIdentifier : Token.string;
    } else if (isLetterOrUnderscore(code)) {
      while (end < limit && isIdentCharCode(text.charCodeAt(end))) end++;
      kind = Token.word;
      if (end === index + 1 && (code === 69 || code === 101) && text.charCodeAt(end) === SINGLE_QUOTE) {
        end = closingQuote(text, end + 1, limit, SINGLE_QUOTE, true);
        if (end === -1) return this.fail("string", index);
        kind = Token.string;
      }
    } else if (code === DOLLAR) {
      const tagEnd = dollarTagEnd(text, index, limit);
      if (tagEnd !== -1) {
        const close = text.indexOf(text.slice(index, tagEnd), tagEnd);
        if (close === -1 || close + (tagEnd - index) > limit) return this.fail("dollar quote", index);
        end = close + (tagEnd - index);
        kind = Token.string;
      } else while (end < limit && isDigit(text.charCodeAt(end))) end++;
    } else if (isDigit(code)) {
      // A number and whatever sticks to it (1.5e3, 0x1F, 1_000): never a string, a dollar quote or a keyword.
      while (end < limit && (isIdentCharCode(text.charCodeAt(end)) || (text.charCodeAt(end) === 46 && isDigit(text.charCodeAt(end + 1))))) end++;
    } else if (code === 59) kind = Token.semicolon;
    else if (code === 40) kind = Token.openParen;
    else if (code === 41) kind = Token.closeParen;
    else if (code === 46 && !isDigit(text.charCodeAt(end))) kind = Token.dot;
    this.kind = kind;
    this.end = this.position = end;
    return true;
  }

  private fail(kind: Unterminated, offset: number): false {
    this.unterminated = { kind, offset };
    this.kind = Token.end;
    this.start = offset;
    this.end = this.position = this.limit;
    return false;
  }
}

/** Just past the `*\/` that closes the (nested) block comment opening at `from`, or -1. */
function closingComment(text: string, from: number, limit: number): number {
  let depth = 1;
  let index = from + 2;
  while (index < limit) {
    const code = text.charCodeAt(index);
    if (code === 47 && text.charCodeAt(index + 1) === 42) {
      depth++;
      index += 2;
    } else if (code === 42 && text.charCodeAt(index + 1) === 47) {
      index += 2;
      if (--depth === 0) return index;
    } else index++;
  }
  return -1;
}

/**
 * Just past the closing quote of a string or identifier whose body starts at
 * `from`, or -1 when it never closes. A doubled quote is an escaped quote;
 * E'' strings also escape with a backslash.
 */
function closingQuote(text: string, from: number, limit: number, quote: number, backslashEscapes: boolean): number {
  let index = from;
  while (index < limit) {
    const code = text.charCodeAt(index);
    if (backslashEscapes && code === 92) index += 2;
    else if (code !== quote) index++;
    else if (text.charCodeAt(index + 1) === quote && index + 1 < limit) index += 2;
    else return index + 1;
  }
  return -1;
}

/** Just past the opening `$tag$` at `from` (any length), or -1 when this `$` opens no dollar quote. */
function dollarTagEnd(text: string, from: number, limit: number): number {
  let index = from + 1;
  if (index < limit && text.charCodeAt(index) !== DOLLAR) {
    if (!isLetterOrUnderscore(text.charCodeAt(index))) return -1;
    while (index < limit && isTagCharCode(text.charCodeAt(index))) index++;
  }
  return index < limit && text.charCodeAt(index) === DOLLAR ? index + 1 : -1;
}

const KEYWORDS_KEPT = 3;

export function scanSql(text: string): ScanResult {
  const statements: SqlStatement[] = [];
  const tokens = new SqlTokenizer(text);
  let statementStart = -1;
  let lastEnd = 0;
  let keywords: string[] = [];
  // The words that decide CREATE [OR REPLACE] FUNCTION|PROCEDURE, and whether they did.
  let leadingWords = 0;
  let routine = false;
  let parenDepth = 0;
  // Inside BEGIN ATOMIC ... END: 1 for the body, +1 per CASE (which also closes with END).
  let bodyDepth = 0;
  let previousWasBegin = false;
  let previousWasDot = false;

  const finish = (end: number, endWithTerminator: number): void => {
    if (statementStart !== -1) statements.push({ start: statementStart, end, endWithTerminator, keywords });
    statementStart = -1;
    keywords = [];
    leadingWords = 0;
    routine = false;
    parenDepth = 0;
    bodyDepth = 0;
  };

  while (tokens.next()) {
    const kind = tokens.kind;
    if (kind === Token.semicolon) {
      previousWasBegin = previousWasDot = false;
      if (parenDepth === 0 && bodyDepth === 0) {
        // Up to the `;`, comments included (as the server's stmt_len), whitespace not.
        let end = tokens.start;
        while (end > statementStart && isSpaceCode(text.charCodeAt(end - 1))) end--;
        finish(end, tokens.end);
      } else lastEnd = tokens.end;
      continue;
    }
    if (statementStart === -1) statementStart = tokens.start;
    lastEnd = tokens.end;
    if (kind === Token.word) {
      if (leadingWords < 4) {
        const word = tokens.word();
        if (keywords.length < KEYWORDS_KEPT) keywords.push(word);
        if (word !== "OR" && word !== "REPLACE") {
          leadingWords++;
          if (leadingWords === 1) routine = word === "CREATE";
          else if (leadingWords === 2) routine = routine && (word === "FUNCTION" || word === "PROCEDURE");
        }
      }
      // A name after a dot may be any word (t.begin, t.end); BEGIN counts only when ATOMIC follows.
      if (routine && parenDepth === 0 && !previousWasDot) {
        if (bodyDepth === 0) {
          if (previousWasBegin && tokens.isWord("ATOMIC")) bodyDepth = 1;
          previousWasBegin = tokens.isWord("BEGIN");
        } else if (tokens.isWord("CASE")) bodyDepth++;
        else if (tokens.isWord("END")) bodyDepth--;
      } else previousWasBegin = false;
      previousWasDot = false;
      continue;
    }
    previousWasBegin = false;
    previousWasDot = kind === Token.dot;
    if (kind === Token.openParen) parenDepth++;
    else if (kind === Token.closeParen && parenDepth > 0) parenDepth--;
  }
  const { unterminated } = tokens;
  if (unterminated === null) finish(lastEnd, lastEnd);
  else {
    // The unclosed quote or comment runs to the end of the input, as the server would read it.
    if (statementStart === -1 && unterminated.kind !== "block comment") statementStart = unterminated.offset;
    finish(text.length, text.length);
  }
  return { statements, unterminated };
}

/**
 * BEGIN, START TRANSACTION, COMMIT and END (as statements) end or open a
 * transaction. COMMIT PREPARED finishes another, prepared transaction: it is
 * refused (statement-rules.ts), never blanked.
 */
export function isTransactionControl(statement: SqlStatement): boolean {
  const [first, second] = statement.keywords;
  if (first === "BEGIN") return second !== "ATOMIC";
  if (first === "COMMIT") return second !== "PREPARED";
  if (first === "END") return true;
  return first === "START" && second === "TRANSACTION";
}

/**
 * Replaces the file's own top-level BEGIN/COMMIT statements with spaces (one
 * per code point, newlines kept), so the rest runs inside the runner's
 * transaction and the server's error positions, counted in characters, and
 * line numbers still point into the original text. One pass: the pieces are
 * joined once.
 */
export function blankTransactionControl(sql: string): { text: string; blanked: number; unterminated: ScanResult["unterminated"] } {
  const { statements, unterminated } = scanSql(sql);
  const pieces: string[] = [];
  let copiedUpTo = 0;
  for (const statement of statements) {
    if (!isTransactionControl(statement)) continue;
    pieces.push(sql.slice(copiedUpTo, statement.start), blank(sql.slice(statement.start, statement.endWithTerminator)));
    copiedUpTo = statement.endWithTerminator;
  }
  if (pieces.length === 0) return { text: sql, blanked: 0, unterminated };
  pieces.push(sql.slice(copiedUpTo));
  return { text: pieces.join(""), blanked: (pieces.length - 1) / 2, unterminated };
}

const NEEDS_CAREFUL_BLANKING = /[\n\ud800-\udfff]/;

function blank(span: string): string {
  // Most spans are a one-line BEGIN; or COMMIT;, with no newline to keep and no surrogate pair to count as one.
  return NEEDS_CAREFUL_BLANKING.test(span) ? span.replace(/[^\n]/gu, " ") : " ".repeat(span.length);
}
