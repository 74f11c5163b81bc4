import { describe, expect, test } from "bun:test";
import {
  blankTransactionControl,
  isTransactionControl,
  type SqlStatement,
  scanSql,
} from "../../src/core/sql-lexer.ts";
import { mulberry32, randomText } from "./helpers.ts";

/** The statements' text (start..end), the easiest way to see where the splits are. */
function texts(sql: string): string[] {
  return scanSql(sql).statements.map((statement) => sql.slice(statement.start, statement.end));
}

function only(sql: string): SqlStatement {
  const { statements } = scanSql(sql);
  expect(statements).toHaveLength(1);
  const [statement] = statements;
  if (!statement) throw new Error("no statement");
  return statement;
}

describe("scanSql: splitting", () => {
  test("splits `select 1; select 2` with exact offsets", () => {
    const result = scanSql("select 1; select 2");
    expect(result.unterminated).toBeNull();
    expect(result.statements).toEqual([
      { start: 0, end: 8, endWithTerminator: 9, keywords: ["SELECT"] },
      { start: 10, end: 18, endWithTerminator: 18, keywords: ["SELECT"] },
    ]);
  });

  test("empty and blank input have no statements", () => {
    expect(scanSql("")).toEqual({ statements: [], unterminated: null });
    expect(scanSql("  \n\t ")).toEqual({ statements: [], unterminated: null });
    expect(scanSql(";;;").statements).toEqual([]);
    expect(scanSql("-- only a comment\n/* and another */").statements).toEqual([]);
  });

  test("start skips leading whitespace and comments; end drops trailing whitespace", () => {
    const sql = "\n  -- header\n/* note */  select 1  \n ;\n";
    const statement = only(sql);
    expect(statement.start).toBe(sql.indexOf("select"));
    expect(sql.slice(statement.start, statement.end)).toBe("select 1");
    expect(statement.endWithTerminator).toBe(sql.indexOf(";") + 1);
  });

  test("a final statement without a semicolon ends at its last character, ignoring a trailing comment", () => {
    const sql = "select 1;\nselect 2 -- done\n";
    const result = scanSql(sql);
    const last = result.statements[1];
    expect(last).toBeDefined();
    expect(sql.slice(last?.start, last?.end)).toBe("select 2");
    expect(last?.endWithTerminator).toBe(last?.end);
  });

  test("keywords are the upper-cased leading words, at most three", () => {
    expect(only("create unique index concurrently i on t (a);").keywords).toEqual(["CREATE", "UNIQUE", "INDEX"]);
    expect(only("Begin;").keywords).toEqual(["BEGIN"]);
    expect(only("'x';").keywords).toEqual([]);
  });

  test("several statements over several lines", () => {
    const sql = "create table a (id int);\n\ninsert into a values (1);\nupdate a set id = 2;\n";
    expect(texts(sql)).toEqual(["create table a (id int)", "insert into a values (1)", "update a set id = 2"]);
  });
});

