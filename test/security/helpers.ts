/**
 * Shared by the security tests: roles with known passwords on the test
 * server, databases they own (or may not write to), and a check that a
 * secret appears nowhere in a run's output.
 */
import { expect } from "bun:test";
import { randomBytes } from "node:crypto";
import { type TestDatabase, type TestSql, client, createTestDatabase } from "../support/database.ts";
import type { RunResult } from "../support/cli.ts";

export const SEED_VERSIONS = ["000", "001", "011", "012", "013", "014", "015", "016"];

/** The server the preload started (or TEST_DATABASE_URL names), with its superuser's credentials as given there. */
export function testServer(): { url: string; host: string; port: number; user: string; password: string } {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the tests with `bun test` (the preload starts PostgreSQL)");
  const parsed = new URL(url);
  return {
    url,
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

/** TEST_DATABASE_URL's server and credentials with `sslmode` set (the URL's other parameters kept). */
export function testServerUrl(sslmode: string): string {
  const url = new URL(testServer().url);
  url.searchParams.set("sslmode", sslmode);
  return url.toString();
}

/** A role or database name no other test file (or earlier run) uses: roles are cluster-wide. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

/** Runs statements as the superuser on `database` (default: the server's postgres database). */
export async function asAdmin(statements: readonly string[], database?: string): Promise<void> {
  const url = new URL(testServer().url);
  if (database !== undefined) url.pathname = `/${database}`;
  const sql = client(url.toString());
  try {
    for (const statement of statements) await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** A quoted SQL string literal. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export interface TestRole {
  readonly name: string;
  readonly password: string;
  drop(): Promise<void>;
}

/** A login role (not a superuser, no CREATEDB/CREATEROLE) with a known password. */
export async function createRole(prefix: string, password: string): Promise<TestRole> {
  const name = uniqueName(prefix);
  await asAdmin([`create role ${name} login nosuperuser nocreatedb nocreaterole password ${literal(password)}`]);
  return {
    name,
    password,
    async drop() {
      await asAdmin([`drop role if exists ${name}`]);
    },
  };
}

/**
 * A fresh database on which PUBLIC may not create anything in schema public
 * (the PostgreSQL 15+ default; PostgreSQL 14 grants it, so revoke it on every
 * version to make the tests mean the same everywhere).
 */
export async function lockedDownDatabase(prefix: string): Promise<TestDatabase> {
  const database = await createTestDatabase(prefix);
  await database.sql.unsafe("revoke create on schema public from public");
  return database;
}

/** A fresh database that `role` owns, schema public included, as a production database would be set up. */
export async function databaseOwnedBy(prefix: string, role: TestRole): Promise<TestDatabase> {
  const database = await lockedDownDatabase(prefix);
  await asAdmin([`alter database ${database.name} owner to ${role.name}`]);
  await database.sql.unsafe(`alter schema public owner to ${role.name}`);
  return database;
}

export async function tableExists(sql: TestSql, name: string): Promise<boolean> {
  const [row] = await sql<{ exists: boolean }[]>`select to_regclass(${name}) is not null as exists`;
  return row?.exists ?? false;
}

/** Every way a secret could be written: as is, and percent-encoded as in a URL (both encodeURIComponent's and the strict form). */
export function secretForms(secret: string): string[] {
  const strict = encodeURIComponent(secret).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return [...new Set([secret, encodeURIComponent(secret), strict, strict.toLowerCase()])];
}

/**
 * Fails when any form of any secret is on stdout or stderr. The assertion
 * names the stream and the form's index, so a failure is readable without
 * scanning the whole output.
 */
export function expectNoSecret(result: RunResult, secrets: readonly string[], label: string): void {
  const found: string[] = [];
  for (const [index, secret] of secrets.entries()) {
    // A server given in TEST_DATABASE_URL may have no password: "" is in every text.
    if (secret === "") continue;
    for (const form of secretForms(secret)) {
      if (result.stdout.includes(form)) found.push(`secret #${index} (${form === secret ? "raw" : "percent-encoded"}) on stdout`);
      if (result.stderr.includes(form)) found.push(`secret #${index} (${form === secret ? "raw" : "percent-encoded"}) on stderr`);
    }
  }
  expect({ label, found }).toEqual({ label, found: [] });
}

/** The error code printed as "[CODE]" in an error line, or null. */
export function errorCode(result: RunResult): string | null {
  return /\[([A-Z_]+)\]/.exec(result.stderr)?.[1] ?? null;
}

/** A run must never end as an internal error, a crash or a stack trace. */
export function expectNoCrash(result: RunResult): void {
  expect(result.code).not.toBe(10);
  expect(result.code).toBeLessThan(128); // not killed by a signal (segfault, abort, OOM kill)
  expect(result.stderr).not.toContain("[INTERNAL]");
  expect(result.output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // a stack frame
  expect(result.output).not.toMatch(/\b(TypeError|RangeError|ReferenceError|SyntaxError|URIError): /);
  expect(result.output).not.toContain("Bun v1."); // Bun's crash banner
}
