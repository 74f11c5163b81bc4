/**
 * The lexer's statement boundaries against PostgreSQL's own parser
 * (libpg-query: the server's grammar compiled to WASM, a dev dependency only),
 * on tricky SQL written for this test and on random sequences of it. The
 * parser gives stmt_location and stmt_len in UTF-8 bytes; they are converted
 * to string indexes before comparing.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { loadModule, parseSync } from "libpg-query";
import { scanSql } from "../../src/core/sql-lexer.ts";
import { mulberry32 } from "./helpers.ts";

beforeAll(async () => {
  await loadModule();
});

/** For each UTF-8 byte offset that starts a character, its string index (and the end). */
function byteToIndex(text: string): Map<number, number> {
  const map = new Map<number, number>();
  let bytes = 0;
  let index = 0;
  for (const character of text) {
    map.set(bytes, index);
    const code = character.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    index += character.length;
  }
  map.set(bytes, index);
  return map;
}

const trimEnd = (text: string, end: number, start: number): number => {
  let trimmed = end;
  while (trimmed > start && /\s/.test(text.charAt(trimmed - 1))) trimmed--;
  return trimmed;
};

/** [start, end) of each statement as PostgreSQL's parser sees it, end trimmed of whitespace. */
function parserBoundaries(sql: string): [number, number][] {
  const toIndex = byteToIndex(sql);
  const index = (byte: number): number => {
    const found = toIndex.get(byte);
    if (found === undefined) throw new Error(`byte offset ${byte} is inside a character`);
    return found;
  };
  const result = parseSync(sql) as { stmts?: { stmt_location?: number; stmt_len?: number }[] };
  return (result.stmts ?? []).map(({ stmt_location = 0, stmt_len = 0 }) => {
    const start = index(stmt_location);
    // stmt_len 0 is "to the end of the text" (the last statement, without a `;`).
    const end = stmt_len === 0 ? sql.length : index(stmt_location + stmt_len);
    return [start, trimEnd(sql, end, start)];
  });
}

function lexerBoundaries(sql: string): [number, number][] {
  const { statements, unterminated } = scanSql(sql);
  expect(unterminated).toBeNull();
  return statements.map((statement) => [statement.start, statement.end]);
}

/** Statements the grammar accepts, each chosen to trip a splitter; none ends in a comment. */
const FRAGMENTS: readonly string[] = [
  "select 1",
  "select 'a;b', 'it''s; here', ''';'''",
  "select E'it\\'s; here', e'\\\\', E'a''b;c'",
  "select U&'d\\0061t\\+000061;' as u",
  "select 'standard \\'",
  "select b'101', x'ff;'",
  "select 'a'\n'continued;'",
  'select "col;" from "t;"',
  'select "a"";b" from t',
  "select $$;$$",
  "select $$ it's \"; $$, $1",
  "select $tag$ ; $$ ; $Tag$ ; $tag$",
  "select $a$$a$",
  "select a$b, x$$ from t",
  `select $${"long_tag_".repeat(35)}$ ; $${"long_tag_".repeat(35)}$`,
  "select 1 /* a /* nested ; */ b */ + 2",
  "select 2 */* a comment right after an operator; */ 3",
  "select 1 -- a line comment; still a comment\n + 1",
  "select 'é😀;' as \"é;😀\"",
  "create table t (begin int, \"end\" int, b int)",
  "select begin, t.begin, t.end from t",
  "select case when true then 1 end",
  "set search_path = begin",
  "create function begin() returns int language sql return 1",
  "create function f() returns int language sql set search_path = begin return 1",
  "create function f(x t) returns int language sql return x.begin",
  "create or replace function f() returns int language plpgsql as $$\nbegin\n  return 1;\nend;\n$$",
  "create function f() returns void language plpgsql as $body$ begin execute $$select 1;$$; end $body$",
  "create function g() returns int language sql begin atomic select 1; select case when true then 2 end; end",
  "create function h(x int) returns int language sql begin /* c; */ atomic select t.end from t; select (case when x > 0 then 1 else 0 end); end",
  "create or replace procedure p() language sql begin atomic insert into t values (1); insert into t values (2); end",
  "create procedure q() language sql as $$ select 1 $$ set search_path = begin",
  "create rule r as on insert to t do instead (notify a; notify b)",
  "create rule r2 as on update to t do also (insert into log values (1); update t set b = 2)",
  "do $x$ begin perform 1; end $x$",
  "do $$ begin commit; end $$",
  "begin",
  "begin transaction isolation level serializable",
  "start transaction",
  "commit",
  "end",
  "commit prepared 'x'",
  "rollback prepared 'y'",
  "prepare transaction 'z'",
  "prepare q (int) as select $1",
  "copy t from stdin",
  "copy (select 1) to stdout",
  "select (array[1, 2])[1:2], 1::int, -1.5e3, .5, 0x1F",
  "create trigger tr before update on t for each row execute function f()",
  "insert into t (b) values (1), (2) on conflict do nothing",
];

const SEPARATORS: readonly string[] = [";", ";\n", "; ", " ;\n\n", ";/* c; */\n", "; -- c;\n", "\n;\t"];
const PREFIXES: readonly string[] = ["", "", "\n", "-- header; here\n", "/* a /* b; */ */ ", "  \t"];

function check(sql: string): void {
  const expected = parserBoundaries(sql);
  const actual = lexerBoundaries(sql);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    const show = (list: [number, number][]): string[] => list.map(([start, end]) => sql.slice(start, end));
    throw new Error(`boundaries differ for ${JSON.stringify(sql)}\nparser: ${JSON.stringify(show(expected))}\nlexer:  ${JSON.stringify(show(actual))}`);
  }
}

describe("the lexer splits where PostgreSQL's parser does", () => {
  test("the parser loads and reports byte offsets (multi-byte text before a statement)", () => {
    const sql = "select 'é😀'; select 2";
    const parsed = parseSync(sql) as { stmts: { stmt_location?: number }[] };
    expect(parsed.stmts[1]?.stmt_location).toBe(Buffer.byteLength("select 'é😀'; "));
    expect(parserBoundaries(sql)).toEqual([[0, 12], [14, 22]]);
  });

  for (const fragment of FRAGMENTS) {
    test(`alone and between others: ${JSON.stringify(fragment.slice(0, 70))}`, () => {
      check(fragment);
      check(`${fragment};`);
      check(`select 0;\n${fragment};\nselect 2;\n`);
      check(`-- lead\n/* lead; */\n${fragment} ;-- trail\nselect 3`);
    });
  }

  test("the whole corpus in one file", () => {
    check(FRAGMENTS.join(";\n"));
  });

  test("fuzz: 1500 random sequences of fragments, separators and comments", () => {
    const random = mulberry32(17_2026);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    let statements = 0;
    for (let iteration = 0; iteration < 1500; iteration++) {
      let sql = "";
      const count = 1 + Math.floor(random() * 6);
      for (let index = 0; index < count; index++) sql += pick(PREFIXES) + pick(FRAGMENTS) + pick(SEPARATORS);
      if (random() < 0.3) sql += pick(PREFIXES) + pick(FRAGMENTS);
      check(sql);
      statements += parserBoundaries(sql).length;
    }
    expect(statements).toBeGreaterThan(4000);
  });
});
