import { type PropertyValue, type SchemaObject, type SchemaSnapshot, buildSnapshot } from "../../core/schema/model.ts";
import { normaliseIndexDefinition, normaliseTriggerDefinition, policyCommand, triggerFiring } from "../../core/schema/normalise.ts";
import type { Sql } from "../connection.ts";
import * as queries from "./queries.ts";
import { normaliseViewDefinition } from "../../core/schema/view-definition.ts";

export interface ReadSchemaOptions {
  /** Include COMMENT ON texts (off by default: comments are documentation, not what the API depends on). */
  readonly comments?: boolean;
}

type Row = Record<string, unknown>;

const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/**
 * Reads the schema from pg_catalog: one read-only transaction (one
 * consistent view), its queries sent together, search_path pg_catalog so the
 * server qualifies every name it prints.
 */
export async function readSchema(sql: Sql, options: ReadSchemaOptions = {}): Promise<SchemaSnapshot> {
  const rows = await sql.begin("isolation level repeatable read read only", async (tx) => {
    await tx.unsafe("set local search_path = pg_catalog");
    const run = (text: string) => tx.unsafe<Row[]>(text) as unknown as Promise<Row[]>;
    const [extensions, schemas, types, sequences, tables, columns, constraints, indexes, triggers, policies, views, routines] = await Promise.all([
      run(queries.EXTENSIONS),
      run(queries.SCHEMAS),
      run(queries.TYPES),
      run(queries.SEQUENCES),
      run(queries.TABLES),
      run(queries.COLUMNS),
      run(queries.CONSTRAINTS),
      run(queries.INDEXES),
      run(queries.TRIGGERS),
      run(queries.POLICIES),
      run(queries.VIEWS),
      run(queries.ROUTINES),
    ]);
    return { extensions, schemas, types, sequences, tables, columns, constraints, indexes, triggers, policies, views, routines };
  });
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
    add("table", row, { partitioned: row.partitioned === true, unlogged: row.unlogged === true, row_level_security: row.row_level_security === true, force_row_level_security: row.force_row_level_security === true });
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
  for (const row of rows.views) add(row.materialized === true ? "materialized view" : "view", row, { definition: normaliseViewDefinition(String(row.definition)) });
  for (const row of rows.routines) {
    const procedure = row.procedure === true;
    add(procedure ? "procedure" : "function", row, {
      ...(procedure ? {} : { returns: str(row.returns) }),
      language: str(row.language), volatility: str(row.volatility), strict: row.strict === true,
      security_definer: row.security_definer === true, settings: strings(row.settings), body_sha256: str(row.body_sha256),
    });
  }
  return buildSnapshot(objects);
}
