import { MigrateError } from "../errors.ts";
import { SCHEMA_OBJECT_KINDS, SCHEMA_SNAPSHOT_FORMAT, type SchemaObjectKind, type SchemaSnapshot } from "./model.ts";
import { renderSnapshotText } from "./render.ts";

/**
 * Drift: the live schema against the expected one (the committed snapshot).
 * Both sides are compared in their text form, line by line, because the text
 * is what is committed and embedded: a line's kind and name are its object's
 * key, the rest its description. Reading the text back into the model would
 * need a grammar for every kind; the key and the description's top-level
 * parts are all a comparison needs.
 */

export type DriftCategory = "missing" | "changed" | "extra";

export interface SchemaDifference {
  readonly category: DriftCategory;
  readonly objectKind: SchemaObjectKind;
  /** For people: `users.first_name` (a table's member under its table), `update_updated_at_column()`; `public.` left out. */
  readonly name: string;
  /** For a changed object: what differs (`integer → bigint`, `body differs`, `lost not null`); null otherwise. */
  readonly detail: string | null;
  /** The one-line report: `missing column users.first_name`, `changed column tasks.points: integer → bigint`, `invalid index users.idx_x`. */
  readonly line: string;
}

export interface SchemaDrift {
  readonly missing: readonly SchemaDifference[];
  readonly changed: readonly SchemaDifference[];
  readonly extra: readonly SchemaDifference[];
}

/** One object of a snapshot's text. */
export interface SnapshotEntry {
  readonly kind: SchemaObjectKind;
  readonly name: string;
  /** The owning table's name for a member (an indented line), else undefined. */
  readonly table?: string;
  /** The description's top-level parts (`integer`, `not null`, `default now()`), in order. */
  readonly parts: readonly string[];
}

export interface ParsedSnapshot {
  /** The format the text's header names, or null when it names none. */
  readonly format: number | null;
  readonly entries: readonly SnapshotEntry[];
}

export class SnapshotTextError extends Error {}

/** Longest first, so `materialized view` is not read as an unknown kind `materialized`. */
const KINDS_LONGEST_FIRST = [...SCHEMA_OBJECT_KINDS].sort((left, right) => right.length - left.length);

/** Where the name ends: the first `: ` outside double quotes (the server quotes a name that holds one), or the end of the line. */
function nameEnd(text: string): number {
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === ":" && text[index + 1] === " ") return index;
  }
  return text.length;
}

/** Splits at `, ` outside parentheses, brackets, single-quoted literals and double-quoted names. */
export function topLevelParts(description: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: "'" | '"' | null = null;
  let start = 0;
  for (let index = 0; index < description.length; index++) {
    const char = description[index];
    if (quote !== null) {
      if (char === quote) quote = null;
    } else if (char === "'" || char === '"') quote = char;
    else if (char === "(" || char === "[") depth++;
    else if (char === ")" || char === "]") depth = Math.max(0, depth - 1);
    else if (char === "," && depth === 0 && description[index + 1] === " ") {
      parts.push(description.slice(start, index));
      start = index + 2;
      index++;
    }
  }
  parts.push(description.slice(start));
  return parts.filter((part) => part !== "");
}

const FORMAT_HEADER = /^-- Schema snapshot \(st44-migrate dump, format (\d+)\)/;

/** Reads the text `st44-migrate dump` writes (and `migrations/schema.snapshot` holds). */
export function parseSnapshotText(text: string): ParsedSnapshot {
  let format: number | null = null;
  let owner: string | null = null;
  const entries: SnapshotEntry[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") continue;
    if (line.startsWith("--")) {
      const header = FORMAT_HEADER.exec(line);
      if (header) format = Number(header[1]);
      continue;
    }
    const member = line.startsWith("  ");
    const body = member ? line.slice(2) : line;
    const kind = KINDS_LONGEST_FIRST.find((candidate) => body.startsWith(`${candidate} `));
    if (kind === undefined) throw new SnapshotTextError(`line ${index + 1} does not start with a kind of object: ${JSON.stringify(line.slice(0, 80))}`);
    const rest = body.slice(kind.length + 1);
    const end = nameEnd(rest);
    const name = rest.slice(0, end);
    const parts = end === rest.length ? [] : topLevelParts(rest.slice(end + 2));
    if (member) {
      if (owner === null) throw new SnapshotTextError(`line ${index + 1} is indented (a table's member) but follows no table`);
      entries.push({ kind, name, table: owner, parts });
    } else {
      owner = name;
      entries.push({ kind, name, parts });
    }
  }
  return { format, entries };
}

/** The live side in the same form as the committed text, through the same renderer. */
export function snapshotEntries(snapshot: SchemaSnapshot): ParsedSnapshot {
  return parseSnapshotText(renderSnapshotText(snapshot));
}

const entryKey = (entry: SnapshotEntry): string => (entry.table === undefined ? `${entry.kind} ${entry.name}` : `${entry.kind} ${entry.table} ${entry.name}`);

/** Comments are documentation, not schema: a snapshot dumped with --comments compares like one without. */
const isComment = (part: string): boolean => part.startsWith("comment '");

const withoutPublic = (name: string): string => (name.startsWith("public.") ? name.slice("public.".length) : name);

function displayName(entry: SnapshotEntry): string {
  return entry.table === undefined ? withoutPublic(entry.name) : `${withoutPublic(entry.table)}.${entry.name}`;
}

