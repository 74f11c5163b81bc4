import { MigrateError } from "../errors.ts";
import { SCHEMA_OBJECT_KINDS, SCHEMA_SNAPSHOT_FORMAT, type SchemaObjectKind, type SchemaSnapshot, TABLE_MEMBER_KINDS } from "./model.ts";
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
  /** For a changed object: what differs (`integer → bigint`, `body differs`, `now nullable`); null otherwise. */
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

function entryKey(entry: SnapshotEntry): string {
  return entry.table === undefined ? `${entry.kind} ${entry.name}` : `${entry.kind} ${entry.table} ${entry.name}`;
}

/** Comments are documentation, not schema: a snapshot dumped with --comments compares like one without. The renderer puts a comment last. */
const withoutComment = (parts: readonly string[]): readonly string[] => (parts.at(-1)?.startsWith("comment '") ? parts.slice(0, -1) : parts);

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

/**
 * A column's or a domain's parts by attribute: the type comes first, then
 * `collate …`, `not null`, `default …`, `generated …`, or a domain's checks
 * (each named by its constraint).
 */
function attributes(parts: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  parts.forEach((part, index) => {
    const attribute = index === 0 ? "type" : part === "not null" ? "not null" : (part.split(" ")[0] ?? part);
    found.set(attribute, part);
  });
  return found;
}

function describeByAttribute(expected: readonly string[], actual: readonly string[]): string {
  const [before, after] = [attributes(expected), attributes(actual)];
  const details: string[] = [];
  for (const attribute of new Set([...before.keys(), ...after.keys()])) {
    const [was, now] = [before.get(attribute), after.get(attribute)];
    if (was === now) continue;
    if (was !== undefined && now !== undefined) details.push(`${was} → ${now}`);
    else if (was !== undefined) details.push(attribute === "not null" ? "now nullable" : `lost ${was}`);
    else if (now !== undefined) details.push(`gained ${now}`);
  }
  return details.join("; ");
}

const whole = (parts: readonly string[]): string => (parts.length === 0 ? "(nothing)" : parts.join(", "));

/** `lost …`/`gained …`/`… → …` from the parts each side lacks, or null when that would hide a reordering. */
function describeByParts(expected: readonly string[], actual: readonly string[]): string | null {
  const lost = unmatched(expected, actual);
  const gained = unmatched(actual, expected);
  const kept = (parts: readonly string[], dropped: readonly string[]) => unmatched(parts, dropped);
  if (kept(expected, lost).join("\u0000") !== kept(actual, gained).join("\u0000")) return null;
  if (lost.length > 0 && gained.length > 0) return `${lost.join(", ")} → ${gained.join(", ")}`;
  if (lost.length > 0) return `lost ${lost.join(", ")}`;
  return `gained ${gained.join(", ")}`;
}

/** Kinds whose description is one definition: its pieces mean nothing on their own, so it is shown whole. */
const WHOLE_DEFINITION: ReadonlySet<SchemaObjectKind> = new Set(["constraint", "index", "trigger", "policy", "view", "materialized view"]);
const LONGEST_SHOWN = 240;

/**
 * What differs between two descriptions of one object, in a few words: a
 * column or a domain by attribute, a function's body as `body differs`, a
 * definition whole (old → new, or `definition differs` when too long to
 * read on one line), anything else by the parts lost and gained, or whole
 * when only their order changed.
 */
function describeChange(kind: SchemaObjectKind, expected: readonly string[], actual: readonly string[]): string {
  if (kind === "column" || kind === "domain") return describeByAttribute(expected, actual);
  if (WHOLE_DEFINITION.has(kind)) {
    const [was, now] = [whole(expected), whole(actual)];
    return was.length + now.length > LONGEST_SHOWN ? "definition differs" : `${was} → ${now}`;
  }
  if (kind === "function" || kind === "procedure") {
    const body = (parts: readonly string[]) => parts.find((part) => part.startsWith(BODY_HASH));
    const rest = (parts: readonly string[]) => parts.filter((part) => !part.startsWith(BODY_HASH));
    const details = body(expected) === body(actual) ? [] : ["body differs"];
    const [was, now] = [rest(expected), rest(actual)];
    if (was.join("\u0000") !== now.join("\u0000")) details.push(describeByParts(was, now) ?? `${whole(was)} → ${whole(now)}`);
    return details.join("; ");
  }
  return describeByParts(expected, actual) ?? `${whole(expected)} → ${whole(actual)}`;
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
    const [wanted, live] = [withoutComment(entry.parts), withoutComment(found.parts)];
    if (wanted.length === live.length && wanted.every((part, index) => part === live[index])) continue;
    const becameInvalid = entry.kind === "index" && live.includes(INVALID_INDEX) && !wanted.includes(INVALID_INDEX);
    if (becameInvalid && unmatched(live, wanted).length === 1 && unmatched(wanted, live).length === 0) {
      changed.push(difference("changed", entry, null, "invalid"));
    } else {
      changed.push(difference("changed", entry, describeChange(entry.kind, wanted, live)));
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
  if (parsed.declaredObjects !== parsed.entries.length) {
    const why = parsed.declaredObjects === null ? "has no end-of-snapshot line, so it was cut short" : `says it lists ${parsed.declaredObjects} objects and lists ${parsed.entries.length}`;
    throw new MigrateError("SNAPSHOT_INVALID", `${origin} ${why}. ${regenerate}`);
  }
  return parsed;
}

export const noDrift = (drift: SchemaDrift): boolean => drift.missing.length === 0 && drift.changed.length === 0 && drift.extra.length === 0;