describe("scanSql: semicolons that are not split points", () => {
  test("inside a '...' string", () => {
    expect(texts("select 'a;b'; select 2")).toEqual(["select 'a;b'", "select 2"]);
  });

  test("inside a string with '' escaped quotes", () => {
    expect(texts("select 'it''s; here'; select 2")).toEqual(["select 'it''s; here'", "select 2"]);
    expect(texts("select ''';'''; select 2")).toEqual(["select ''';'''", "select 2"]);
  });

  test("a backslash in a standard string is not an escape", () => {
    // 'a\' is a complete string with standard_conforming_strings.
    expect(texts("select 'a\\'; select 2")).toEqual(["select 'a\\'", "select 2"]);
  });

  test("inside E'...' strings with backslash escapes", () => {
    expect(texts("select E'it\\'s; here'; select 2")).toEqual(["select E'it\\'s; here'", "select 2"]);
    expect(texts("select e'\\\\'; select 2")).toEqual(["select e'\\\\'", "select 2"]);
    expect(texts("select E'a''b;c'; select 2")).toEqual(["select E'a''b;c'", "select 2"]);
  });

  test("an identifier ending in e followed by a string is not an E string", () => {
    // `type'...'` is a typed literal; the backslash is literal, so the string ends at the second quote.
    expect(texts("select date'2024\\'; select 2")).toEqual(["select date'2024\\'", "select 2"]);
  });

  test('inside "quoted;identifiers", including "" escapes', () => {
    expect(texts('select "a;b" from "t;"; select 2')).toEqual(['select "a;b" from "t;"', "select 2"]);
    expect(texts('select "a"";b"; select 2')).toEqual(['select "a"";b"', "select 2"]);
  });

  test("a quote inside a quoted identifier and vice versa", () => {
    expect(texts(`select "it's;" ; select '";'; select 3`)).toEqual([`select "it's;"`, `select '";'`, "select 3"]);
  });

  test("inside $$...$$", () => {
    const sql = "do $$ begin perform 1; perform 2; end $$; select 2";
    expect(texts(sql)).toEqual(["do $$ begin perform 1; perform 2; end $$", "select 2"]);
  });

  test("inside $tag$ ... $$ ... $tag$ (nested dollar quotes)", () => {
    const sql = "create function f() returns void as $body$ begin execute $$select 1;$$; end $body$ language plpgsql; select 2";
    expect(texts(sql)).toEqual([
      "create function f() returns void as $body$ begin execute $$select 1;$$; end $body$ language plpgsql",
      "select 2",
    ]);
  });

  test("a different tag does not close a dollar quote", () => {
    expect(texts("select $a$ ; $b$ ; $a$; select 2")).toEqual(["select $a$ ; $b$ ; $a$", "select 2"]);
  });

  test("dollar tags are case-sensitive", () => {
    const result = scanSql("select $Tag$ ; $tag$; select 2");
    expect(result.statements).toHaveLength(1);
    expect(result.unterminated).toEqual({ kind: "dollar quote", offset: 7 });
  });

  test("quotes inside a dollar quote mean nothing", () => {
    expect(texts(`select $$it's "; $$; select 2`)).toEqual([`select $$it's "; $$`, "select 2"]);
  });

  test("inside -- line comments", () => {
    expect(texts("select 1 -- not here; nor here\n; select 2")).toEqual(["select 1 -- not here; nor here", "select 2"]);
  });

  test("-- comment at the very end without a newline", () => {
    expect(texts("select 1; -- trailing; comment")).toEqual(["select 1"]);
  });

  test("inside nested /* /* */ ; */ block comments", () => {
    expect(texts("select 1 /* a /* b */ ; */ + 1; select 2")).toEqual(["select 1 /* a /* b */ ; */ + 1", "select 2"]);
  });

  test("quotes inside comments mean nothing", () => {
    expect(texts("select 1 /* it's */; -- don't\nselect 2")).toEqual(["select 1 /* it's */", "select 2"]);
  });

  test("CREATE FUNCTION ... BEGIN ATOMIC ... END; is one statement", () => {
    const fn = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC select 1; select 2; END";
    const result = scanSql(`${fn};\nselect 3;`);
    expect(result.statements.map((statement) => statement.keywords[0])).toEqual(["CREATE", "SELECT"]);
    expect(texts(`${fn};\nselect 3;`)).toEqual([fn, "select 3"]);
    expect(result.statements[0]?.endWithTerminator).toBe(fn.length + 1);
  });

  test("CREATE OR REPLACE PROCEDURE ... BEGIN ATOMIC (lower case) is one statement", () => {
    const proc = "create or replace procedure p() language sql begin atomic insert into t values (1); insert into t values (2); end";
    expect(texts(`${proc}; select 1`)).toEqual([proc, "select 1"]);
  });

  test("a CASE ... END inside BEGIN ATOMIC does not close the body", () => {
    const fn =
      "CREATE FUNCTION g(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END; SELECT 2; END";
    expect(texts(`${fn}; SELECT 3;`)).toEqual([fn, "SELECT 3"]);
  });

  test("BEGIN outside a routine definition is an ordinary statement", () => {
    expect(texts("begin; select 1; end;")).toEqual(["begin", "select 1", "end"]);
  });

  test("a CASE ... END outside any routine does not swallow semicolons", () => {
    expect(texts("select case when true then 1 end; select 2")).toEqual(["select case when true then 1 end", "select 2"]);
  });

  test("a plpgsql function in $$ with BEGIN ... END inside is one statement and the next one splits", () => {
    const fn =
      "create or replace function touch() returns trigger language plpgsql as $$\nbegin\n  new.updated_at := now();\n  return new;\nend;\n$$";
    expect(texts(`${fn};\ncreate table t (id int);\n`)).toEqual([fn, "create table t (id int)"]);
  });
});

