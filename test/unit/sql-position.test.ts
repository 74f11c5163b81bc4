import { describe, expect, test } from "bun:test";
import { clipText, excerptAround, locateInFile } from "../../src/core/sql-position.ts";

/** The character (code point) a position's column points at in its line. */
const charAt = (lineText: string, column: number): string | undefined => Array.from(lineText)[column - 1];

describe("locateInFile", () => {
  test("position 1 maps to the first character of the query", () => {
    expect(locateInFile("select 1;", 0, 1)).toEqual({ line: 1, column: 1, lineText: "select 1;" });
  });

  test("position 1 with a query offset maps to the query's first character", () => {
    const file = "-- migrate:up\ncreate table a (id int);\n";
    const offset = file.indexOf("create");
    expect(locateInFile(file, offset, 1)).toEqual({ line: 2, column: 1, lineText: "create table a (id int);" });
  });

  test("a position inside the first line", () => {
    expect(locateInFile("select bogus;", 0, 8)).toEqual({ line: 1, column: 8, lineText: "select bogus;" });
  });

  test("a query offset into a multi-line file gives the right line, column and line text", () => {
    const file = "-- migrate:up\ncreate table a (\n  id int,\n  nme txet\n);\n-- migrate:down\ndrop table a;\n";
    const queryOffset = file.indexOf("create");
    const serverPosition = file.indexOf("txet") - queryOffset + 1;
    const position = locateInFile(file, queryOffset, serverPosition);
    expect(position).toEqual({ line: 4, column: 7, lineText: "  nme txet" });
  });

  test("a query that starts in the middle of a line (second statement of a transaction:false file)", () => {
    const file = "select 1; select bogus from t;\n";
    const queryOffset = file.indexOf("select bogus");
    const position = locateInFile(file, queryOffset, 8);
    expect(position).toEqual({ line: 1, column: 18, lineText: file.trimEnd() });
    expect(charAt(position?.lineText ?? "", position?.column ?? 0)).toBe("b");
  });

  test("a position on a later line of a query that started mid-file", () => {
    const file = "a\nb\nselect\n  x,\n  yy\nfrom t;";
    const queryOffset = file.indexOf("select");
    const position = locateInFile(file, queryOffset, "select\n  x,\n  ".length + 1);
    expect(position).toEqual({ line: 5, column: 3, lineText: "  yy" });
  });

  test("the last line without a trailing newline", () => {
    const file = "select 1;\nselect x";
    expect(locateInFile(file, 10, 8)).toEqual({ line: 2, column: 8, lineText: "select x" });
  });

  test("positions count code points: an emoji before the position counts as one", () => {
    const file = "select '😀', bogus";
    // PostgreSQL counts: s,e,l,e,c,t,space,',😀,',comma,space => "bogus" is character 13.
    // In UTF-16 the emoji is two units, so "bogus" is at string index 13 (position 14 if counted naively).
    expect(file.indexOf("bogus")).toBe(13);
    const position = locateInFile(file, 0, 13);
    expect(position).toEqual({ line: 1, column: 13, lineText: file });
    expect(charAt(file, position?.column ?? 0)).toBe("b");
  });

  test("code points are counted on earlier lines and in the column alike", () => {
    const file = "-- migrate:up\ninsert into t values ('😀😀');\nselect é, 😀, bogus;\n";
    const queryOffset = file.indexOf("insert");
    const query = file.slice(queryOffset);
    const serverPosition = Array.from(query.slice(0, query.indexOf("bogus"))).length + 1;
    const position = locateInFile(file, queryOffset, serverPosition);
    expect(position?.line).toBe(3);
    expect(position?.lineText).toBe("select é, 😀, bogus;");
    expect(position?.column).toBe(14);
    expect(charAt(position?.lineText ?? "", position?.column ?? 0)).toBe("b");
  });

  test("a position just past the end of the query (syntax error at end of input) points after the last character", () => {
    expect(locateInFile("select 1 +", 0, 11)).toEqual({ line: 1, column: 11, lineText: "select 1 +" });
  });

  test("position 0 returns null", () => {
    expect(locateInFile("select 1;", 0, 0)).toBeNull();
  });

  test("negative, fractional and NaN positions return null", () => {
    expect(locateInFile("select 1;", 0, -1)).toBeNull();
    expect(locateInFile("select 1;", 0, 1.5)).toBeNull();
    expect(locateInFile("select 1;", 0, Number.NaN)).toBeNull();
    expect(locateInFile("select 1;", 0, Number.POSITIVE_INFINITY)).toBeNull();
  });

  test("a query offset past the end of the file returns null", () => {
    expect(locateInFile("abc", 5, 1)).toBeNull();
  });
});

describe("regressions found in review", () => {
  test("a position past the end of input (beyond length + 1) is not in the file", () => {
    expect(locateInFile("select 1", 0, 100)).toBeNull();
    expect(locateInFile("select 1", 0, 9)).toMatchObject({ line: 1, column: 9 });
  });
  test("a newline at index 0 is on line 1", () => {
    expect(locateInFile("\nselect", 0, 1)).toMatchObject({ line: 1, column: 1, lineText: "" });
  });
});

describe("a long line's excerpt never shows a piece of a secret", () => {
  const secret = "Zq7-longer-password-of-30-char";
  // The failing column is far from the start, and the 160-character window starts inside the password.
  const line = `select '${secret}' as pw, ${"x, ".repeat(17)}no_such_column, ${"y, ".repeat(60)}1 from t;`;
  const column = line.indexOf("no_such_column") + 1;

  test("the secret is cut out of the whole line before the line is shortened", () => {
    expect(excerptAround(line, column).text).toContain(secret.slice(-20));
    const excerpt = excerptAround(line, column, 160, [secret]);
    for (let length = 4; length <= secret.length; length++) expect(excerpt.text).not.toContain(secret.slice(-length));
    expect(Array.from(excerpt.text)[excerpt.column - 1]).toBe("n");
  });
  test("the caret stays under its column when a secret before it is replaced", () => {
    const short = `select '${secret}' as pw, no_such_column;`;
    const at = Array.from(short).indexOf("n", short.indexOf("no_such")) + 1;
    const excerpt = excerptAround(short, at, 160, [secret]);
    expect(excerpt.text).toBe("select '***' as pw, no_such_column;");
    expect(Array.from(excerpt.text)[excerpt.column - 1]).toBe("n");
  });
  test("a URL's password is cut out before the line is shortened, even with no secret known", () => {
    const urlLine = `select dblink_connect('postgres://app:${"w".repeat(150)}@h/db'), ${"y, ".repeat(40)}bad;`;
    expect(excerptAround(urlLine, Array.from(urlLine).length - 3).text).not.toContain("wwww");
  });
  test("clipText cuts a secret out before clipping", () => {
    const text = `${"m".repeat(990)}${secret} more`;
    expect(clipText(text, 1000, [secret])).not.toContain(secret.slice(0, 8));
  });
});
