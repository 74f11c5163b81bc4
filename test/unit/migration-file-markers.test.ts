import { describe, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { parseMigrationText } from "../../src/core/migration-file.ts";
import { mulberry32, randomText } from "./helpers.ts";

/**
 * parseMigrationText finds marker lines with one search over the text. The
 * reference below is the former reading, every line taken apart in turn:
 * both must find the same markers and refuse the same lines with the same
 * line numbers, whatever the text.
 */
const MARKER = /^--\s*migrate:(up|down)(?:\s+(.*))?$/;
const MARKER_LOOKALIKE = /^\s*--\s*migrate\s*:|^\s*--\s*migrate[\s_-]*(?:up|down)\s*$/i;

type Found = { part: string; start: number; end: number; lineNumber: number; options: string } | { refused: number; line: string } | { twice: string } | { downFirst: true };

function markerLinesLineByLine(text: string): Found[] {
  const found: Found[] = [];
  const seen = new Set<string>();
  let lineStart = 0;
  for (let lineNumber = 1; lineStart <= text.length; lineNumber++) {
    const newline = text.indexOf("\n", lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    const line = text.slice(lineStart, lineEnd).trimEnd();
    const match = MARKER.exec(line);
    if (match) {
      const part = match[1] ?? "";
      if (seen.has(part)) return [...found, { twice: part }];
      if (part === "up" && seen.has("down")) return [...found, { downFirst: true }];
      seen.add(part);
      found.push({ part, start: lineStart, end: lineEnd, lineNumber, options: (match[2] ?? "").trim() });
    } else if (MARKER_LOOKALIKE.test(line)) return [...found, { refused: lineNumber, line }];
    if (newline === -1) break;
    lineStart = newline + 1;
  }
  return found;
}

/** What parseMigrationText made of the same text, in the reference's terms. */
function markerLinesOfParser(text: string): Found[] | "other error" {
  const expected = markerLinesLineByLine(text);
  try {
    const parsed = parseMigrationText("x.sql", text);
    const markers = expected.filter((entry): entry is Extract<Found, { part: string }> => "part" in entry);
    // Where the reference found markers, the parser's parts must start and end exactly after/before them.
    const up = markers.find((entry) => entry.part === "up");
    const down = markers.find((entry) => entry.part === "down");
    if (up && parsed.upOffset !== Math.min(up.end + 1, text.length)) return "other error";
    if (!up && parsed.up !== text) return "other error";
    if ((down === undefined) !== (parsed.down === null)) return "other error";
    if (down && parsed.down !== text.slice(Math.min(down.end + 1, text.length))) return "other error";
    return markers;
  } catch (error) {
    if (!(error instanceof MigrateError)) throw error;
    const markers = expected.filter((entry) => "part" in entry);
    if (error.code === "PARSE_MARKER_MALFORMED") {
      const lineNumber = Number(/line (\d+)/.exec(error.message)?.[1]);
      const refused = expected.find((entry): entry is Extract<Found, { refused: number }> => "refused" in entry);
      return [...markers, { refused: lineNumber, line: refused?.line ?? "" }];
    }
    if (error.code === "PARSE_DUPLICATE_MARKER") return [...markers, { twice: /migrate:(up|down)/.exec(error.message)?.[1] ?? "" }];
    if (error.code === "PARSE_DOWN_BEFORE_UP") return [...markers, { downFirst: true }];
    // Errors after the markers were found (SQL above up, a bad option): the markers themselves agreed.
    return expected.some((entry) => !("part" in entry)) ? "other error" : markers;
  }
}

const PIECES = [
  "\n", "\n", "\n", " ", "\t", "\u2028", "\u00a0", "--", "-- ", "--\t", "migrate", "MIGRATE", "Migrate", ":", "up", "down", "DOWN",
  "_", "-", " transaction:false", " formerly:001_a", "select 1;", "create table t (id int);", "x", "'", "$$", "/*", "*/",
];

describe("parseMigrationText finds markers as a line-by-line reading does", () => {
  test("on 20,000 random texts built from marker-like pieces", () => {
    const random = mulberry32(14);
    for (let round = 0; round < 20_000; round++) {
      const text = randomText(random, PIECES, 1 + Math.floor(random() * 24));
      const expected = markerLinesLineByLine(text);
      const actual = markerLinesOfParser(text);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        throw new Error(`differs on ${JSON.stringify(text)}: parser ${JSON.stringify(actual)}, line by line ${JSON.stringify(expected)}`);
      }
    }
  });

  test.each([
    ["markers preceded by spaces are refused with their line", "select 1;\n  -- migrate:up\n", 2],
    ["a marker after a U+2028 inside a line is not at a line start", "select 1; \u2028-- migrate:down\n-- migrate:up\nx\n", 0],
    ["a lookalike on the last line without a newline", "-- migrate:up\nselect 1;\n\n--migrate down", 4],
    ["two candidates on one line count once", "-- migrate:up -- migrate:down\nx\n", 0],
  ])("%s", (_label, text, refusedLine) => {
    const expected = markerLinesLineByLine(text);
    expect(markerLinesOfParser(text)).toEqual(expected);
    const refused = expected.find((entry) => "refused" in entry) as { refused: number } | undefined;
    expect(refused?.refused ?? 0).toBe(refusedLine);
  });
});
