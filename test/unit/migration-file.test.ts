import { describe, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { normaliseText, parseMigrationText } from "../../src/core/migration-file.ts";
import { expectMigrateError, mulberry32, randomText } from "./helpers.ts";

describe("normaliseText", () => {
  test("strips a leading BOM", () => {
    expect(normaliseText("\uFEFFselect 1;\n")).toBe("select 1;\n");
  });

  test("keeps a BOM that is not at the start", () => {
    expect(normaliseText("a\uFEFFb")).toBe("a\uFEFFb");
  });

  test("turns CRLF into LF", () => {
    expect(normaliseText("a\r\nb\r\n")).toBe("a\nb\n");
  });

  test("turns a lone CR into LF", () => {
    expect(normaliseText("a\rb\r")).toBe("a\nb\n");
  });

  test("handles mixed endings and BOM together; CR CR LF gives two newlines", () => {
    expect(normaliseText("\uFEFFa\r\nb\rc\nd\r\r\ne")).toBe("a\nb\nc\nd\n\ne");
  });

  test("leaves LF text unchanged", () => {
    const text = "-- migrate:up\ncreate table a (id int);\n";
    expect(normaliseText(text)).toBe(text);
  });

  test("empty text stays empty", () => {
    expect(normaliseText("")).toBe("");
  });
});

describe("parseMigrationText without markers", () => {
  test("the whole file is up, down is null, upOffset is 0, transaction defaults to true", () => {
    const text = "create table a (id int);\ninsert into a values (1);\n";
    const parsed = parseMigrationText("001_a.sql", text);
    expect(parsed).toEqual({ up: text, upOffset: 0, down: null, options: { transaction: true } });
  });

  test("an empty file is an empty up", () => {
    expect(parseMigrationText("001_a.sql", "")).toEqual({ up: "", upOffset: 0, down: null, options: { transaction: true } });
  });

  test("a marker-like line that is not a marker is ordinary SQL", () => {
    const text = "-- migrate:upgrade the schema\nselect 1;\n";
    const parsed = parseMigrationText("001_a.sql", text);
    expect(parsed.up).toBe(text);
    expect(parsed.upOffset).toBe(0);
    expect(parsed.down).toBeNull();
  });

  test("an indented marker is not a marker", () => {
    const text = "  -- migrate:up\nselect 1;\n";
    expect(parseMigrationText("001_a.sql", text).up).toBe(text);
  });
});

describe("parseMigrationText with markers", () => {
  const text = "-- migrate:up\ncreate table a (id int);\n\n-- migrate:down\ndrop table a;\n";

  test("splits up and down at the markers", () => {
    const parsed = parseMigrationText("001_a.sql", text);
    expect(parsed.up).toBe("create table a (id int);\n\n");
    expect(parsed.down).toBe("drop table a;\n");
    expect(parsed.options).toEqual({ transaction: true });
  });

  test("upOffset points at the character right after the up marker line", () => {
    const parsed = parseMigrationText("001_a.sql", text);
    expect(parsed.upOffset).toBe("-- migrate:up\n".length);
    expect(text.slice(parsed.upOffset).startsWith("create table a (id int);")).toBe(true);
    expect(text.slice(parsed.upOffset, parsed.upOffset + parsed.up.length)).toBe(parsed.up);
  });

  test("upOffset is right when the up marker is preceded by other lines", () => {
    const withHeader = "-- a header comment\n\n-- migrate:up transaction:false\ncreate index concurrently i on a (id);\n";
    const parsed = parseMigrationText("002_b.sql", withHeader);
    expect(parsed.upOffset).toBe(withHeader.indexOf("create index"));
    expect(withHeader.slice(parsed.upOffset)).toBe(parsed.up);
    expect(parsed.up).toBe("create index concurrently i on a (id);\n");
  });

  test("up marker without a down marker: down is null", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up\nselect 1;\n");
    expect(parsed.up).toBe("select 1;\n");
    expect(parsed.down).toBeNull();
  });

  test("an empty down section is an empty string, not null", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up\nselect 1;\n-- migrate:down\n");
    expect(parsed.down).toBe("");
    expect(parsed.up).toBe("select 1;\n");
  });

  test("an up marker on the last line without a newline gives an empty up at the end", () => {
    const input = "select 0;\n-- migrate:up";
    const parsed = parseMigrationText("001_a.sql", input);
    expect(parsed.up).toBe("");
    expect(parsed.upOffset).toBe(input.length);
  });

  test("text above the up marker is not part of up", () => {
    const parsed = parseMigrationText("001_a.sql", "select 'before';\n-- migrate:up\nselect 'after';\n");
    expect(parsed.up).toBe("select 'after';\n");
  });

  test("markers without a space after -- are accepted", () => {
    const parsed = parseMigrationText("001_a.sql", "--migrate:up\nselect 1;\n--migrate:down\nselect 2;\n");
    expect(parsed.up).toBe("select 1;\n");
    expect(parsed.down).toBe("select 2;\n");
  });

  test("markers with trailing spaces are still markers", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up   \nselect 1;\n-- migrate:down \t \nselect 2;\n");
    expect(parsed.up).toBe("select 1;\n");
    expect(parsed.down).toBe("select 2;\n");
    expect(parsed.upOffset).toBe("-- migrate:up   \n".length);
    expect(parsed.options).toEqual({ transaction: true });
  });

  test("transaction:false", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up transaction:false\ncreate index concurrently i on a (id);\n");
    expect(parsed.options).toEqual({ transaction: false });
    expect(parsed.up).toBe("create index concurrently i on a (id);\n");
  });

  test("transaction:true", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up transaction:true\nselect 1;\n");
    expect(parsed.options).toEqual({ transaction: true });
  });

  test("an option followed by trailing spaces", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up   transaction:false   \nselect 1;\n");
    expect(parsed.options).toEqual({ transaction: false });
  });

  test("the last repeated option wins", () => {
    expect(parseMigrationText("a.sql", "-- migrate:up transaction:false transaction:true\n").options.transaction).toBe(true);
    expect(parseMigrationText("a.sql", "-- migrate:up transaction:true transaction:false\n").options.transaction).toBe(false);
  });
});

