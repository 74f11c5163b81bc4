/** The pure schema model, its normalisation and its text: no database. */
import { describe, expect, test } from "bun:test";
import { type SchemaObject, buildSnapshot, objectKey } from "../../src/core/schema/model.ts";
import { normaliseDefinition, normaliseIndexDefinition, normaliseTriggerDefinition, policyCommand } from "../../src/core/schema/normalise.ts";
import { renderObjectLine, renderSnapshotJson, renderSnapshotText } from "../../src/core/schema/render.ts";

const table = (name: string, properties: SchemaObject["properties"] = {}): SchemaObject => ({ kind: "table", name, properties });
const column = (tableName: string, name: string, type: string): SchemaObject => ({ kind: "column", table: tableName, name, properties: { type, not_null: false, default: null } });

describe("buildSnapshot", () => {
  test("orders by kind, then schema-qualified name (code units, not the locale), each table's members right after it", () => {
    const snapshot = buildSnapshot([
      { kind: "function", name: "public.f()", properties: {} },
      column("public.b", "z", "text"),
      table("public.b"),
      { kind: "index", table: "public.b", name: "b_idx", properties: {} },
      column("public.b", "A", "text"),
      table("app.a"),
      { kind: "extension", name: "pg_trgm", properties: {} },
      { kind: "materialized view", name: "public.m", properties: {} },
      { kind: "index", table: "public.m", name: "m_idx", properties: {} },
    ]);
    expect(snapshot.objects.map(objectKey)).toEqual([
      "extension pg_trgm",
      "table app.a",
      "table public.b",
      "column public.b A",
      "column public.b z",
      "index public.b b_idx",
      "materialized view public.m",
      "index public.m m_idx",
      "function public.f()",
    ]);
  });

  test("the input's order and the properties' order do not matter: equal schemas give equal JSON", () => {
    const objects = [table("public.t", { row_level_security: false, partitioned: false }), column("public.t", "id", "uuid")];
    const reordered = [column("public.t", "id", "uuid"), table("public.t", { partitioned: false, row_level_security: false })];
    expect(renderSnapshotJson(buildSnapshot(reordered))).toBe(renderSnapshotJson(buildSnapshot(objects)));
    expect(Object.keys(buildSnapshot(objects).objects[0]?.properties ?? {})).toEqual(["partitioned", "row_level_security"]);
  });

  test("two objects with one key are refused: a comparison could not tell them apart", () => {
    expect(() => buildSnapshot([table("public.t"), table("public.t")])).toThrow('two schema objects share the key "table public.t"');
  });

  test("a member's key names its table, so equal names on two tables are two objects", () => {
    expect(objectKey(column("public.a", "id", "uuid"))).not.toBe(objectKey(column("public.b", "id", "uuid")));
  });
});

describe("normalisation", () => {
  test("a view's layout is reduced to single spaces on one line; literals and quoted names keep theirs", () => {
    expect(normaliseDefinition(" SELECT a,\n    'x  y' AS \"b  c\"\n   FROM ( SELECT 1 AS a\n  ) s;")).toBe("SELECT a, 'x  y' AS \"b  c\" FROM (SELECT 1 AS a) s");
  });

  test("an index definition without its name and table, which are its key", () => {
    expect(normaliseIndexDefinition("CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)", "users_pkey", "public.users")).toBe("UNIQUE btree (id)");
    expect(normaliseIndexDefinition("CREATE INDEX i ON ONLY public.p USING btree (x)", "i", "public.p")).toBe("ONLY btree (x)");
    expect(normaliseIndexDefinition('CREATE INDEX "Odd" ON public.t USING gin (x)', '"Odd"', "public.t")).toBe("gin (x)");
    // Not the shape expected: kept whole rather than cut wrongly.
    expect(normaliseIndexDefinition("CREATE INDEX other ON public.t USING btree (x)", "i", "public.t")).toBe("CREATE INDEX other ON public.t USING btree (x)");
  });

  test("a trigger definition without its name", () => {
    expect(normaliseTriggerDefinition("CREATE TRIGGER t BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.f()", "t")).toBe("BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.f()");
    expect(normaliseTriggerDefinition("CREATE CONSTRAINT TRIGGER t AFTER INSERT ON public.u FROM public.v FOR EACH ROW EXECUTE FUNCTION public.f()", "t")).toStartWith("CONSTRAINT AFTER INSERT");
  });

  test("policy commands by name", () => {
    expect(["r", "a", "w", "d", "*"].map(policyCommand)).toEqual(["SELECT", "INSERT", "UPDATE", "DELETE", "ALL"]);
  });
});

describe("text rendering", () => {
  test("one line per object: kind, name, then what it is", () => {
    expect(renderObjectLine({ kind: "column", table: "public.t", name: "id", properties: { type: "bigint", not_null: true, default: null, identity: "always", generated: null } })).toBe(
      "  column id: bigint, not null, generated always as identity",
    );
    expect(renderObjectLine({ kind: "enum", name: "app.mood", properties: { values: ["sad", "it's ok"] } })).toBe("enum app.mood: 'sad', 'it''s ok'");
    expect(renderObjectLine({ kind: "policy", table: "public.t", name: "p", properties: { command: "SELECT", permissive: false, roles: ["app"], using: "(a = 1)", with_check: null } })).toBe(
      "  policy p: restrictive for SELECT to app, using (a = 1)",
    );
    expect(renderObjectLine({ kind: "function", name: "public.f(integer)", properties: { returns: "integer", language: "sql", volatility: "stable", security_definer: true, strict: true, settings: ["search_path=pg_catalog"], body_sha256: "ab" } })).toBe(
      "function public.f(integer): returns integer, language sql, stable, strict, security definer, set search_path=pg_catalog, body sha256 ab",
    );
    expect(renderObjectLine({ kind: "index", table: "public.t", name: "i", properties: { definition: "btree (x)", valid: false } })).toBe("  index i: btree (x), INVALID");
  });

  test("a newline in a comment cannot split an object over two lines", () => {
    const line = renderObjectLine({ kind: "table", name: "public.t", properties: { comment: "one\ntwo" } });
    expect(line).toBe("table public.t: comment 'one\\ntwo'");
  });

  test("the whole text: header, then groups separated by blank lines, ending in a newline", () => {
    const text = renderSnapshotText(buildSnapshot([{ kind: "extension", name: "plpgsql", properties: {} }, table("public.t"), column("public.t", "id", "uuid")]));
    expect(text.split("\n").filter((line) => !line.startsWith("--"))).toEqual(["", "extension plpgsql", "", "table public.t", "  column id: uuid", "", ""]);
    expect(text.endsWith("\n\n-- end of snapshot: 3 objects\n")).toBe(true);
  });

  test("a newline in a name, and a backslash anywhere, keep one object on one line and stay distinct", () => {
    const real = renderObjectLine({ kind: "column", table: "public.t", name: '"x\ny"', properties: { type: "text", not_null: false, default: "'a\nb'::text" } });
    const typed = renderObjectLine({ kind: "column", table: "public.t", name: '"x\ny"', properties: { type: "text", not_null: false, default: "'a\\nb'::text" } });
    expect(real).toBe("  column \"x\\ny\": text, default 'a\\nb'::text");
    expect(typed).toBe("  column \"x\\ny\": text, default 'a\\\\nb'::text");
    expect(real).not.toBe(typed);
  });
});
