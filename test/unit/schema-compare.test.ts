/** Drift: the expected snapshot's text against the live one's, without a database. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compareSnapshots, noDrift } from "../../src/core/schema/compare.ts";
import { isReadableFormat, parseSnapshotText, readExpectedSnapshot, snapshotEntries, topLevelParts } from "../../src/core/schema/snapshot-text.ts";
import { MigrateError } from "../../src/core/errors.ts";
import { buildSnapshot } from "../../src/core/schema/model.ts";
import { SNAPSHOT_TEXT_HEADER, snapshotTrailer } from "../../src/core/schema/render.ts";

const seedSnapshot = readFileSync(join(import.meta.dir, "../../migrations/schema.snapshot"), "utf8");
const text = (...lines: string[]) => [...SNAPSHOT_TEXT_HEADER, "", ...lines, ""].join("\n");
const lines = (expected: string, actual: string) => {
  const drift = compareSnapshots(parseSnapshotText(expected), parseSnapshotText(actual));
  return { missing: drift.missing.map((d) => d.line), changed: drift.changed.map((d) => d.line), extra: drift.extra.map((d) => d.line) };
};
const replaceLine = (from: string, to: string | null) => {
  expect(seedSnapshot).toContain(`${from}\n`);
  return seedSnapshot.replace(`${from}\n`, to === null ? "" : `${to}\n`);
};

describe("parseSnapshotText", () => {
  test("reads the committed snapshot: its format, every table's members under it", () => {
    const parsed = parseSnapshotText(seedSnapshot);
    expect(isReadableFormat(parsed)).toBe(true);
    const email = parsed.entries.find((entry) => entry.kind === "column" && entry.table === "public.users" && entry.name === "email");
    expect(email?.parts[0]).toBe("character varying(255)");
    expect(email?.parts).toContain("not null");
    expect(parsed.entries.filter((entry) => entry.table === undefined).map((entry) => entry.kind)).toContain("function");
  });

  test("reads back exactly what the renderer writes, for every object", () => {
    const snapshot = buildSnapshot([
      { kind: "table", name: "public.t", properties: {} },
      { kind: "column", table: "public.t", name: '"odd: name"', properties: { type: "text", not_null: true, default: "'a, b'::text" } },
      { kind: "materialized view", name: "public.m", properties: { definition: "SELECT 1 AS one" } },
      { kind: "index", table: "public.m", name: "m_idx", properties: { definition: "btree (one)", valid: true } },
      { kind: "enum", name: "public.mood", properties: { values: ["sad", "o'k"] } },
    ]);
    const parsed = snapshotEntries(snapshot);
    expect(parsed.entries.map((entry) => [entry.kind, entry.table ?? null, entry.name])).toEqual([
      ["enum", null, "public.mood"],
      ["table", null, "public.t"],
      ["column", "public.t", '"odd: name"'],
      ["materialized view", null, "public.m"],
      ["index", "public.m", "m_idx"],
    ]);
    expect(parsed.entries[2]?.parts).toEqual(["text", "not null", "default 'a, b'::text"]);
    expect(parsed.entries[0]?.parts).toEqual(["'sad'", "'o''k'"]);
  });

  test("a line that is not an object, or a member before any table, is refused with its line number", () => {
    expect(() => parseSnapshotText("bogus thing\n")).toThrow("line 1");
    expect(() => parseSnapshotText("-- header\n  column x: int\n")).toThrow("line 2");
  });

  test("a snapshot of another format is recognised, so it can be reported rather than misjudged", () => {
    expect(isReadableFormat(parseSnapshotText("-- Schema snapshot (st44-migrate dump, format 99): future\n"))).toBe(false);
    expect(isReadableFormat(parseSnapshotText("table public.t\n"))).toBe(false);
  });
});

describe("topLevelParts", () => {
  test("splits at top-level commas only", () => {
    expect(topLevelParts("UNIQUE (a, b), INVALID")).toEqual(["UNIQUE (a, b)", "INVALID"]);
    expect(topLevelParts(`returns TABLE(a integer, b text), language sql, set search_path=a, b`)).toEqual(["returns TABLE(a integer, b text)", "language sql", "set search_path=a", "b"]);
    expect(topLevelParts(`default '(', not null`)).toEqual(["default '('", "not null"]);
  });
});

describe("compareSnapshots", () => {
  test("the same text: no drift", () => {
    const parsed = parseSnapshotText(seedSnapshot);
    expect(noDrift(compareSnapshots(parsed, parsed))).toBe(true);
  });

  test("a dropped column is missing, a retyped one changed, with the old and new type", () => {
    const dropped = replaceLine("  column birth_year: integer", null);
    expect(lines(seedSnapshot, dropped)).toEqual({ missing: ["missing column children.birth_year"], changed: [], extra: [] });
    const retyped = replaceLine("  column birth_year: integer", "  column birth_year: bigint");
    expect(lines(seedSnapshot, retyped).changed).toEqual(["changed column children.birth_year: integer → bigint"]);
  });

  test("a lost NOT NULL or a new default says which", () => {
    const nullable = replaceLine("  column household_id: uuid, not null", "  column household_id: uuid");
    expect(lines(seedSnapshot, nullable).changed[0]).toBe("changed column children.household_id: now nullable");
    const defaulted = replaceLine("  column birth_year: integer", "  column birth_year: integer, default 2000");
    expect(lines(seedSnapshot, defaulted).changed).toEqual(["changed column children.birth_year: gained default 2000"]);
  });

  test("a replaced function body is `body differs`, not two hashes", () => {
    const expected = text("function public.f(): returns trigger, language plpgsql, volatile, body sha256 aaaa");
    const actual = text("function public.f(): returns trigger, language plpgsql, volatile, body sha256 bbbb");
    expect(lines(expected, actual).changed).toEqual(["changed function f(): body differs"]);
  });

  test("an index the server left invalid is `invalid index`; a missing table is one line, not one per member", () => {
    const expected = text("table public.t", "  column id: integer", "  index t_idx: btree (id)", "", "table public.u", "  column id: integer");
    const actual = text("table public.t", "  column id: integer", "  index t_idx: btree (id), INVALID");
    expect(lines(expected, actual)).toEqual({ missing: ["missing table u"], changed: ["invalid index t.t_idx"], extra: [] });
  });

  test("objects only in the live schema are extra; an extra table is one line", () => {
    const actual = text("table public.t", "  column id: integer", "  index t_x: btree (id), INVALID", "", "table audit.log", "  column at: timestamp");
    expect(lines(text("table public.t", "  column id: integer"), actual).extra).toEqual(["extra index t.t_x: invalid", "extra table audit.log"]);
  });

  test("comments do not count as drift", () => {
    expect(lines(text("table public.t: comment 'x'"), text("table public.t"))).toEqual({ missing: [], changed: [], extra: [] });
  });
});

/** readExpectedSnapshot's SNAPSHOT_INVALID message for `text`. */
function refusal(text: string): string {
  try {
    readExpectedSnapshot(text, "schema.snapshot");
  } catch (error) {
    expect(error).toBeInstanceOf(MigrateError);
    expect((error as MigrateError).code).toBe("SNAPSHOT_INVALID");
    return (error as MigrateError).message;
  }
  throw new Error("accepted");
}

