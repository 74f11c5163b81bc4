import { type PropertyValue, type SchemaObject, type SchemaSnapshot, buildSnapshot } from "../../core/schema/model.ts";
import { normaliseIndexDefinition, normaliseTriggerDefinition, policyCommand, triggerFiring } from "../../core/schema/normalise.ts";
import type { Queryable, Sql } from "../connection.ts";
import { type QueryRows, asQueryRows } from "../query-rows.ts";
import * as queries from "./queries.ts";
import { normaliseViewDefinition } from "../../core/schema/view-definition.ts";

export interface ReadSchemaOptions {
  /** Include COMMENT ON texts (off by default: comments are documentation, not what the API depends on). */
  readonly comments?: boolean;
}

type Row = Record<string, unknown>;

/** Each kind's query and the columns the snapshot uses, besides `comment` (which every kind but extensions has). */
const KINDS = {
  extensions: [queries.EXTENSIONS, ["name"]],
  schemas: [queries.SCHEMAS, ["name"]],
  types: [queries.TYPES, ["name", "type_kind", "values", "base_type", "not_null", "default_value", "checks"]],
  sequences: [queries.SEQUENCES, ["name", "type", "start", "increment", "min", "max", "cache", "cycle", "owned_by"]],
  tables: [queries.TABLES, ["name", "partitioned", "unlogged", "row_level_security", "force_row_level_security", "partition_key", "partition_of", "inherits"]],
  columns: [queries.COLUMNS, ["table_name", "name", "type", "not_null", "default_value", "identity", "generated", "generated_kind", "collation"]],
  constraints: [queries.CONSTRAINTS, ["table_name", "name", "type", "definition"]],
  indexes: [queries.INDEXES, ["table_name", "name", "definition", "valid"]],
  triggers: [queries.TRIGGERS, ["table_name", "name", "definition", "firing"]],
  policies: [queries.POLICIES, ["table_name", "name", "command", "permissive", "roles", "using_expression", "with_check"]],
  views: [queries.VIEWS, ["name", "materialized", "definition", "options"]],
  routines: [queries.ROUTINES, ["name", "procedure", "returns", "language", "volatility", "strict", "security_definer", "settings", "body_sha256", "arguments"]],
} as const satisfies Record<string, readonly [string, readonly string[]]>;

/** The catalog's rows, one list per kind of query. */
export type SchemaRows = { readonly [K in keyof typeof KINDS]: readonly Row[] };

/**
 * Every catalog query in ONE statement, each kind's rows as a json array.
 * One statement because it may go through an application's pool (the health
 * check's QueryRows port), where consecutive statements can land on different
 * connections: a BEGIN or a SET there would stay behind on a pooled
 * connection. Inside one statement, set_config(..., true) lasts only until
 * the statement's implicit transaction ends, and the last column puts the
 * caller's search_path back for a caller already inside a transaction.
 * The FROM item (fenced by OFFSET 0, so it is scanned before the select list
 * is computed) saves the search_path and then sets pg_catalog; the select
 * list's subqueries run after it, left to right, and the restore runs last.
 * One statement is also one snapshot of the catalog, and one round trip.
 * Only the columns used are selected: the planner then never computes the
 * others (obj_description, a SQL function run per row, was most of the
 * time on 200 tables).
 */
export function schemaReadStatement(options: ReadSchemaOptions = {}): string {
  const parts = Object.entries(KINDS).map(([kind, [text, columns]]) => {
    const fields = [...columns, ...(options.comments && kind !== "extensions" ? ["comment"] : [])].map((column) => `'${column}', r.${column}`).join(", ");
    return `(select coalesce(json_agg(json_build_object(${fields})), '[]') from (${text}) r) as ${kind}`;
  });
  const saved = PINNED_SETTINGS.map(([name], index) => `current_setting('${name}') as saved_${index}`).join(", ");
  const pinned = PINNED_SETTINGS.map(([name, value], index) => `saved_${index}, set_config('${name}', '${value}', true) as pinned_${index}`).join(", ");
  const restored = PINNED_SETTINGS.map(([name], index) => `set_config('${name}', entered.saved_${index}, true)`).join(" || ");
  return `select ${parts.join(",\n")},
  (${restored}) is not null as restored
from (select ${pinned}
      from (select ${saved} offset 0) saving offset 0) entered`;
}

/**
 * What the server's printing depends on besides the catalog, pinned for the
 * read: search_path qualifies names; TimeZone, DateStyle, IntervalStyle,
 * standard_conforming_strings, bytea_output and extra_float_digits change
 * how a default's or a check's constants are printed (a database or role
 * with timezone Europe/Oslo would otherwise show every timestamptz default
 * as changed).
 */
const PINNED_SETTINGS: readonly (readonly [string, string])[] = [
  ["search_path", "pg_catalog"],
  ["TimeZone", "UTC"],
  ["DateStyle", "ISO, YMD"],
  ["IntervalStyle", "postgres"],
  ["standard_conforming_strings", "on"],
  ["bytea_output", "hex"],
  ["extra_float_digits", "1"],
];

/** What the health check sends (no comments). */
export const SCHEMA_READ = schemaReadStatement();

/** A json column as the driver gave it: parsed (postgres.js, pg) or, from a driver that does not parse json, text. */
function jsonRows(value: unknown, kind: string): Row[] {
  const parsed = typeof value === "string" ? JSON.parse(value) : value;
  if (!Array.isArray(parsed)) throw new TypeError(`the schema read returned no rows for ${kind}`);
  return parsed as Row[];
}

