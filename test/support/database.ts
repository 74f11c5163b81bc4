import { afterAll } from "bun:test";
import { randomBytes } from "node:crypto";
import postgres from "postgres";

export type TestSql = postgres.Sql<Record<string, never>>;

export interface TestDatabase {
  /** URL of the fresh database (with the password: never print it in a test's assertion message). */
  readonly url: string;
  readonly name: string;
  /** A client on the fresh database, for assertions. */
  readonly sql: TestSql;
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the tests with `bun test` (the preload starts PostgreSQL)");
  return url;
}

export function urlFor(database: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

export function client(url: string): TestSql {
  return postgres(url, { max: 4, onnotice: () => {}, fetch_types: false }) as unknown as TestSql;
}

/** A new, empty database on the test server, one per test file (or per test that needs a clean slate). */
export async function createTestDatabase(prefix = "t"): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const admin = client(serverUrl());
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = urlFor(name);
  const sql = client(url);
  return {
    url,
    name,
    sql,
    async drop() {
      await sql.end({ timeout: 1 });
      const dropper = client(serverUrl());
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** The user tables of schema public, sorted. */
export async function tablesOf(sql: TestSql): Promise<string[]> {
  const rows = await sql<{ table_name: string }[]>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`;
  return rows.map((row) => row.table_name);
}

/** A dedicated connection. postgres.js 3.4.9's reserve() hangs on a pool with no open connection, so open one first. */
export async function reserveConnection(sql: TestSql): Promise<postgres.ReservedSql<Record<string, never>>> {
  await sql`select 1`;
  return sql.reserve();
}

/**
 * For a test file: a function handing out fresh databases (prefix_random),
 * all dropped when the file's tests are done. Call it at module scope.
 */
export function freshDatabases(prefix: string): () => Promise<TestDatabase> {
  const created: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(created.map((database) => database.drop()));
  });
  return async () => {
    const database = await createTestDatabase(prefix);
    created.push(database);
    return database;
  };
}
