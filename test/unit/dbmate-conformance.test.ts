/**
 * dbmate's parser behaviours (as its own parser tests and regular
 * expressions in pkg/dbmate/migration.go document them), held against ours.
 * Each case is either the same result, or a deliberate difference that
 * docs/coming-from-dbmate.md names (the test checks the phrase is there).
 * dbmate's up and down include their marker line; ours start after it, so
 * the expected SQL here is what follows the marker.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ErrorCode, MigrateError } from "../../src/core/errors.ts";
import { normaliseText, parseMigrationText } from "../../src/core/migration-file.ts";

interface Parsed {
  readonly up: string;
  readonly down: string | null;
  readonly upTransaction: boolean;
  readonly downTransaction: boolean;
}
type Outcome = Parsed | { readonly refused: string };

interface ConformanceCase {
  readonly behaviour: string;
  readonly text: string;
  /** What dbmate does: its parsed parts, or the gist of its error. */
  readonly dbmate: Outcome;
  /** What we do, when it differs from dbmate (or which code refuses when both refuse). */
  readonly ours?: Parsed | { readonly code: ErrorCode };
  /** For a difference: a phrase of docs/coming-from-dbmate.md that explains it. */
  readonly documentedAs?: string;
}

const parsed = (up: string, down: string | null, upTransaction = true, downTransaction = true): Parsed => ({ up, down, upTransaction, downTransaction });

const cases: ConformanceCase[] = [
  {
    behaviour: "an up and a down part",
    text: "-- migrate:up\ncreate table users (id serial, name text);\n-- migrate:down\ndrop table users;\n",
    dbmate: parsed("create table users (id serial, name text);\n", "drop table users;\n"),
  },
  {
    behaviour: "no space needed between -- and migrate",
    text: "\n--migrate:up\ncreate table users (id int);\n\n--migrate:down\ndrop table users;\n",
    dbmate: parsed("create table users (id int);\n\n", "drop table users;\n"),
  },
  {
    behaviour: "comments and blank lines before the up marker are allowed",
    text: "\n-- Creates the users table.\n-- Rolled back by dropping it.\n\n-- migrate:up\ncreate table users (id int);\n\n-- migrate:down\ndrop table users;\n",
    dbmate: parsed("create table users (id int);\n\n", "drop table users;\n"),
  },
  {
    behaviour: "an indented comment before the up marker is still a comment",
    text: "   -- note\n-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n",
    dbmate: parsed("select 1;\n", "select 2;\n"),
  },
  {
    behaviour: "transaction:false on both markers",
    text: "-- migrate:up transaction:false\nalter type colors add value 'orange';\n-- migrate:down transaction:false\nselect 1;\n",
    dbmate: parsed("alter type colors add value 'orange';\n", "select 1;\n", false, false),
  },
  {
    behaviour: "transaction:true written out",
    text: "-- migrate:up transaction:true\nselect 1;\n-- migrate:down transaction:true\nselect 2;\n",
    dbmate: parsed("select 1;\n", "select 2;\n"),
  },
  {
    behaviour: "each marker has its own options",
    text: "-- migrate:up transaction:false\nselect 1;\n-- migrate:down\nselect 2;\n",
    dbmate: parsed("select 1;\n", "select 2;\n", false, true),
  },
  {
    behaviour: "the down marker's options without the up marker's",
    text: "-- migrate:up\nselect 1;\n-- migrate:down transaction:false\nselect 2;\n",
    dbmate: parsed("select 1;\n", "select 2;\n", true, false),
  },
  {
    behaviour: "spaces and tabs between options and at the end of a marker",
    text: "-- migrate:up \t transaction:false  \nselect 1;\n-- migrate:down   \nselect 2;\n",
    dbmate: parsed("select 1;\n", "select 2;\n", false, true),
  },
  {
    behaviour: "CRLF line endings (we parse the text normalised to LF, as we checksum it)",
    text: "-- migrate:up transaction:true\r\ncreate table users (id int);\r\n-- migrate:down\r\ndrop table users;\r\n",
    dbmate: parsed("create table users (id int);\n", "drop table users;\n"),
  },
  {
    behaviour: "the down marker before the up marker is refused",
    text: "-- migrate:down\ndrop table users;\n-- migrate:up\ncreate table users (id int);\n",
    dbmate: { refused: "requires '-- migrate:up' to appear before '-- migrate:down'" },
    ours: { code: "PARSE_DOWN_BEFORE_UP" },
  },
  {
    behaviour: "a down part without an up part is refused",
    text: "-- migrate:down\ndrop table users;\n",
    dbmate: { refused: "requires each migration to define an up block" },
    ours: { code: "PARSE_MISSING_UP" },
  },
  {
    behaviour: "a statement before the up marker is refused",
    text: "\n-- create status_type\ncreate type status_type as enum ('active');\n\n-- migrate:up\nalter table users add column status status_type;\n-- migrate:down\nalter table users drop column status;\n",
    dbmate: { refused: "does not support statements preceding the '-- migrate:up' block" },
    ours: { code: "PARSE_SQL_BEFORE_UP" },
  },
  {
    behaviour: "a block comment before the up marker counts as a statement",
    text: "/* header */\n-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n",
    dbmate: { refused: "does not support statements preceding the '-- migrate:up' block" },
    ours: { code: "PARSE_SQL_BEFORE_UP" },
  },
  {
    behaviour: "a second down marker is refused",
    text: "-- migrate:up\ncreate table users (id int);\n-- migrate:down\ndrop table users;\n-- migrate:down\ndrop table statuses;\n",
    dbmate: { refused: "requires each migration to define an up block (for the second section)" },
    ours: { code: "PARSE_DUPLICATE_MARKER" },
  },
  {
    behaviour: "a misspelt down marker (dbmate finds no down part; we name the line)",
    text: "-- migrate:up\ncreate table a (id int);\n-- migrate:dwon\ndrop table a;\n",
    dbmate: { refused: "requires each migration to define a down block" },
    ours: { code: "PARSE_MARKER_MALFORMED" },
  },
  {
    behaviour: "upper-case markers are not markers (dbmate finds none; we name the line)",
    text: "-- MIGRATE:UP\ncreate table a (id int);\n-- MIGRATE:DOWN\ndrop table a;\n",
    dbmate: { refused: "requires each migration to define an up block" },
    ours: { code: "PARSE_MARKER_MALFORMED" },
  },
  {
    behaviour: "a space after the colon is not a marker",
    text: "-- migrate: up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
    dbmate: { refused: "requires each migration to define an up block" },
    ours: { code: "PARSE_MARKER_MALFORMED" },
  },
  {
    behaviour: "an indented marker is not a marker",
    text: "  -- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
    dbmate: { refused: "requires each migration to define an up block" },
    ours: { code: "PARSE_MARKER_MALFORMED" },
  },
  // Deliberate differences.
  {
    behaviour: "a file without any marker",
    text: "alter table users add column status text;\n",
    dbmate: { refused: "requires each migration to define an up block" },
    ours: parsed("alter table users add column status text;\n", null),
    documentedAs: "A file without any marker is all up",
  },
  {
    behaviour: "an up part without a down part",
    text: "-- migrate:up\ncreate table users (id int);\n",
    dbmate: { refused: "requires each migration to define a down block" },
    ours: parsed("create table users (id int);\n", null),
    documentedAs: "The down part is optional",
  },
  {
    behaviour: "several up/down sections in one file (dbmate runs each section in turn)",
    text: "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n-- migrate:up\nselect 3;\n-- migrate:down\nselect 4;\n",
    dbmate: parsed("select 1;\n", "select 2;\n"),
    ours: { code: "PARSE_DUPLICATE_MARKER" },
    documentedAs: "One up part and one down part per file",
  },
  {
    behaviour: "an unknown option",
    text: "-- migrate:up foo:bar\nselect 1;\n-- migrate:down\nselect 2;\n",
    dbmate: parsed("select 1;\n", "select 2;\n"),
    ours: { code: "PARSE_UNKNOWN_OPTION" },
    documentedAs: "Unknown options and bad values are refused",
  },
  {
    behaviour: "a misspelt option (dbmate ignores it and runs the part in a transaction)",
    text: "-- migrate:up transation:false\ncreate index concurrently i on t (id);\n-- migrate:down\ndrop index i;\n",
    dbmate: parsed("create index concurrently i on t (id);\n", "drop index i;\n"),
    ours: { code: "PARSE_UNKNOWN_OPTION" },
    documentedAs: "Unknown options and bad values are refused",
  },
  {
    behaviour: "a transaction value other than true or false",
    text: "-- migrate:up transaction:FALSE\nselect 1;\n-- migrate:down\nselect 2;\n",
    dbmate: parsed("select 1;\n", "select 2;\n", true, true),
    ours: { code: "PARSE_UNKNOWN_OPTION" },
    documentedAs: "Unknown options and bad values are refused",
  },
  {
    behaviour: "an option without a value",
    text: "-- migrate:up transaction\nselect 1;\n-- migrate:down\nselect 2;\n",
    dbmate: parsed("select 1;\n", "select 2;\n"),
    ours: { code: "PARSE_UNKNOWN_OPTION" },
    documentedAs: "Unknown options and bad values are refused",
  },
];

