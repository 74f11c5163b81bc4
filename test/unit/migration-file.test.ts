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
    expect(parsed).toEqual({ up: text, upOffset: 0, down: null, options: { transaction: true, formerly: [] }, downOptions: { transaction: true } });
  });

  test("an empty file is an empty up", () => {
    expect(parseMigrationText("001_a.sql", "")).toEqual({ up: "", upOffset: 0, down: null, options: { transaction: true, formerly: [] }, downOptions: { transaction: true } });
  });

  test("a comment that mentions migrating without looking like a marker is ordinary SQL", () => {
    const text = "-- migrate the users to the new schema\n-- migration: users\nselect 1;\n";
    const parsed = parseMigrationText("001_a.sql", text);
    expect(parsed.up).toBe(text);
    expect(parsed.down).toBeNull();
  });
});

describe("parseMigrationText with markers", () => {
  const text = "-- migrate:up\ncreate table a (id int);\n\n-- migrate:down\ndrop table a;\n";

  test("splits up and down at the markers", () => {
    const parsed = parseMigrationText("001_a.sql", text);
    expect(parsed.up).toBe("create table a (id int);\n\n");
    expect(parsed.down).toBe("drop table a;\n");
    expect(parsed.options).toEqual({ transaction: true, formerly: [] });
    expect(parsed.downOptions).toEqual({ transaction: true });
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
    const input = "-- header\n-- migrate:up";
    const parsed = parseMigrationText("001_a.sql", input);
    expect(parsed.up).toBe("");
    expect(parsed.upOffset).toBe(input.length);
  });

  test("comments and blank lines above the up marker are allowed and not part of up", () => {
    const parsed = parseMigrationText("001_a.sql", "\n-- about this file\n   \n  -- indented comment\n-- migrate:up\nselect 'after';\n");
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
    expect(parsed.options).toEqual({ transaction: true, formerly: [] });
  });

  test("transaction:false", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up transaction:false\ncreate index concurrently i on a (id);\n");
    expect(parsed.options).toEqual({ transaction: false, formerly: [] });
    expect(parsed.up).toBe("create index concurrently i on a (id);\n");
  });

  test("transaction:true", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up transaction:true\nselect 1;\n");
    expect(parsed.options).toEqual({ transaction: true, formerly: [] });
  });

  test("an option followed by trailing spaces", () => {
    const parsed = parseMigrationText("001_a.sql", "-- migrate:up   transaction:false   \nselect 1;\n");
    expect(parsed.options).toEqual({ transaction: false, formerly: [] });
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

describe("markers that are not spelt exactly (issue 17 items 10 and 14)", () => {
  const lookalikes: [string, string, string][] = [
    ["a misspelt down", "-- migrate:dwon", '"-- migrate:down"'],
    ["upper-case UP", "-- migrate:UP", '"-- migrate:up"'],
    ["all upper case", "-- MIGRATE:UP", '"-- migrate:up"'],
    ["a space after the colon", "-- migrate: up", '"-- migrate:up"'],
    ["a space before the colon", "-- migrate :down", '"-- migrate:down"'],
    ["an indented marker", "  -- migrate:up", '"-- migrate:up"'],
    ["an indented down marker", "\t-- migrate:down", '"-- migrate:down"'],
    ["a word glued to up", "-- migrate:upgrade the schema", '"-- migrate:up"'],
    ["no colon", "-- migrate down", '"-- migrate:down"'],
    ["an unknown part", "-- migrate:sideways", '"-- migrate:up" or "-- migrate:down"'],
  ];
  for (const [why, line, expected] of lookalikes) {
    test(`${why} (${JSON.stringify(line)}) => PARSE_MARKER_MALFORMED naming file, line and the exact spelling`, () => {
      const text = `-- migrate:up\ncreate table a (id int);\n${line}\ndrop table a;\n`;
      const error = expectMigrateError(() => parseMigrationText("017_x.sql", text), "PARSE_MARKER_MALFORMED");
      expect(error.message).toContain("017_x.sql line 3");
      expect(error.message).toContain(JSON.stringify(line.trim()));
      expect(error.message).toContain(`exactly ${expected}`);
      expect(error.exitCode).toBe(2);
    });
  }

  test("a look-alike in a file without any real marker is refused too (it is no longer silently all up)", () => {
    const error = expectMigrateError(
      () => parseMigrationText("018_y.sql", "-- MIGRATE:UP\ncreate table a (id int);\n-- MIGRATE:DOWN\ndrop table a;\n"),
      "PARSE_MARKER_MALFORMED",
    );
    expect(error.message).toContain("018_y.sql line 1");
  });
});

describe("SQL above the up marker (issue 17 item 13)", () => {
  test("a statement above -- migrate:up => PARSE_SQL_BEFORE_UP naming the line", () => {
    const error = expectMigrateError(
      () => parseMigrationText("019_seed.sql", "-- seed\n\ninsert into plans values ('free');\n-- migrate:up\ncreate table a ();\n"),
      "PARSE_SQL_BEFORE_UP",
    );
    expect(error.message).toContain("019_seed.sql line 3");
    expect(error.message).toContain(`"insert into plans values ('free');"`);
    expect(error.exitCode).toBe(2);
  });

  test("a block comment above the marker counts as SQL, as in dbmate", () => {
    expectMigrateError(() => parseMigrationText("019_c.sql", "/* header */\n-- migrate:up\nselect 1;\n"), "PARSE_SQL_BEFORE_UP");
  });

  test("a file without markers stays all up (the legacy hand-applied format)", () => {
    const text = "insert into plans values ('free');\n";
    expect(parseMigrationText("020_legacy.sql", text).up).toBe(text);
  });
});

describe("down marker options (issue 17 item 15)", () => {
  test("-- migrate:down transaction:false is parsed into downOptions", () => {
    const parsed = parseMigrationText("021_i.sql", "-- migrate:up transaction:false\ncreate index concurrently i on a (id);\n-- migrate:down transaction:false\ndrop index concurrently i;\n");
    expect(parsed.options.transaction).toBe(false);
    expect(parsed.downOptions).toEqual({ transaction: false });
    expect(parsed.down).toBe("drop index concurrently i;\n");
  });

  test("the two markers' options are independent", () => {
    const parsed = parseMigrationText("021_i.sql", "-- migrate:up\nselect 1;\n-- migrate:down transaction:false\nselect 2;\n");
    expect(parsed.options.transaction).toBe(true);
    expect(parsed.downOptions.transaction).toBe(false);
    expect(parseMigrationText("021_i.sql", "-- migrate:up transaction:false\nselect 1;\n-- migrate:down\nselect 2;\n").downOptions.transaction).toBe(true);
  });

  test("an unknown option on the down marker => PARSE_UNKNOWN_OPTION naming the down marker and line", () => {
    const error = expectMigrateError(
      () => parseMigrationText("022_d.sql", "-- migrate:up\nselect 1;\n-- migrate:down transation:false\nselect 2;\n"),
      "PARSE_UNKNOWN_OPTION",
    );
    expect(error.message).toContain("022_d.sql line 3");
    expect(error.message).toContain('"transation:false" after "-- migrate:down"');
  });

  test("formerly: on the down marker is refused", () => {
    const error = expectMigrateError(
      () => parseMigrationText("022_d.sql", "-- migrate:up\nselect 1;\n-- migrate:down formerly:040_x\nselect 2;\n"),
      "PARSE_UNKNOWN_OPTION",
    );
    expect(error.message).toContain("formerly belongs on the up marker");
  });
});

describe("formerly:VERSION_NAME (issue 11 item 1)", () => {
  const optionsOf = (marker: string) => parseMigrationText("041_add_user_name_fields.sql", `${marker}\nselect 1;\n`).options;

  test("one former identity", () => {
    expect(optionsOf("-- migrate:up formerly:040_add_user_name_fields").formerly).toEqual([{ version: "040", name: "add_user_name_fields" }]);
  });

  test("comma-separated and repeated, in the order written, with transaction:false alongside", () => {
    expect(optionsOf("-- migrate:up formerly:040_a,39_b-c transaction:false formerly:0040_d")).toEqual({
      transaction: false,
      formerly: [
        { version: "040", name: "a" },
        { version: "39", name: "b-c" },
        { version: "0040", name: "d" },
      ],
    });
  });

  const malformed: [string, string][] = [
    ["no value", "formerly:"],
    ["no key separator", "formerly"],
    ["no version", "formerly:add_user"],
    ["no name", "formerly:040"],
    ["an empty name", "formerly:040_"],
    ["a .sql extension", "formerly:040_x.sql"],
    ["a name starting with _", "formerly:040__x"],
    ["an empty list element", "formerly:040_a,,041_b"],
    ["a trailing comma", "formerly:040_a,"],
    ["a non-ASCII name", "formerly:040_café"],
    ["the same identity twice", "formerly:040_a,040_a"],
  ];
  for (const [why, word] of malformed) {
    test(`${why} (${word}) => PARSE_UNKNOWN_OPTION naming the word`, () => {
      const error = expectMigrateError(() => optionsOf(`-- migrate:up ${word}`), "PARSE_UNKNOWN_OPTION");
      expect(error.message).toContain(`"${word}"`);
      expect(error.message).toContain("041_add_user_name_fields.sql line 1");
    });
  }
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
      "\n-- migrate:dwon\n",
      "\n-- migrate:down transaction:false\n",
      "\n-- migrate:up formerly:040_x\n",
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
