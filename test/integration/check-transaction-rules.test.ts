/**
 * The text rules' two lists (core/check/transaction-rules.ts) against real
 * PostgreSQL: a statement is on "refuses a transaction" exactly when the
 * server refuses it inside BEGIN (25001), and on "needs a transaction"
 * exactly when, sent on its own, it fails or warns that it needs one (25P01).
 * Statements that are on neither list are in each corpus too, so a list
 * that says yes to everything fails as well.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { type SqlParser, loadSqlParser } from "../../src/check/parser.ts";
import type { Node } from "../../src/core/check/parsed-sql.ts";
import { needsTransaction, refusesTransaction } from "../../src/core/check/transaction-rules.ts";
import { type TestDatabase, createTestDatabase } from "../support/database.ts";

let db: TestDatabase;
let parse: SqlParser;
let connection: postgres.Sql;
const notices: { code: string }[] = [];

beforeAll(async () => {
  parse = await loadSqlParser();
  db = await createTestDatabase("checktx");
  await db.sql.unsafe(`
    create table users (id int primary key, email text);
    create index users_email_idx on users (email);
    create table events (at date not null) partition by range (at);
    create table events_2026 partition of events for values from ('2026-01-01') to ('2027-01-01');
    create materialized view user_count as select count(*) from users;
    create type mood as enum ('ok');
  `);
  // One connection, so that a BEGIN and the statement after it share a session.
  connection = postgres(db.url, { max: 1, fetch_types: false, onnotice: (notice) => notices.push({ code: String(notice.code) }) });
});

afterAll(async () => {
  await connection?.end({ timeout: 1 });
  await db?.drop();
});

function onlyStatement(sql: string): Node {
  const parsed = parse(sql);
  if (!parsed.ok) throw new Error(`${sql}: ${parsed.message}`);
  const node = parsed.tree.stmts?.[0]?.stmt;
  if (!node || parsed.tree.stmts?.length !== 1) throw new Error(`${sql}: not one statement`);
  return node;
}

async function sqlState(run: () => Promise<unknown>): Promise<string | null> {
  try {
    await run();
    return null;
  } catch (error) {
    return String((error as { code?: unknown }).code ?? "no code");
  }
}

describe("refusesTransaction matches the server", () => {
  const corpus = () => [
    "create index concurrently users_email_c on users (email)",
    "drop index concurrently users_email_idx",
    "reindex index concurrently users_email_idx",
    `reindex database "${db.name}"`,
    "reindex system",
    "vacuum users",
    "cluster",
    "create database never_created_here",
    "drop database if exists never_created_here",
    "create tablespace never_here location '/nonexistent'",
    "drop tablespace if exists never_here",
    "alter system set work_mem = '4MB'",
    "alter table events detach partition events_2026 concurrently",
    // Accepted inside a transaction:
    "create index users_email_2 on users (email)",
    "analyze users",
    "cluster users using users_email_idx",
    "reindex index users_email_idx",
    "refresh materialized view user_count",
    "alter type mood add value 'fine'",
    "alter table events detach partition events_2026",
    "lock table users",
    "set local lock_timeout = '1s'",
  ];

  test("each statement inside BEGIN ... ROLLBACK: 25001 exactly for the ones on the list", async () => {
    const mismatches: string[] = [];
    for (const statement of corpus()) {
      const state = await connection.begin(async (tx) => {
        const result = await sqlState(() => tx.unsafe(statement));
        // Roll back whatever it did, and the failed transaction.
        throw Object.assign(new Error("rollback"), { state: result });
      }).catch((error: { state?: string | null }) => error.state ?? null);
      const refused = state === "25001";
      const listed = refusesTransaction(onlyStatement(statement)) !== null;
      if (refused !== listed) mismatches.push(`${statement}: server ${state ?? "ok"}, list ${listed ? "refuses" : "accepts"}`);
    }
    expect(mismatches).toEqual([]);
  });
});

describe("needsTransaction matches the server", () => {
  const corpus = [
    "lock table users",
    "savepoint s",
    "release savepoint s",
    "rollback to savepoint s",
    "declare c cursor for select 1",
    "set local lock_timeout = '1s'",
    "set transaction isolation level serializable",
    // Fine on their own:
    "declare held cursor with hold for select 1",
    "set lock_timeout = '1s'",
    "create table standalone (a int)",
    "select 1",
  ];

  test("each statement on its own: 25P01 (an error, or a warning that it did nothing) exactly for the ones on the list", async () => {
    const mismatches: string[] = [];
    for (const statement of corpus) {
      notices.length = 0;
      const state = await sqlState(() => connection.unsafe(statement));
      const needs = state === "25P01" || notices.some((notice) => notice.code === "25P01");
      const listed = needsTransaction(onlyStatement(statement)) !== null;
      if (needs !== listed) mismatches.push(`${statement}: server ${state ?? "ok"} ${JSON.stringify(notices)}, list ${listed ? "needs" : "does not need"}`);
    }
    await connection.unsafe("reset lock_timeout");
    expect(mismatches).toEqual([]);
  });
});
