import { describe, expect, test } from "bun:test";
import { buildMigrationSet } from "../../src/core/migration-set.ts";
import { isCopyToStdout, refusedStatements } from "../../src/core/statement-rules.ts";
import { scanSql } from "../../src/core/sql-lexer.ts";
import { expectMigrateError } from "./helpers.ts";

const kinds = (sql: string): string[] => refusedStatements(sql, 0).map((item) => item.kind);

describe("refusedStatements", () => {
  test("12.12 / 17.20: PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK PREPARED, in any case and with comments or E'' strings", () => {
    expect(kinds("prepare transaction 'x';")).toEqual(["PREPARE TRANSACTION"]);
    expect(kinds("PREPARE /* two-phase */ TRANSACTION E'x';")).toEqual(["PREPARE TRANSACTION"]);
    expect(kinds("Prepare Transaction $$x$$")).toEqual(["PREPARE TRANSACTION"]);
    expect(kinds("COMMIT PREPARED 'x';\nrollback prepared 'y';")).toEqual(["COMMIT PREPARED", "ROLLBACK PREPARED"]);
  });

  test("a prepared statement named transaction, COMMIT and ROLLBACK, and these words inside strings or bodies are allowed", () => {
    expect(kinds("prepare transaction as select 1; prepare transaction (int) as select $1;")).toEqual([]);
    expect(kinds("begin; commit; rollback; prepare q as select 1;")).toEqual([]);
    expect(kinds("select 'prepare transaction x'; do $$ begin raise notice 'commit prepared'; end $$;")).toEqual([]);
  });

  test("12.14: COPY ... FROM STDIN, with a column list, a schema, options or a quoted table", () => {
    expect(kinds("copy t from stdin;")).toEqual(["COPY FROM STDIN"]);
    expect(kinds('COPY app."T" (a, b) FROM STDIN WITH (FORMAT csv);')).toEqual(["COPY FROM STDIN"]);
    expect(kinds("copy binary t from stdin")).toEqual(["COPY FROM STDIN"]);
  });

  test("COPY to STDOUT, from a server file or a program, and stdin inside a query are not refused", () => {
    expect(kinds("copy t to stdout; copy t from '/tmp/t.csv'; copy t from program 'cat x';")).toEqual([]);
    expect(kinds("copy (select * from stdin) to stdout;")).toEqual([]);
  });

  test("the offset is the statement's place in the file: the part's offset plus its start", () => {
    expect(refusedStatements("create table t (id int);\n  copy t from stdin;", 100)).toEqual([
      { offset: 127, kind: "COPY FROM STDIN", fix: expect.stringContaining("INSERT ... VALUES") },
    ]);
  });
});

describe("isCopyToStdout", () => {
  test("COPY t TO STDOUT and COPY (query) TO STDOUT, not COPY FROM or other statements", () => {
    const sql = "copy t to stdout; COPY (select 1) TO STDOUT WITH csv; copy t from stdin; select 'copy t to stdout'; copy t to '/tmp/x'";
    expect(scanSql(sql).statements.map((statement) => isCopyToStdout(sql, statement))).toEqual([true, true, false, false, false]);
  });
});

describe("buildMigrationSet refuses them, naming file, line and fix, before anything is sent", () => {
  test("COPY FROM STDIN in the up part", () => {
    const text = "-- migrate:up\ncreate table t (id int);\ncopy t from stdin;\n1\n\\.\n-- migrate:down\ndrop table t;\n";
    const error = expectMigrateError(() => buildMigrationSet([{ fileName: "005_load.sql", text }]), "STATEMENT_REFUSED");
    expect(error.exitCode).toBe(2);
    expect(error.message).toStartWith("005_load.sql, line 3: COPY FROM STDIN waits for data the runner never sends");
    expect(error.message).toContain("INSERT ... VALUES");
  });

  test("PREPARE TRANSACTION in the down part, at its line in the file", () => {
    const text = "-- migrate:up\ncreate table t (id int);\n-- migrate:down\ndrop table t;\nprepare transaction 'x';\n";
    const error = expectMigrateError(() => buildMigrationSet([{ fileName: "006_x.sql", text }]), "STATEMENT_REFUSED");
    expect(error.message).toStartWith("006_x.sql, line 5: PREPARE TRANSACTION would leave a prepared transaction behind");
    expect(error.message).toContain("Two-phase commit has no place in a migration");
  });

  test("several in one file are listed with their lines; other files' problems are reported with them", () => {
    const files = [
      { fileName: "001_a.sql", text: "commit prepared 'x';\nselect 1;\ncopy t from stdin;\n" },
      { fileName: "002 bad.sql", text: "select 1;\n" },
    ];
    const error = expectMigrateError(() => buildMigrationSet(files), "STATEMENT_REFUSED");
    expect(error.details.join("\n")).toContain("001_a.sql, line 1: COMMIT PREPARED");
    expect(error.details.join("\n")).toContain("(and 1 more: COPY FROM STDIN at line 3)");
    expect(error.details.join("\n")).toContain("002 bad.sql");
  });

  test("an ordinary file is accepted", () => {
    expect(buildMigrationSet([{ fileName: "001_a.sql", text: "copy t to stdout;\nselect 1;\n" }])).toHaveLength(1);
  });
});
