import type { SchemaObjectKind } from "./model.ts";
import { type ParsedSnapshot, type SnapshotEntry, entryKey } from "./snapshot-text.ts";

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

export const noDrift = (drift: SchemaDrift): boolean => drift.missing.length === 0 && drift.changed.length === 0 && drift.extra.length === 0;