describe("scanSql: dollar signs that are not dollar quotes", () => {
  test("identifiers containing $ like a$b", () => {
    expect(texts("select a$b; select 2")).toEqual(["select a$b", "select 2"]);
    expect(texts("select a$b$ ; select 2")).toEqual(["select a$b$", "select 2"]);
    expect(texts("select x$$ ; select 2")).toEqual(["select x$$", "select 2"]);
    expect(scanSql("select x$$ ; select 2").unterminated).toBeNull();
  });

  test("positional parameters $1 are not dollar quotes", () => {
    expect(texts("select $1; select $2, $10")).toEqual(["select $1", "select $2, $10"]);
    expect(scanSql("select $1; select $2").unterminated).toBeNull();
  });

  test("a parameter right before a dollar quote", () => {
    expect(texts("select $1, $$;$$; select 2")).toEqual(["select $1, $$;$$", "select 2"]);
  });
});

describe("scanSql: unterminated constructs", () => {
  test("an unterminated string is reported at its opening quote", () => {
    const sql = "select 1;\nselect 'abc;\nselect 2;";
    const result = scanSql(sql);
    expect(result.unterminated).toEqual({ kind: "string", offset: sql.indexOf("'") });
    expect(result.statements).toHaveLength(2);
    expect(result.statements[1]?.start).toBe(sql.indexOf("select 'abc"));
    expect(result.statements[1]?.endWithTerminator).toBe(sql.length);
  });

  test("an unterminated E string (ending in a backslash) is reported at the E", () => {
    const sql = "select E'abc\\";
    expect(scanSql(sql).unterminated).toEqual({ kind: "string", offset: 7 });
  });

  test("an escaped quote at the end does not close a string", () => {
    expect(scanSql("select 'it''").unterminated).toEqual({ kind: "string", offset: 7 });
    expect(scanSql("select E'it\\'").unterminated).toEqual({ kind: "string", offset: 7 });
  });

  test("an unterminated dollar quote", () => {
    const sql = "select 1; do $fn$ begin perform 1; end $$;";
    expect(scanSql(sql).unterminated).toEqual({ kind: "dollar quote", offset: sql.indexOf("$fn$") });
  });

  test("an unterminated block comment, including a nested one that is closed only once", () => {
    const sql = "select 1; /* outer /* inner */ still open";
    const result = scanSql(sql);
    expect(result.unterminated).toEqual({ kind: "block comment", offset: sql.indexOf("/*") });
    expect(texts(sql)).toEqual(["select 1"]);
  });

  test("an unterminated quoted identifier", () => {
    const sql = 'create table "t;\n(id int);';
    expect(scanSql(sql).unterminated).toEqual({ kind: "quoted identifier", offset: sql.indexOf('"') });
  });

  test("the first unterminated construct wins", () => {
    const sql = "select 'a /* $$ \"";
    expect(scanSql(sql).unterminated).toEqual({ kind: "string", offset: 7 });
  });

  test("never throws on lone openers", () => {
    for (const sql of ["'", '"', "$$", "$a$", "/*", "E'", "e'\\", "--", "-", "/", "$", "\\", "\0"]) {
      expect(() => scanSql(sql)).not.toThrow();
    }
  });
});