/** Reads the catalog through any driver (a postgres.js client, or the health check's port). */
export async function readSchemaRows(db: Queryable | QueryRows, options: ReadSchemaOptions = {}): Promise<SchemaRows> {
  const statement = options.comments ? schemaReadStatement(options) : SCHEMA_READ;
  const [row] = isClient(db) ? await underCatalogPath(db, statement) : await asQueryRows(db)(statement);
  if (row === undefined) throw new TypeError("the schema read returned no row");
  return Object.fromEntries(Object.keys(KINDS).map((kind) => [kind, jsonRows(row[kind], kind)])) as unknown as SchemaRows;
}

function isClient(db: Queryable | QueryRows): db is Sql {
  return typeof (db as Partial<Sql>).begin === "function";
}

/**
 * With a client of its own (dump, npm run snapshot), the statement is also
 * parsed under search_path pg_catalog, as the catalog queries were written
 * for: a search_path that puts a schema before pg_catalog, with a function
 * or operator named like one of pg_catalog's, cannot change what it calls.
 * Through the health check's port that cannot be had without a SET that
 * could stay behind on a pooled connection, so the set_config inside the
 * statement does it for the functions that print names.
 */
async function underCatalogPath(sql: Sql, statement: string): Promise<readonly Row[]> {
  return sql.begin("isolation level repeatable read read only", async (tx) => {
    await tx.unsafe("set local search_path = pg_catalog");
    return (await tx.unsafe(statement)) as unknown as Row[];
  });
}

/** Reads the schema from pg_catalog (see SCHEMA_READ): the same whatever the caller's search_path. */
export async function readSchema(db: Queryable | QueryRows, options: ReadSchemaOptions = {}): Promise<SchemaSnapshot> {
  return snapshotFromRows(await readSchemaRows(db, options), options);
}

const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const present = (key: string, value: string | null): Record<string, string> => (value === null ? {} : { [key]: value });

/** The catalog's rows as the snapshot's objects: no I/O, so any way of reading the rows gives the same snapshot. */
export function snapshotFromRows(rows: SchemaRows, options: ReadSchemaOptions = {}): SchemaSnapshot {
  const objects: SchemaObject[] = [];
  const add = (kind: SchemaObject["kind"], row: Row, properties: Record<string, PropertyValue>, table?: string) => {
    const comment = options.comments ? str(row.comment) : null;
    objects.push({ kind, name: String(row.name), ...(table === undefined ? {} : { table }), properties: comment === null ? properties : { ...properties, comment } });
  };
  for (const row of rows.extensions) add("extension", row, {});
  for (const row of rows.schemas) add("schema", row, {});
  for (const row of rows.types) {
    if (row.type_kind === "e") add("enum", row, { values: strings(row.values) });
    else add("domain", row, { type: str(row.base_type), not_null: row.not_null === true, default: str(row.default_value), checks: strings(row.checks) });
  }
  for (const row of rows.sequences) {
    add("sequence", row, {
      type: str(row.type), start: str(row.start), increment: str(row.increment), min: str(row.min), max: str(row.max),
      cache: str(row.cache), cycle: row.cycle === true, owned_by: str(row.owned_by),
    });
  }
  for (const row of rows.tables) {
    add("table", row, {
      partitioned: row.partitioned === true, unlogged: row.unlogged === true, row_level_security: row.row_level_security === true, force_row_level_security: row.force_row_level_security === true,
      // Only where there is one, so a plain table's entry is what it was.
      ...present("partition_key", str(row.partition_key)), ...present("partition_of", str(row.partition_of)),
      ...(strings(row.inherits).length > 0 ? { inherits: strings(row.inherits) } : {}),
    });
  }
  for (const row of rows.columns) {
    add("column", row, {
      type: str(row.type), not_null: row.not_null === true, default: str(row.default_value), identity: str(row.identity),
      generated: str(row.generated), generated_kind: str(row.generated_kind), collation: str(row.collation),
    }, String(row.table_name));
  }
  for (const row of rows.constraints) add("constraint", row, { type: str(row.type), definition: str(row.definition) }, String(row.table_name));
  for (const row of rows.indexes) {
    const definition = normaliseIndexDefinition(String(row.definition), String(row.name), String(row.table_name));
    add("index", row, { definition, valid: row.valid === true }, String(row.table_name));
  }
  for (const row of rows.triggers) {
    add("trigger", row, { definition: normaliseTriggerDefinition(String(row.definition), String(row.name)), firing: triggerFiring(String(row.firing)) }, String(row.table_name));
  }
  for (const row of rows.policies) {
    add("policy", row, {
      command: policyCommand(String(row.command)), permissive: row.permissive === true, roles: strings(row.roles),
      using: str(row.using_expression), with_check: str(row.with_check),
    }, String(row.table_name));
  }
  for (const row of rows.views) {
    const options = strings(row.options);
    add(row.materialized === true ? "materialized view" : "view", row, { definition: normaliseViewDefinition(String(row.definition)), ...(options.length > 0 ? { options } : {}) });
  }
  for (const row of rows.routines) {
    const procedure = row.procedure === true;
    add(procedure ? "procedure" : "function", row, {
      ...(procedure ? {} : { returns: str(row.returns) }),
      language: str(row.language), volatility: str(row.volatility), strict: row.strict === true,
      security_definer: row.security_definer === true, settings: strings(row.settings), body_sha256: str(row.body_sha256),
      ...present("arguments", str(row.arguments)),
    });
  }
  return buildSnapshot(objects);
}