describe("parseMigrationText errors", () => {
  test("unknown option => PARSE_UNKNOWN_OPTION naming the file and the option", () => {
    const error = expectMigrateError(
      () => parseMigrationText("007_x.sql", "-- migrate:up foo:bar\nselect 1;\n"),
      "PARSE_UNKNOWN_OPTION",
    );
    expect(error.message).toContain("007_x.sql");
    expect(error.message).toContain("foo:bar");
    expect(error.exitCode).toBe(2);
  });

  test("an option key that exists on Object.prototype is still unknown", () => {
    const error = expectMigrateError(
      () => parseMigrationText("007_x.sql", "-- migrate:up constructor:x\nselect 1;\n"),
      "PARSE_UNKNOWN_OPTION",
    );
    expect(error.message).toContain("constructor:x");
  });

  test("bad option value transaction:maybe => PARSE_UNKNOWN_OPTION naming the file and the value", () => {
    const error = expectMigrateError(
      () => parseMigrationText("008_y.sql", "-- migrate:up transaction:maybe\nselect 1;\n"),
      "PARSE_UNKNOWN_OPTION",
    );
    expect(error.message).toContain("008_y.sql");
    expect(error.message).toContain("transaction:maybe");
    expect(error.message).toContain('"maybe"');
  });

  test("transaction without a value is rejected", () => {
    expectMigrateError(() => parseMigrationText("008_y.sql", "-- migrate:up transaction\n"), "PARSE_UNKNOWN_OPTION");
  });

  test("option values are case-sensitive (transaction:FALSE is rejected)", () => {
    expectMigrateError(() => parseMigrationText("008_y.sql", "-- migrate:up transaction:FALSE\n"), "PARSE_UNKNOWN_OPTION");
  });

  test("down before up => PARSE_DOWN_BEFORE_UP", () => {
    const error = expectMigrateError(
      () => parseMigrationText("009_z.sql", "-- migrate:down\ndrop table a;\n-- migrate:up\ncreate table a ();\n"),
      "PARSE_DOWN_BEFORE_UP",
    );
    expect(error.message).toContain("009_z.sql");
  });

  test("duplicate up marker => PARSE_DUPLICATE_MARKER", () => {
    const error = expectMigrateError(
      () => parseMigrationText("010_d.sql", "-- migrate:up\nselect 1;\n-- migrate:up\nselect 2;\n"),
      "PARSE_DUPLICATE_MARKER",
    );
    expect(error.message).toContain("010_d.sql");
    expect(error.message).toContain("-- migrate:up");
  });

  test("duplicate down marker => PARSE_DUPLICATE_MARKER", () => {
    const error = expectMigrateError(
      () => parseMigrationText("010_d.sql", "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n-- migrate:down\nselect 3;\n"),
      "PARSE_DUPLICATE_MARKER",
    );
    expect(error.message).toContain("-- migrate:down");
  });

  test("an up marker after the down marker (second up) => duplicate marker", () => {
    expectMigrateError(
      () => parseMigrationText("010_d.sql", "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n-- migrate:up\n"),
      "PARSE_DUPLICATE_MARKER",
    );
  });

  test("down without up => PARSE_MISSING_UP", () => {
    const error = expectMigrateError(
      () => parseMigrationText("011_m.sql", "-- migrate:down\ndrop table a;\n"),
      "PARSE_MISSING_UP",
    );
    expect(error.message).toContain("011_m.sql");
  });

  test("SQL followed by a down marker but no up marker => PARSE_MISSING_UP", () => {
    expectMigrateError(() => parseMigrationText("003_c.sql", "select 1;\n-- migrate:down\nselect 2;\n"), "PARSE_MISSING_UP");
  });

  test("the options of the up marker are checked even when the file has a down part", () => {
    expectMigrateError(
      () => parseMigrationText("012_o.sql", "-- migrate:up bogus\nselect 1;\n-- migrate:down\nselect 2;\n"),
      "PARSE_UNKNOWN_OPTION",
    );
  });
});

