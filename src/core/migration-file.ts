import { MigrateError } from "./errors.ts";
import { MIGRATION_NAME_PATTERN } from "./migration-name.ts";

/** Options that may follow either marker (dbmate's syntax: `key:value`). */
export interface PartOptions {
  /** false runs the statements one by one outside a transaction. */
  readonly transaction: boolean;
}

/** A version and name this migration had in an older folder (`formerly:040_add_user_name_fields`). */
export interface FormerIdentity {
  readonly version: string;
  readonly name: string;
}

/** Options of `-- migrate:up`: those of any part, plus the identities a renumbered file had before. */
export interface MigrationOptions extends PartOptions {
  /** Empty unless the file was renumbered; a tracking row under one of these counts as this migration. */
  readonly formerly: readonly FormerIdentity[];
  /**
   * Rules of `st44-migrate check` this migration breaks on purpose
   * (`allow:table-rewrite,index-not-concurrent`); absent when none are named.
   * Only `check` reads them: applying a migration ignores them.
   */
  readonly allow?: readonly string[];
}

export interface ParsedMigrationText {
  /** SQL of the up part, exactly as in the file (positions stay valid). */
  readonly up: string;
  /** Character offset of `up` inside the normalised file text. */
  readonly upOffset: number;
  /** SQL of the down part; null when the file has no down marker. */
  readonly down: string | null;
  readonly options: MigrationOptions;
  /** Options of `-- migrate:down` (dbmate's `transaction:false` applies to rollbacks too). */
  readonly downOptions: PartOptions;
}

type Part = "up" | "down";

/** A marker exactly as dbmate writes it: at the line start, lower case, no space after the colon. */
const MARKER = /^--\s*migrate:(up|down)(?:\s+(.*))?$/;
/**
 * What a reader would take for a marker. Anything matching this that is not
 * MARKER is refused: a misspelt down marker used to join the down SQL to up.
 */
const MARKER_LOOKALIKE = /^\s*--\s*migrate\s*:|^\s*--\s*migrate[\s_-]*(?:up|down)\s*$/i;
/** The start of every line MARKER or MARKER_LOOKALIKE can match ([^\S\n] is \s within one line). */
const MAY_BE_MARKER = /^[^\S\n]*--[^\S\n]*migrate/gim;
const BLANK_OR_COMMENT = /^\s*(?:--.*)?$/;
const FORMER_IDENTITY = new RegExp(`^(\\d+)_(${MIGRATION_NAME_PATTERN})$`);
/** A check rule's id, as CheckFinding.rule spells it: kebab-case. */
const RULE_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

// Shared and frozen: most markers carry no options, and every start parses every file.
const DEFAULT_OPTIONS: MigrationOptions = Object.freeze({ transaction: true, formerly: Object.freeze([]) });
const IN_TRANSACTION: PartOptions = Object.freeze({ transaction: true });
const OUTSIDE_TRANSACTION: PartOptions = Object.freeze({ transaction: false });
const OPTIONS_HELP =
  'The options are transaction:false (run the statements one by one outside a transaction) on either marker, formerly:VERSION_NAME (the identity a renumbered file had, e.g. formerly:040_add_user_name_fields) and allow:RULE[,RULE] (a st44-migrate check rule broken on purpose, e.g. allow:table-rewrite) on "-- migrate:up" only';

/** CRLF and lone CR become LF and a leading BOM goes, so a checkout's line endings never look like an edit. */
export function normaliseText(text: string): string {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return withoutBom.replace(/\r\n?/g, "\n");
}

interface MarkerLine {
  readonly start: number;
  readonly end: number;
  readonly lineNumber: number;
  readonly optionsText: string;
}

/**
 * Splits a migration file into its up and down parts at dbmate's markers.
 * A file without markers is all "up" and has no down. `text` must already be
 * normalised.
 */
export function parseMigrationText(fileName: string, text: string): ParsedMigrationText {
  const markers: Partial<Record<Part, MarkerLine>> = {};

  // Only a line that starts with optional spaces, "--", optional spaces and "migrate" can be a marker or look like
  // one (MARKER and MARKER_LOOKALIKE both begin so): one search over the text finds them, where taking every
  // line apart cost a slice and a regular expression per line on every start.
  let lineNumber = 1;
  let countedUpTo = 0;
  let previousLineStart = -1;
  MAY_BE_MARKER.lastIndex = 0;
  for (let found = MAY_BE_MARKER.exec(text); found !== null; found = MAY_BE_MARKER.exec(text)) {
    // With the m flag ^ also matches after U+2028/U+2029; only "\n" ends a line here.
    const lineStart = text.lastIndexOf("\n", found.index - 1) + 1;
    const newline = text.indexOf("\n", found.index);
    const lineEnd = newline === -1 ? text.length : newline;
    MAY_BE_MARKER.lastIndex = lineEnd;
    if (lineStart === previousLineStart) continue;
    previousLineStart = lineStart;
    for (let index = text.indexOf("\n", countedUpTo); index !== -1 && index < lineStart; index = text.indexOf("\n", index + 1)) lineNumber++;
    countedUpTo = lineStart;
    const line = text.slice(lineStart, lineEnd).trimEnd();
    const match = MARKER.exec(line);
    if (match) {
      const part = match[1] as Part;
      if (markers[part]) throw duplicateMarker(fileName, part);
      if (part === "up" && markers.down) {
        throw new MigrateError(
          "PARSE_DOWN_BEFORE_UP",
          `${fileName}: "-- migrate:down" comes before "-- migrate:up". Put the up part first, then the down part, each under its own marker.`,
        );
      }
      markers[part] = { start: lineStart, end: lineEnd, lineNumber, optionsText: (match[2] ?? "").trim() };
    } else if (MARKER_LOOKALIKE.test(line)) {
      throw malformedMarker(fileName, lineNumber, line);
    }
  }

  const { up, down } = markers;
  if (!up && down) {
    throw new MigrateError(
      "PARSE_MISSING_UP",
      `${fileName} has "-- migrate:down" but no "-- migrate:up". Add a "-- migrate:up" line above the SQL that applies the migration.`,
    );
  }
  if (!up) {
    return { up: text, upOffset: 0, down: null, options: DEFAULT_OPTIONS, downOptions: IN_TRANSACTION };
  }
  if (up.start > 0) assertNothingAboveUp(fileName, text.slice(0, up.start));
  const upOffset = Math.min(up.end + 1, text.length);
  const upEnd = down ? down.start : text.length;
  return {
    up: text.slice(upOffset, Math.max(upOffset, upEnd)),
    upOffset,
    down: down ? text.slice(Math.min(down.end + 1, text.length)) : null,
    options: parseOptions(fileName, "up", up),
    downOptions: down && !parseOptions(fileName, "down", down).transaction ? OUTSIDE_TRANSACTION : IN_TRANSACTION,
  };
}

