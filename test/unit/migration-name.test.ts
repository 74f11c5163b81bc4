import { describe, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { looksLikeMigration, nextMigrationFileName, parseFileName } from "../../src/core/migration-name.ts";
import { expectMigrateError } from "./helpers.ts";

describe("parseFileName", () => {
  test("accepts NNN_name.sql", () => {
    expect(parseFileName("011_create_x.sql")).toEqual({ version: "011", name: "create_x" });
  });

  test("accepts hyphens and digits in the name and a single digit version", () => {
    expect(parseFileName("7_add-index-2.sql")).toEqual({ version: "7", name: "add-index-2" });
  });

  test("accepts a very long version", () => {
    expect(parseFileName("20240101123000_init.sql")).toEqual({ version: "20240101123000", name: "init" });
  });

  const invalid: [string, string][] = [
    ["a space in the name", "011_create x.sql"],
    ["a leading space", " 011_x.sql"],
    ["unicode letters", "011_café.sql"],
    ["an emoji", "011_😀.sql"],
    ["a path", "../x.sql"],
    ["a path with a valid base", "dir/011_x.sql"],
    ["no underscore", "011.sql"],
    ["no underscore, name glued on", "011create.sql"],
    ["no digits", "create_x.sql"],
    ["an empty name", "011_.sql"],
    ["a name starting with an underscore", "011__x.sql"],
    ["a name starting with a hyphen", "011_-x.sql"],
    ["upper-case extension", "011_x.SQL"],
    ["mixed-case extension", "011_x.Sql"],
    ["another extension", "011_x.sql.bak"],
    ["no extension", "011_x"],
    ["a dot in the name", "011_x.y.sql"],
    ["non-ASCII digits", "٠١١_x.sql"],
    ["a negative version", "-1_x.sql"],
    ["the empty string", ""],
  ];
  for (const [why, fileName] of invalid) {
    test(`rejects ${why}: ${JSON.stringify(fileName)}`, () => {
      const error = expectMigrateError(() => parseFileName(fileName), "FILE_NAME_INVALID");
      expect(error.message).toContain(JSON.stringify(fileName));
      expect(error.message).toContain("NNN_name.sql");
      expect(error.message).toContain("Rename the file");
      expect(error.exitCode).toBe(2);
    });
  }
});

describe("looksLikeMigration", () => {
  test("any .sql ending counts, in any case, so a wrongly named file is reported rather than ignored", () => {
    expect(looksLikeMigration("011_x.sql")).toBe(true);
    expect(looksLikeMigration("011_x.SQL")).toBe(true);
    expect(looksLikeMigration("notes.sql")).toBe(true);
    expect(looksLikeMigration("README.md")).toBe(false);
    expect(looksLikeMigration("011_x.sql.bak")).toBe(false);
  });
});

describe("nextMigrationFileName", () => {
  test("one above the highest, padded like the others", () => {
    expect(nextMigrationFileName(["000_a.sql", "016_b.sql", "011_c.sql"], "add_notes")).toBe("017_add_notes.sql");
    expect(nextMigrationFileName([], "first")).toBe("000_first.sql");
    expect(nextMigrationFileName(["20240101120000_x.sql"], "y")).toBe("20240101120001_y.sql");
  });
  test("names that are not snake_case are refused", () => {
    for (const name of ["Add Notes", "../x", "ünïcode", "-x", ""]) {
      expect(() => nextMigrationFileName([], name)).toThrow(MigrateError);
    }
  });
});
