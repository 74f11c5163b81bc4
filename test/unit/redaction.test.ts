/**
 * What redact() cuts out of a line (issue 17 item 4, issue 12 item 24): the
 * password where it stands (a URL's password field, a password variable),
 * and the connection password's own text only when it cannot be an
 * ordinary word. Messages around a weak password stay readable.
 */
import { describe, expect, test } from "bun:test";
import { isDistinctive } from "../../src/core/redaction.ts";
import { redact, registerSecret } from "../../src/log.ts";

describe("a weak connection password does not garble the message", () => {
  test('password "postgres": the scheme, the user and the database name stay', () => {
    registerSecret("postgres");
    expect(redact("Cannot connect to postgres://postgres@db:5432/postgres (sslmode=prefer)")).toBe(
      "Cannot connect to postgres://postgres@db:5432/postgres (sslmode=prefer)",
    );
    expect(redact("login with postgres://app:postgres@db:5432/st44 failed")).toBe("login with postgres://app:***@db:5432/st44 failed");
  });
  test('password "st": postgres://, st44 and words with "st" stay', () => {
    registerSecret("st");
    expect(redact("postgres://st44@db:5432/st44 is not ready; retry 1 in 0.25 s")).toBe("postgres://st44@db:5432/st44 is not ready; retry 1 in 0.25 s");
  });
  test('a one-letter password "p" leaves "example" whole', () => {
    registerSecret("p");
    expect(redact("for example postgres://u:p@h/db")).toBe("for example postgres://u:***@h/db");
  });
});

describe("the password is removed where it stands", () => {
  test("a URL's password field, whatever it holds", () => {
    expect(redact("postgres://u:anything@h/db")).toBe("postgres://u:***@h/db");
    expect(redact("see postgresql://u:x%40y@h:5432/db?sslmode=require.")).toBe("see postgresql://u:***@h:5432/db?sslmode=require.");
  });
  test("an unencoded @ in the password goes with the rest of it (a URL passed as an argument)", () => {
    expect(redact('Unexpected argument "postgres://st44:pa@ss:word@host/db" for "st44-migrate status".')).toBe(
      'Unexpected argument "postgres://st44:***@host/db" for "st44-migrate status".',
    );
  });
  test("an unencoded #, / or ? in the password goes too", () => {
    expect(redact("postgres://st44:a#b/c?d@host/db")).toBe("postgres://st44:***@host/db");
  });
  test("a user without a password, and an @ in a later parameter, are left alone", () => {
    expect(redact("postgres://st44@host:5432/db?application_name=me@laptop")).toBe("postgres://st44@host:5432/db?application_name=me@laptop");
  });
  test("password=, PGPASSWORD= and DB_PASSWORD= values (quoted or not)", () => {
    expect(redact("host=db password=hunter dbname=st44")).toBe("host=db password=*** dbname=st44");
    expect(redact("host=db password='a b\\' c' dbname=st44")).toBe("host=db password=*** dbname=st44");
    expect(redact("PGPASSWORD=x1 psql; DB_PASSWORD=y2 st44-migrate up")).toBe("PGPASSWORD=*** psql; DB_PASSWORD=*** st44-migrate up");
  });
  test("a role's PASSWORD literal in a SQL line", () => {
    expect(redact("  3 | CREATE ROLE app LOGIN PASSWORD 'it''s secret';")).toBe("  3 | CREATE ROLE app LOGIN PASSWORD '***';");
  });
  test("our own placeholders stay readable", () => {
    expect(redact("Use the form postgres://USER:PASSWORD@HOST:5432/DATABASE")).toBe("Use the form postgres://USER:PASSWORD@HOST:5432/DATABASE");
  });
});

describe("a distinctive connection password is removed wherever it occurs", () => {
  test("raw, percent-encoded, and inside other text", () => {
    registerSecret("Hunter2!@");
    expect(redact("login Hunter2!@ and Hunter2!%40 failed")).toBe("login *** and *** failed");
    expect(redact("select 'xHunter2!@y'")).toBe("select 'x***y'");
  });
  test("distinctive: 8+ characters of two kinds, or 16+", () => {
    expect(isDistinctive("postgres")).toBe(false);
    expect(isDistinctive("Postgres")).toBe(true);
    expect(isDistinctive("st")).toBe(false);
    expect(isDistinctive("p4ss")).toBe(false);
    expect(isDistinctive("correcthorsebatterystaple")).toBe(true);
  });
});