/** The parts of `from` not matched one for one in `other` (a multiset difference, order kept). */
function unmatched(from: readonly string[], other: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const part of other) left.set(part, (left.get(part) ?? 0) + 1);
  return from.filter((part) => {
    const count = left.get(part) ?? 0;
    if (count === 0) return true;
    left.set(part, count - 1);
    return false;
  });
}

const BODY_HASH = "body sha256 ";
const INVALID_INDEX = "INVALID";

/** What differs between two descriptions of one object, in a few words. */
function describeChange(expected: readonly string[], actual: readonly string[]): string {
  const lost = unmatched(expected, actual);
  const gained = unmatched(actual, expected);
  const bodyChanged = lost.some((part) => part.startsWith(BODY_HASH)) && gained.some((part) => part.startsWith(BODY_HASH));
  const details: string[] = [];
  if (bodyChanged) {
    details.push("body differs");
    const [otherLost, otherGained] = [lost.filter((part) => !part.startsWith(BODY_HASH)), gained.filter((part) => !part.startsWith(BODY_HASH))];
    lost.splice(0, lost.length, ...otherLost);
    gained.splice(0, gained.length, ...otherGained);
  }
  if (lost.length > 0 && gained.length > 0) details.push(`${lost.join(", ")} → ${gained.join(", ")}`);
  else if (lost.length > 0) details.push(`lost ${lost.join(", ")}`);
  else if (gained.length > 0) details.push(`gained ${gained.join(", ")}`);
  return details.join("; ");
}

function difference(category: DriftCategory, entry: SnapshotEntry, detail: string | null, word: string = category): SchemaDifference {
  const name = displayName(entry);
  return { category, objectKind: entry.kind, name, detail, line: `${word} ${entry.kind} ${name}${detail === null ? "" : `: ${detail}`}` };
}

/**
 * Every object of `expected` absent from `actual` (missing), present with
 * another description (changed; an index the server marked invalid is
 * reported as `invalid index`), and every object only in `actual` (extra).
 * A table's members are not listed again when the whole table is missing or
 * extra: one line says it.
 */
export function compareSnapshots(expected: ParsedSnapshot, actual: ParsedSnapshot): SchemaDrift {
  const actualByKey = new Map(actual.entries.map((entry) => [entryKey(entry), entry]));
  const expectedKeys = new Set(expected.entries.map(entryKey));
  const missingTables = new Set<string>();
  const missing: SchemaDifference[] = [];
  const changed: SchemaDifference[] = [];
  for (const entry of expected.entries) {
    const found = actualByKey.get(entryKey(entry));
    if (found === undefined) {
      if (entry.table !== undefined && missingTables.has(entry.table)) continue;
      if (entry.table === undefined) missingTables.add(entry.name);
      missing.push(difference("missing", entry, null));
      continue;
    }
    const [wanted, live] = [entry.parts.filter((part) => !isComment(part)), found.parts.filter((part) => !isComment(part))];
    if (wanted.length === live.length && wanted.every((part, index) => part === live[index])) continue;
    const becameInvalid = entry.kind === "index" && live.includes(INVALID_INDEX) && !wanted.includes(INVALID_INDEX);
    if (becameInvalid && unmatched(live, wanted).length === 1 && unmatched(wanted, live).length === 0) {
      changed.push(difference("changed", entry, null, "invalid"));
    } else {
      changed.push(difference("changed", entry, describeChange(wanted, live)));
    }
  }
  const extraTables = new Set<string>();
  const extra: SchemaDifference[] = [];
  for (const entry of actual.entries) {
    if (expectedKeys.has(entryKey(entry))) continue;
    if (entry.table !== undefined && extraTables.has(entry.table)) continue;
    if (entry.table === undefined) extraTables.add(entry.name);
    const invalid = entry.kind === "index" && entry.parts.includes(INVALID_INDEX);
    extra.push(difference("extra", entry, invalid ? "invalid" : null));
  }
  return { missing, changed, extra };
}

/** True when the snapshot's format is one this build reads; a newer one cannot be judged. */
export function isReadableFormat(parsed: ParsedSnapshot): boolean {
  return parsed.format === SCHEMA_SNAPSHOT_FORMAT;
}

/** An expected schema's text, parsed, or SNAPSHOT_INVALID naming `origin` (a path, or "the embedded schema snapshot"). */
export function readExpectedSnapshot(text: string, origin: string): ParsedSnapshot {
  const regenerate = "Regenerate it rather than editing it: `npm run snapshot` in the st44-migrate repository, or `st44-migrate dump > schema.snapshot` against a database the migrations alone built.";
  let parsed: ParsedSnapshot;
  try {
    parsed = parseSnapshotText(text);
  } catch (error) {
    throw new MigrateError("SNAPSHOT_INVALID", `${origin} is not a schema snapshot: ${(error as Error).message}. ${regenerate}`);
  }
  if (!isReadableFormat(parsed)) {
    throw new MigrateError("SNAPSHOT_INVALID", `${origin} names snapshot format ${parsed.format ?? "(none)"}; this version reads format ${SCHEMA_SNAPSHOT_FORMAT}. ${regenerate}`);
  }
  return parsed;
}

export const noDrift = (drift: SchemaDrift): boolean => drift.missing.length === 0 && drift.changed.length === 0 && drift.extra.length === 0;
