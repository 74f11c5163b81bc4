import { MigrateError } from "../errors.ts";
import { SCHEMA_OBJECT_KINDS, SCHEMA_SNAPSHOT_FORMAT, type SchemaObjectKind, type SchemaSnapshot, TABLE_MEMBER_KINDS } from "./model.ts";
import { renderSnapshotText } from "./render.ts";

/**
 * The snapshot's text read back: each line's kind, name (and owning table
 * for an indented member) and the description's top-level parts. Both sides
 * of a comparison come through here: the committed text, and the live dump
 * rendered by the same renderer.
 */

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
  /** The object count the last line states (`-- end of snapshot: N objects`), or null when there is none: a text cut short. */
  readonly declaredObjects: number | null;
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
const TRAILER = /^-- end of snapshot: (\d+) objects$/;

/** What a member line (indented) may be listed under: the kinds the catalog attaches columns, indexes, triggers or policies to. */
const OWNER_KINDS: ReadonlySet<SchemaObjectKind> = new Set(["table", "view", "materialized view"]);

/** Reads the text `st44-migrate dump` writes (and `migrations/schema.snapshot` holds). */
export function parseSnapshotText(text: string): ParsedSnapshot {
  let format: number | null = null;
  let declaredObjects: number | null = null;
  let owner: SnapshotEntry | null = null;
  const entries: SnapshotEntry[] = [];
  const keys = new Set<string>();
  // An editor's byte-order mark is not part of the text: it would hide the header.
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  for (const [index, raw] of body.split("\n").entries()) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const at = `line ${index + 1}`;
    if (line.trim() === "") continue;
    if (declaredObjects !== null) throw new SnapshotTextError(`${at} follows the end-of-snapshot line: the text has two snapshots or was edited after it`);
    if (line.startsWith("--")) {
      const header = FORMAT_HEADER.exec(line);
      if (header) format = Number(header[1]);
      const trailer = TRAILER.exec(line);
      if (trailer) declaredObjects = Number(trailer[1]);
      continue;
    }
    const member = line.startsWith("  ");
    const rest0 = member ? line.slice(2) : line;
    const kind = KINDS_LONGEST_FIRST.find((candidate) => rest0.startsWith(`${candidate} `));
    if (kind === undefined) throw new SnapshotTextError(`${at} does not start with a kind of object: ${JSON.stringify(line.slice(0, 80))}`);
    if (member !== TABLE_MEMBER_KINDS.has(kind)) {
      throw new SnapshotTextError(member ? `${at} indents a ${kind}, which belongs to no table: ${JSON.stringify(line.slice(0, 80))}` : `${at} lists a ${kind} without indenting it under its table: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const rest = rest0.slice(kind.length + 1);
    const end = nameEnd(rest);
    const name = rest.slice(0, end);
    const parts = end === rest.length ? [] : topLevelParts(rest.slice(end + 2));
    let entry: SnapshotEntry;
    if (member) {
      if (owner === null || !OWNER_KINDS.has(owner.kind)) throw new SnapshotTextError(`${at} is indented (a table's member) but follows no table, view or materialized view`);
      entry = { kind, name, table: owner.name, parts };
    } else {
      entry = { kind, name, parts };
      owner = entry;
    }
    const key = entryKey(entry);
    // Two lines for one object (a merge that kept both sides) would make the comparison pick one at random.
    if (keys.has(key)) throw new SnapshotTextError(`${at} lists ${key} a second time`);
    keys.add(key);
    entries.push(entry);
  }
  return { format, declaredObjects, entries };
}

/** The live side in the same form as the committed text, through the same renderer. */
export function snapshotEntries(snapshot: SchemaSnapshot): ParsedSnapshot {
  return parseSnapshotText(renderSnapshotText(snapshot));
}

export function entryKey(entry: SnapshotEntry): string {
  return entry.table === undefined ? `${entry.kind} ${entry.name}` : `${entry.kind} ${entry.table} ${entry.name}`;
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
  if (parsed.declaredObjects !== parsed.entries.length) {
    const why = parsed.declaredObjects === null ? "has no end-of-snapshot line, so it was cut short" : `says it lists ${parsed.declaredObjects} objects and lists ${parsed.entries.length}`;
    throw new MigrateError("SNAPSHOT_INVALID", `${origin} ${why}. ${regenerate}`);
  }
  return parsed;
}