/** SQL above the up marker belongs to no part: dbmate refuses it, and silently dropping it lost a seed INSERT. */
function assertNothingAboveUp(fileName: string, head: string): void {
  const lines = head.split("\n");
  const index = lines.findIndex((line) => !BLANK_OR_COMMENT.test(line));
  if (index === -1) return;
  throw new MigrateError(
    "PARSE_SQL_BEFORE_UP",
    `${fileName} line ${index + 1} is SQL above "-- migrate:up" (${excerpt(lines[index] ?? "")}), which belongs to no part and would never run. Move it below "-- migrate:up" (or into its own migration); only comments and blank lines may come before the marker.`,
  );
}

function parseOptions(fileName: string, part: Part, marker: MarkerLine): MigrationOptions {
  if (marker.optionsText === "") return DEFAULT_OPTIONS;
  let transaction = true;
  const formerly: FormerIdentity[] = [];
  const allow: string[] = [];
  const refuse = (word: string, why: string) =>
    new MigrateError("PARSE_UNKNOWN_OPTION", `${fileName} line ${marker.lineNumber}: ${why} "${word}" after "-- migrate:${part}". ${OPTIONS_HELP}; correct or remove "${word}".`);

  for (const word of marker.optionsText.split(/\s+/).filter(Boolean)) {
    const separator = word.indexOf(":");
    const key = separator === -1 ? word : word.slice(0, separator);
    const value = separator === -1 ? "" : word.slice(separator + 1);
    if (key === "transaction") {
      if (value !== "true" && value !== "false") throw refuse(word, `transaction takes true or false, not "${value}", in`);
      transaction = value === "true";
    } else if (key === "formerly" && part === "up") {
      for (const identity of value.split(",")) {
        const match = FORMER_IDENTITY.exec(identity);
        if (!match || match[1] === undefined || match[2] === undefined) {
          throw refuse(word, `formerly takes VERSION_NAME (digits, "_", then a name as in file names, comma-separated for several), not "${identity}", in`);
        }
        if (formerly.some((known) => known.version === match[1] && known.name === match[2])) {
          throw refuse(word, `"${identity}" is named twice in`);
        }
        formerly.push({ version: match[1], name: match[2] });
      }
    } else if (key === "allow" && part === "up") {
      for (const rule of value.split(",")) {
        if (!RULE_NAME.test(rule)) throw refuse(word, `allow takes check rule names (kebab-case, comma-separated, e.g. allow:table-rewrite), not "${rule}", in`);
        if (allow.includes(rule)) throw refuse(word, `"${rule}" is named twice in`);
        allow.push(rule);
      }
    } else {
      throw refuse(word, key === "formerly" || key === "allow" ? `${key} belongs on the up marker, not in` : "unknown option");
    }
  }
  return allow.length > 0 ? { transaction, formerly, allow } : { transaction, formerly };
}

function malformedMarker(fileName: string, lineNumber: number, line: string): MigrateError {
  const afterColon = line.replace(/^\s*--\s*migrate[\s_-]*:?\s*/i, "").toLowerCase();
  const expected = afterColon.startsWith("d") ? '"-- migrate:down"' : afterColon.startsWith("u") ? '"-- migrate:up"' : '"-- migrate:up" or "-- migrate:down"';
  return new MigrateError(
    "PARSE_MARKER_MALFORMED",
    `${fileName} line ${lineNumber} looks like a marker but is not one: ${excerpt(line)}. Write it exactly ${expected}: at the start of the line, lower case, no space after the colon, options after a space (e.g. "-- migrate:up transaction:false"). A comment that only mentions migrating must not start with "migrate:".`,
  );
}

function duplicateMarker(fileName: string, part: Part): MigrateError {
  return new MigrateError(
    "PARSE_DUPLICATE_MARKER",
    `${fileName} has "-- migrate:${part}" more than once. Keep one "-- migrate:${part}" marker per file; put a second change in a new migration file.`,
  );
}

/** A quoted, bounded copy of a file's line for a message (control characters escaped). */
function excerpt(line: string): string {
  const trimmed = line.trim();
  return JSON.stringify(trimmed.length > 80 ? `${trimmed.slice(0, 77)}...` : trimmed);
}