describe("a damaged expected snapshot is refused, not read as another schema", () => {
  const complete = (...lines: string[]) => `${text(...lines)}\n${snapshotTrailer(lines.filter((line) => line !== "").length)}\n`;

  test("the committed snapshot and a complete text are accepted", () => {
    expect(readExpectedSnapshot(seedSnapshot, "migrations/schema.snapshot").entries.length).toBeGreaterThan(50);
    expect(readExpectedSnapshot(complete("table public.t", "  column id: integer"), "x").entries).toHaveLength(2);
  });

  test("cut short (no end line, or fewer objects than it says)", () => {
    expect(refusal(seedSnapshot.slice(0, seedSnapshot.indexOf("table public.tasks")))).toContain("has no end-of-snapshot line, so it was cut short");
    expect(refusal(seedSnapshot.replace("  column birth_year: integer\n", ""))).toMatch(/says it lists 98 objects and lists 97/);
    expect(refusal(`${seedSnapshot}table public.more\n`)).toContain("follows the end-of-snapshot line");
  });

  test("a member not indented, a table indented, a member under a kind that owns none, a line twice, each with its line", () => {
    expect(refusal(complete("table public.t", "column id: integer"))).toMatch(/line \d+ lists a column without indenting it under its table/);
    expect(refusal(complete("table public.t", "  table public.u"))).toMatch(/line \d+ indents a table, which belongs to no table/);
    expect(refusal(complete("schema public", "  column id: integer"))).toMatch(/line \d+ is indented \(a table's member\) but follows no table, view or materialized view/);
    expect(refusal(complete("table public.t", "  column id: integer", "  column id: bigint"))).toMatch(/line \d+ lists column public.t id a second time/);
  });

  test("a byte-order mark is not part of the text", () => {
    expect(readExpectedSnapshot(`\uFEFF${seedSnapshot}`, "x").entries.length).toBe(98);
  });
});

describe("what a changed object's line says", () => {
  const change = (kind: string, from: string, to: string) => lines(text(`${kind}: ${from}`), text(`${kind}: ${to}`)).changed;

  test("a column by attribute, unrelated attributes not paired", () => {
    expect(lines(text("table public.t", "  column p: integer, not null"), text("table public.t", "  column p: integer, default 5")).changed).toEqual(["changed column t.p: now nullable; gained default 5"]);
    expect(lines(text("table public.t", "  column p: integer, not null, default 10"), text("table public.t", "  column p: bigint, default 10")).changed).toEqual(["changed column t.p: integer → bigint; now nullable"]);
  });

  test("a reordering is never a blank line; definitions are shown whole, or named when too long for one line", () => {
    expect(change("enum public.e", "'a', 'b', 'c'", "'a', 'c', 'b'")).toEqual(["changed enum e: 'a', 'b', 'c' → 'a', 'c', 'b'"]);
    expect(change("enum public.e", "'a', 'b'", "'a', 'b', 'c'")).toEqual(["changed enum e: gained 'c'"]);
    expect(change("view public.v", "SELECT id, a, b FROM t", "SELECT id, b, a FROM t")).toEqual(["changed view v: SELECT id, a, b FROM t → SELECT id, b, a FROM t"]);
    const long = `SELECT ${Array.from({ length: 40 }, (_, index) => `c${index}`).join(", ")} FROM t`;
    expect(change("view public.v", long, `${long} WHERE c1 > 0`)).toEqual(["changed view v: definition differs"]);
    expect(lines(text("table public.t", "  trigger tr: BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION f()"), text("table public.t", "  trigger tr: BEFORE UPDATE ON public.t FOR EACH ROW EXECUTE FUNCTION f()")).changed).toEqual([
      "changed trigger t.tr: BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION f() → BEFORE UPDATE ON public.t FOR EACH ROW EXECUTE FUNCTION f()",
    ]);
  });

  test("a function: the body as `body differs`, other attributes beside it", () => {
    expect(change("function public.f()", "returns integer, language sql, volatile, body sha256 aa", "returns integer, language sql, stable, body sha256 bb")).toEqual([
      "changed function f(): body differs; volatile → stable",
    ]);
  });

  test("only a last `comment '…'` part is a comment: a setting that looks like one still counts", () => {
    expect(change("function public.f()", "language sql, set x=a, comment 'b', body sha256 aa", "language sql, set x=a, comment 'c', body sha256 aa")).toHaveLength(1);
  });
});