describe("isTransactionControl", () => {
  const control = (sql: string): boolean[] => scanSql(sql).statements.map(isTransactionControl);

  test("BEGIN, BEGIN WORK, BEGIN TRANSACTION, START TRANSACTION, COMMIT, COMMIT WORK, END", () => {
    expect(control("BEGIN;")).toEqual([true]);
    expect(control("begin work;")).toEqual([true]);
    expect(control("Begin Transaction Isolation Level Serializable;")).toEqual([true]);
    expect(control("START TRANSACTION;")).toEqual([true]);
    expect(control("start transaction read write;")).toEqual([true]);
    expect(control("COMMIT;")).toEqual([true]);
    expect(control("commit work;")).toEqual([true]);
    expect(control("END;")).toEqual([true]);
    expect(control("end transaction;")).toEqual([true]);
  });

  test("not for BEGIN ATOMIC", () => {
    const statement: SqlStatement = { start: 0, end: 12, endWithTerminator: 13, keywords: ["BEGIN", "ATOMIC"] };
    expect(isTransactionControl(statement)).toBe(false);
  });

  test("not for a CREATE FUNCTION ... BEGIN ATOMIC", () => {
    expect(control("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC select 1; END;")).toEqual([false]);
  });

  test("not for `begin` inside a $$ body", () => {
    expect(control("do $$ begin commit; end $$;")).toEqual([false]);
    expect(control("create function f() returns void language plpgsql as $$ begin end $$;")).toEqual([false]);
  });

  test("not for ordinary statements, START without TRANSACTION, or words that merely start with begin", () => {
    expect(control("select 1; begin_date; start; create table begin (id int); select 'begin';")).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe("blankTransactionControl", () => {
  test("a legacy BEGIN/COMMIT file: same length, CREATE at the same offset, BEGIN/COMMIT blanked, newlines kept", () => {
    const sql = "BEGIN;\nCREATE TABLE a(id int);\nCOMMIT;\n";
    const { text, blanked } = blankTransactionControl(sql);
    expect(blanked).toBe(2);
    expect(text).toHaveLength(sql.length);
    expect(text.indexOf("CREATE TABLE a(id int);")).toBe(sql.indexOf("CREATE TABLE a(id int);"));
    expect(text).toBe("      \nCREATE TABLE a(id int);\n       \n");
    expect([...text].map((ch, index) => (ch === "\n") === (sql[index] === "\n")).every(Boolean)).toBe(true);
    expect(text).not.toMatch(/BEGIN|COMMIT/);
  });

  test("newlines inside a blanked statement are kept, so line numbers stay valid", () => {
    const sql = "start\ntransaction\n;\nselect 1;\nend;";
    const { text, blanked } = blankTransactionControl(sql);
    expect(blanked).toBe(2);
    expect(text).toBe("     \n           \n \nselect 1;\n    ");
  });

  test("a plpgsql function with BEGIN ... END; inside $$ is untouched", () => {
    const sql =
      "create function f() returns int language plpgsql as $$\nbegin\n  return 1;\nend;\n$$;\nselect f();\n";
    expect(blankTransactionControl(sql)).toEqual({ text: sql, blanked: 0, unterminated: null });
  });

  test("a BEGIN ATOMIC body is untouched", () => {
    const sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC select 1; END;\n";
    expect(blankTransactionControl(sql)).toEqual({ text: sql, blanked: 0, unterminated: null });
  });

  test("a DO block that commits is left alone (the runner's guard catches it at run time)", () => {
    const sql = "BEGIN;\ndo $$ begin commit; end $$;\nCOMMIT;";
    const { text, blanked } = blankTransactionControl(sql);
    expect(blanked).toBe(2);
    expect(text).toBe("      \ndo $$ begin commit; end $$;\n       ");
  });

  test("an unterminated construct is reported with where it opens, so the runner can refuse the file before sending it", () => {
    const sql = "begin;\ncreate table a (id int);\nselect 'never closed;\ncommit;\n";
    expect(blankTransactionControl(sql).unterminated).toEqual({ kind: "string", offset: sql.indexOf("'") });
  });

  test("a file without transaction control comes back unchanged", () => {
    const sql = "create table a (id int);\n-- begin;\ninsert into a values (1);\n";
    expect(blankTransactionControl(sql)).toEqual({ text: sql, blanked: 0, unterminated: null });
  });
});

describe("scanSql fuzz", () => {
  test("2000 random strings: never throws, offsets are ordered and in bounds", () => {
    const random = mulberry32(20240601);
    const alphabet = ["'", '"', "$", ";", "-", "/", "*", "\\", "E", "a", "\n", " ", "\0", "é", "😀", "$$", "$a$", "1"];
    let sawStatements = 0;
    let sawUnterminated = 0;
    const started = performance.now();
    for (let iteration = 0; iteration < 2000; iteration++) {
      const sql = randomText(random, alphabet, Math.floor(random() * 80));
      let result: ReturnType<typeof scanSql> | undefined;
      expect(() => {
        result = scanSql(sql);
      }).not.toThrow();
      if (!result) throw new Error("scanSql returned nothing");
      let previousEnd = 0;
      for (const statement of result.statements) {
        const ok =
          statement.start >= 0 &&
          statement.start <= statement.end &&
          statement.end <= statement.endWithTerminator &&
          statement.endWithTerminator <= sql.length &&
          statement.start >= previousEnd;
        if (!ok) throw new Error(`bad offsets ${JSON.stringify(statement)} for ${JSON.stringify(sql)}`);
        previousEnd = statement.endWithTerminator;
      }
      if (result.unterminated) {
        sawUnterminated++;
        const { offset } = result.unterminated;
        if (!(offset >= 0 && offset < sql.length)) throw new Error(`bad unterminated offset for ${JSON.stringify(sql)}`);
      }
      sawStatements += result.statements.length;
      // Blanking must never change the length (error positions depend on it).
      const blanked = blankTransactionControl(sql).text;
      if (blanked.length !== sql.length) throw new Error(`blanking changed the length of ${JSON.stringify(sql)}`);
    }
    expect(sawStatements).toBeGreaterThan(500);
    expect(sawUnterminated).toBeGreaterThan(100);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe("regressions found in review", () => {
  test("a routine parameter named begin does not open a block", () => {
    const { statements } = scanSql("CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql AS 'select 1'; select 2;");
    expect(statements).toHaveLength(2);
  });
  test("blanking keeps the character count the server sees, with astral characters inside the blanked statement", () => {
    const sql = "BEGIN /* 🚀 */;\nselect 1 frm x;\nCOMMIT;";
    const { text } = blankTransactionControl(sql);
    expect(Array.from(text).length).toBe(Array.from(sql).length);
    expect(Array.from(text).indexOf("s")).toBe(Array.from(sql).indexOf("s"));
    expect(text.trim()).toBe("select 1 frm x;");
  });
});

describe("issue 17: the splitter against PostgreSQL's parser", () => {
  test("17.17: a rule's parenthesised action list is one statement", () => {
    const rule = "CREATE RULE notify_both AS ON INSERT TO t DO INSTEAD (NOTIFY a; NOTIFY b)";
    expect(texts(`${rule};\nselect 1;`)).toEqual([rule, "select 1"]);
    expect(texts("select (1); select 2")).toEqual(["select (1)", "select 2"]);
  });

  test("17.18: begin as a name never opens a block, in a routine or anywhere", () => {
    const cases = [
      "create table t (begin int, b int)",
      "select begin, b.begin from t b",
      "create function begin() returns int language sql return 1",
      "create function f() returns int language sql set search_path = begin return 1",
      "create function f(x t) returns int language sql return x.begin",
      "create function f() returns setof t language sql as 'select begin from t'",
      "create procedure p() language sql as $$ select 1 $$ set search_path = begin",
    ];
    for (const statement of cases) expect(texts(`${statement};\nselect 2;\nselect 3`)).toEqual([statement, "select 2", "select 3"]);
  });

  test("17.18: BEGIN ATOMIC opens the body, with a comment between the words, and t.end inside does not close it", () => {
    const fn = "create function f() returns int language sql begin /* body */ atomic select t.end from t; select case when true then 1 end; end";
    expect(texts(`${fn};\nselect 2`)).toEqual([fn, "select 2"]);
  });

  test("17.18: a legacy BEGIN/COMMIT file with a begin column and a function named begin: both blanked, nothing swallowed", () => {
    const sql = "BEGIN;\ncreate table t (begin int);\ncreate function begin() returns int language sql return 1;\nselect t.begin from t;\nCOMMIT;\n";
    const { text, blanked } = blankTransactionControl(sql);
    expect(blanked).toBe(2);
    expect(text).toBe(sql.replace("BEGIN;", "      ").replace("COMMIT;", "       "));
  });

  test("17.19: a dollar-quote tag of any length, 300 characters included", () => {
    const tag = `$${"t".repeat(300)}$`;
    const body = `do ${tag} begin perform 1; end ${tag}`;
    const result = scanSql(`${body};\nselect 2;`);
    expect(result.unterminated).toBeNull();
    expect(texts(`${body};\nselect 2;`)).toEqual([body, "select 2"]);
    expect(scanSql(`select ${tag} ; `).unterminated).toEqual({ kind: "dollar quote", offset: 7 });
  });

  test("17.20: COMMIT PREPARED and ROLLBACK PREPARED are not transaction control, so they are never blanked", () => {
    const sql = "COMMIT PREPARED 'x';\nROLLBACK PREPARED 'y';\n";
    expect(scanSql(sql).statements.map(isTransactionControl)).toEqual([false, false]);
    expect(blankTransactionControl(sql).text).toBe(sql);
  });
});

describe("17.21: blanking transaction control is one pass", () => {
  // Counts the characters string methods produce: a quadratic rebuild (re-slicing the whole text per statement) copies n²/2 of them.
  function charactersProduced(run: () => void): number {
    const prototype = String.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const names = ["slice", "substring", "substr", "replace", "replaceAll", "concat", "repeat", "padEnd", "padStart"];
    const originals = new Map(names.map((name) => [name, prototype[name]]));
    let produced = 0;
    for (const name of names) {
      const original = originals.get(name);
      prototype[name] = function (this: string, ...args: unknown[]) {
        const result = original?.apply(this, args);
        if (typeof result === "string") produced += result.length;
        return result;
      };
    }
    try {
      run();
    } finally {
      for (const name of names) prototype[name] = originals.get(name) as (...args: unknown[]) => unknown;
    }
    return produced;
  }

  test("8 times the BEGIN/COMMIT pairs produce at most about 8 times the characters (quadratic would be 64)", () => {
    const pairs = (count: number): string => "BEGIN;\ncreate table t (id int);\nCOMMIT;\n".repeat(count);
    const small = pairs(500);
    const large = pairs(4000);
    expect(blankTransactionControl(large).blanked).toBe(8000);
    const ratio = charactersProduced(() => blankTransactionControl(large)) / charactersProduced(() => blankTransactionControl(small));
    expect(ratio).toBeGreaterThan(6);
    expect(ratio).toBeLessThan(12);
  });
});
