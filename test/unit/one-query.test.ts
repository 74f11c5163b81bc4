import { describe, expect, test } from "bun:test";
import { composeOneQuery } from "../../src/db/one-query.ts";

describe("composeOneQuery", () => {
  const file = "create table é (id int);\nselect 1/;\n\n";
  const query = composeOneQuery("begin; select 1;\n", file, "insert into t values (1); commit");
  const prefixLength = "begin; select 1;\n".length;

  test("the file sits between the prefix and the finish, its last statement ended", () => {
    expect(query.text.startsWith(`begin; select 1;\n${file}`)).toBe(true);
    expect(query.text.endsWith("\n;\ninsert into t values (1); commit")).toBe(true);
  });
  test("a position inside the file maps to the file, counted in characters", () => {
    expect(query.positionInFile(prefixLength + 1)).toBe(1);
    const slash = Array.from(file).indexOf("/") + 1;
    expect(query.positionInFile(prefixLength + slash)).toBe(slash);
  });
  test("a position in the prefix or the finish is not in the file", () => {
    expect(query.positionInFile(3)).toBeNull();
    expect(query.positionInFile(query.text.length)).toBeNull();
    expect(query.positionInFile(null)).toBeNull();
  });
  test("the separator after the file points just past its last character that is not white space", () => {
    const contentLength = Array.from(file.trimEnd()).length;
    expect(query.positionInFile(prefixLength + Array.from(file).length + 2)).toBe(contentLength + 1);
  });
});