describe("parseMigrationText fuzz", () => {
  test("random input either parses or throws a MigrateError, never anything else", () => {
    const random = mulberry32(0xc0ffee);
    const alphabet = [
      "'", '"', "$", ";", "-", "/", "*", "\\", "E", "a", "\n", " ", "\0", "é", "😀", ":",
      "\n-- migrate:up\n",
      "\n-- migrate:down\n",
      "\n-- migrate:up transaction:false\n",
      "\n-- migrate:up transaction:maybe\n",
      "\n-- migrate:up foo:bar\n",
      "\n--migrate:up   \n",
    ];
    let parsedCount = 0;
    let errorCount = 0;
    for (let iteration = 0; iteration < 2000; iteration++) {
      const text = randomText(random, alphabet, Math.floor(random() * 60));
      try {
        const parsed = parseMigrationText("fuzz.sql", text);
        parsedCount++;
        // Whatever parsed must be consistent with the text.
        expect(parsed.upOffset).toBeGreaterThanOrEqual(0);
        expect(parsed.upOffset).toBeLessThanOrEqual(text.length);
        expect(text.slice(parsed.upOffset, parsed.upOffset + parsed.up.length)).toBe(parsed.up);
        if (parsed.down !== null) expect(text.endsWith(parsed.down)).toBe(true);
      } catch (error) {
        if (!(error instanceof MigrateError)) throw error;
        errorCount++;
      }
    }
    // The generator must exercise both outcomes, or the test proves little.
    expect(parsedCount).toBeGreaterThan(100);
    expect(errorCount).toBeGreaterThan(100);
  });
});
