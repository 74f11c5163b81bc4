/**
 * The schema as a flat list of objects, each identified by its kind and
 * schema-qualified name (never an OID), with plain properties. Flat and
 * keyed so that two snapshots compare object by object: the same key with
 * different properties is a changed object, a key on one side only is a
 * missing or an extra one.
 */

export const SCHEMA_SNAPSHOT_FORMAT = 1;

/** In the order the text lists them: what others depend on first. */
export const SCHEMA_OBJECT_KINDS = [
  "extension",
  "schema",
  "enum",
  "domain",
  "sequence",
  "table",
  "column",
  "constraint",
  "index",
  "trigger",
  "policy",
  "view",
  "materialized view",
  "function",
  "procedure",
] as const;
export type SchemaObjectKind = (typeof SCHEMA_OBJECT_KINDS)[number];

/** Kinds that belong to a table and are listed under it. */
export const TABLE_MEMBER_KINDS: ReadonlySet<SchemaObjectKind> = new Set(["column", "constraint", "index", "trigger", "policy"]);

export type PropertyValue = string | boolean | null | readonly string[];

export interface SchemaObject {
  readonly kind: SchemaObjectKind;
  /**
   * Schema-qualified (`public.users`, `public.update_updated_at_column()` with
   * its argument types, so overloads differ), except for a table's members,
   * whose names are their own (`email`, `users_pkey`) and whose table is `table`.
   */
  readonly name: string;
  readonly table?: string;
  readonly properties: Readonly<Record<string, PropertyValue>>;
}

export interface SchemaSnapshot {
  readonly format: typeof SCHEMA_SNAPSHOT_FORMAT;
  readonly objects: readonly SchemaObject[];
}

/** What identifies an object across databases: a comparison pairs the objects with equal keys. */
export function objectKey(object: Pick<SchemaObject, "kind" | "name" | "table">): string {
  return object.table === undefined ? `${object.kind} ${object.name}` : `${object.kind} ${object.table} ${object.name}`;
}

/** Code-unit order, not the locale's: the same everywhere. */
export function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

const kindRank = new Map<SchemaObjectKind, number>(SCHEMA_OBJECT_KINDS.map((kind, index) => [kind, index]));
const rank = (kind: SchemaObjectKind): number => kindRank.get(kind) ?? 0;

/** A member (an index) may belong to a materialized view or a view (a trigger): it is listed under whichever it is. */
type OwnerKinds = ReadonlyMap<string, SchemaObjectKind>;

function sortKey(object: SchemaObject, owners: OwnerKinds): readonly [number, string, number, number, string] {
  if (object.table === undefined) return [rank(object.kind), object.name, 0, 0, ""];
  return [rank(owners.get(object.table) ?? "table"), object.table, 1, rank(object.kind), object.name];
}

function compareKeys(left: readonly [number, string, number, number, string], right: readonly [number, string, number, number, string]): number {
  return left[0] - right[0] || compareText(left[1], right[1]) || left[2] - right[2] || left[3] - right[3] || compareText(left[4], right[4]);
}

/**
 * Sorts the objects (by kind, then schema-qualified name; a table's members
 * right after it, each kind together, by name) and their properties' keys,
 * so that equal schemas give byte-equal text and JSON.
 */
export function buildSnapshot(objects: readonly SchemaObject[]): SchemaSnapshot {
  const owners: OwnerKinds = new Map(objects.filter((object) => object.table === undefined).map((object) => [object.name, object.kind]));
  const sorted = objects
    .map((object) => ({
      object: {
        kind: object.kind,
        name: object.name,
        ...(object.table === undefined ? {} : { table: object.table }),
        properties: Object.fromEntries(Object.entries(object.properties).sort(([left], [right]) => compareText(left, right))),
      },
      key: sortKey(object, owners),
    }))
    .sort((left, right) => compareKeys(left.key, right.key))
    .map((entry) => entry.object as SchemaObject);
  for (let index = 1; index < sorted.length; index++) {
    const previous = sorted[index - 1] as SchemaObject;
    const current = sorted[index] as SchemaObject;
    // Two objects with one key would make a comparison pair the wrong ones: a reader bug, never a schema's.
    if (objectKey(previous) === objectKey(current)) throw new Error(`two schema objects share the key "${objectKey(current)}"`);
  }
  return { format: SCHEMA_SNAPSHOT_FORMAT, objects: sorted };
}