function ourOutcome(text: string): Parsed | { code: ErrorCode } {
  try {
    const result = parseMigrationText("001_case.sql", normaliseText(text));
    return parsed(result.up, result.down, result.options.transaction, result.downOptions.transaction);
  } catch (error) {
    if (error instanceof MigrateError) return { code: error.code };
    throw error;
  }
}

const guide = readFileSync(join(import.meta.dir, "../../docs/coming-from-dbmate.md"), "utf8");

describe("dbmate conformance: the parser", () => {
  for (const entry of cases) {
    const expected = entry.ours ?? entry.dbmate;
    const differs = "refused" in entry.dbmate ? !("code" in expected) : JSON.stringify(expected) !== JSON.stringify(entry.dbmate);
    test(`${entry.behaviour}: ${differs ? "a deliberate difference" : "as dbmate"}`, () => {
      expect(ourOutcome(entry.text)).toEqual(expected as Parsed | { code: ErrorCode });
      if (differs) {
        expect(entry.documentedAs, "a difference from dbmate must be documented").toBeDefined();
        expect(guide).toContain(entry.documentedAs ?? "");
      }
    });
  }

  test("the cases cover both agreements and differences", () => {
    const refusedByBoth = cases.filter((entry) => "refused" in entry.dbmate && entry.ours && "code" in entry.ours);
    expect(refusedByBoth.length).toBeGreaterThan(5);
    expect(cases.filter((entry) => entry.documentedAs).length).toBeGreaterThan(3);
  });
});
