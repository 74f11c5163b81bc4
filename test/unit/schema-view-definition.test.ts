/** pg_get_viewdef's text as PostgreSQL 16+ prints it, from what 14 and 15 print (seen on 14.23 and 17 here). */
import { describe, expect, test } from "bun:test";
import { normaliseViewDefinition } from "../../src/core/schema/view-definition.ts";

describe("normaliseViewDefinition", () => {
  test("a one-relation view's qualified columns (PostgreSQL 14, 15) read as 16+ prints them", () => {
    expect(normaliseViewDefinition(" SELECT notes.owner_name\n   FROM public.notes;")).toBe("SELECT owner_name FROM public.notes");
    expect(normaliseViewDefinition(" SELECT notes.owner_name,\n    sum(notes.points::integer) AS total\n   FROM public.notes\n  GROUP BY notes.owner_name;")).toBe(
      "SELECT owner_name, sum(points::integer) AS total FROM public.notes GROUP BY owner_name",
    );
    expect(normaliseViewDefinition(" SELECT n.owner_name,\n    n.id\n   FROM public.notes n\n  WHERE n.body <> 'x'::text\n  ORDER BY n.id;")).toBe(
      "SELECT owner_name, id FROM public.notes n WHERE body <> 'x'::text ORDER BY id",
    );
  });

  test("what 16+ prints is left as it is", () => {
    for (const text of ["SELECT owner_name FROM public.notes", "SELECT owner_name, id FROM public.notes n WHERE body <> 'x'::text ORDER BY id"]) {
      expect(normaliseViewDefinition(text)).toBe(text);
    }
  });

  test("subqueries keep their qualifiers; the outer level loses its own", () => {
    expect(
      normaliseViewDefinition("SELECT notes.owner_name FROM public.notes WHERE (notes.id IN ( SELECT t2.id FROM public.t2 WHERE t2.owner_name = notes.owner_name))"),
    ).toBe("SELECT owner_name FROM public.notes WHERE (id IN (SELECT t2.id FROM public.t2 WHERE t2.owner_name = notes.owner_name))");
  });

  test("joins, several relations, set operations, string literals and quoted names are never rewritten wrongly", () => {
    const join = "SELECT notes.owner_name, t2.id FROM public.notes JOIN public.t2 ON t2.owner_name = notes.owner_name";
    expect(normaliseViewDefinition(join)).toBe(join);
    const comma = "SELECT a.x, b.y FROM public.a, public.b";
    expect(normaliseViewDefinition(comma)).toBe(comma);
    const union = "SELECT a.x FROM public.a UNION SELECT a.x FROM public.a";
    expect(normaliseViewDefinition(union)).toBe(union);
    expect(normaliseViewDefinition("SELECT 'notes.owner_name'::text AS s, notes.owner_name || 'it''s notes.x'::text AS o FROM public.notes")).toBe(
      "SELECT 'notes.owner_name'::text AS s, owner_name || 'it''s notes.x'::text AS o FROM public.notes",
    );
    expect(normaliseViewDefinition('SELECT "Odd Table".id FROM public."Odd Table"')).toBe('SELECT id FROM public."Odd Table"');
  });
});
