import { type PropertyValue, SCHEMA_SNAPSHOT_FORMAT, type SchemaObject, type SchemaSnapshot } from "./model.ts";

/**
 * The text form of a snapshot, for review and for committing: one line per
 * object (a table's members indented under it), so a diff of two dumps shows
 * each changed object as one changed line, and a line's leading words
 * (kind and name) are its object's key.
 */

export const SNAPSHOT_TEXT_HEADER = [
  `-- Schema snapshot (st44-migrate dump, format ${SCHEMA_SNAPSHOT_FORMAT}): one line per object, sorted by kind and name; no OIDs.`,
  "-- Function bodies appear as their SHA-256. The runner's own tables (schema_migrations, schema_migrations_golang_migrate) are left out.",
];

/**
 * Control characters (a newline in a comment, a check or a quoted name) written
 * as escapes, so every object stays on one line; a backslash doubled first, so
 * a real newline and the two characters `\n` stay different.
 */
function oneLine(text: string): string {
  return text.replace(/[\\\u0000-\u001f\u007f]/g, (char) =>
    char === "\\" ? "\\\\" : char === "\n" ? "\\n" : char === "\t" ? "\\t" : `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** Quoted as SQL quotes a literal; made one line with the rest of its object's parts. */
function quoted(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const text = (value: PropertyValue | undefined): string | null => (typeof value === "string" ? value : null);
const list = (value: PropertyValue | undefined): readonly string[] => (Array.isArray(value) ? value : []);

/** The parts of an object's line after its kind and name, in reading order. */
function describe(object: SchemaObject): string[] {
  const p = object.properties;
  const parts: string[] = [];
  const add = (part: string | null | false) => {
    if (part) parts.push(part);
  };
  switch (object.kind) {
    case "enum":
      add(list(p.values).map(quoted).join(", "));
      break;
    case "domain":
      add(text(p.type));
      add(p.not_null === true && "not null");
      add(text(p.default) !== null && `default ${text(p.default)}`);
      for (const check of list(p.checks)) add(check);
      break;
    case "sequence":
      add(`${text(p.type)} start ${text(p.start)} increment ${text(p.increment)} min ${text(p.min)} max ${text(p.max)} cache ${text(p.cache)}`);
      add(p.cycle === true && "cycle");
      add(text(p.owned_by) !== null && `owned by ${text(p.owned_by)}`);
      break;
    case "table":
      add(p.partitioned === true && (text(p.partition_key) === null ? "partitioned" : `partitioned by ${text(p.partition_key)}`));
      add(text(p.partition_of) !== null && `partition of ${text(p.partition_of)}`);
      add(list(p.inherits).length > 0 && `inherits ${list(p.inherits).join(" ")}`);
      add(p.unlogged === true && "unlogged");
      add(p.row_level_security === true && (p.force_row_level_security === true ? "row level security enabled and forced" : "row level security enabled"));
      add(p.row_level_security !== true && p.force_row_level_security === true && "row level security forced (not enabled)");
      break;
    case "column":
      add(text(p.type));
      add(text(p.collation) !== null && `collate ${text(p.collation)}`);
      add(p.not_null === true && "not null");
      add(text(p.default) !== null && `default ${text(p.default)}`);
      add(text(p.identity) !== null && `generated ${text(p.identity)} as identity`);
      add(text(p.generated) !== null && `generated always as (${text(p.generated)}) ${text(p.generated_kind) ?? "stored"}`);
      break;
    case "constraint":
      add(text(p.definition));
      break;
    case "view":
    case "materialized view":
      add(list(p.options).length > 0 && `with (${list(p.options).join(" ")})`);
      add(text(p.definition));
      break;
    case "index":
      add(text(p.definition));
      add(p.valid === false && "INVALID");
      break;
    case "trigger":
      add(text(p.definition));
      add(text(p.firing) !== "enabled" && text(p.firing));
      break;
    case "policy":
      add(`${p.permissive === false ? "restrictive" : "permissive"} for ${text(p.command)} to ${list(p.roles).join(", ")}`);
      add(text(p.using) !== null && `using ${text(p.using)}`);
      add(text(p.with_check) !== null && `with check ${text(p.with_check)}`);
      break;
    case "function":
    case "procedure":
      add(text(p.arguments) !== null && `arguments (${text(p.arguments)})`);
      add(object.kind === "function" && `returns ${text(p.returns)}`);
      add(`language ${text(p.language)}`);
      add(text(p.volatility));
      add(p.strict === true && "strict");
      add(p.security_definer === true && "security definer");
      for (const setting of list(p.settings)) add(`set ${setting}`);
      add(`body sha256 ${text(p.body_sha256)}`);
      break;
    case "extension":
    case "schema":
      break;
  }
  const comment = text(p.comment);
  if (comment !== null) parts.push(`comment ${quoted(comment)}`);
  return parts.map(oneLine);
}

export function renderObjectLine(object: SchemaObject): string {
  const head = `${object.table === undefined ? "" : "  "}${object.kind} ${oneLine(object.name)}`;
  const parts = describe(object);
  return parts.length === 0 ? head : `${head}: ${parts.join(", ")}`;
}

/** The whole snapshot as text: the header, then the objects, a blank line before each top-level one that has members. */
export function renderSnapshotText(snapshot: SchemaSnapshot): string {
  const lines = [...SNAPSHOT_TEXT_HEADER];
  const owners = new Set(snapshot.objects.flatMap((object) => (object.table === undefined ? [] : [object.table])));
  let previousKind: string | null = null;
  for (const object of snapshot.objects) {
    const startsGroup = object.table === undefined && (owners.has(object.name) || object.kind !== previousKind);
    if (startsGroup) lines.push("");
    lines.push(renderObjectLine(object));
    if (object.table === undefined) previousKind = owners.has(object.name) ? null : object.kind;
  }
  lines.push("", snapshotTrailer(snapshot.objects.length));
  return `${lines.join("\n")}\n`;
}

/** The last line: a snapshot cut short (a truncated copy, a merge gone wrong) is refused instead of read as a smaller schema. */
export function snapshotTrailer(objects: number): string {
  return `-- end of snapshot: ${objects} objects`;
}

/** The JSON form: the snapshot itself, keys already sorted. */
export function renderSnapshotJson(snapshot: SchemaSnapshot): string {
  return `${JSON.stringify(snapshot, null, 2)}\n`;
}
