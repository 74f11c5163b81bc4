import { describe, expect, test } from "bun:test";
import { parseDuration, resolveConnection } from "../../src/config.ts";
import { MigrateError } from "../../src/core/errors.ts";
import { buildMigrationSet } from "../../src/core/migration-set.ts";
import { redact, registerSecret } from "../../src/log.ts";

describe("parseDuration", () => {
  test("seconds by default, or ms / s / m", () => {
    expect(parseDuration("30", "--wait")).toBe(30_000);
    expect(parseDuration("1.5", "--wait")).toBe(1500);
    expect(parseDuration("500ms", "--wait")).toBe(500);
    expect(parseDuration("2m", "--wait")).toBe(120_000);
    expect(parseDuration("0", "--wait")).toBe(0);
  });
  test("a tiny positive duration never becomes 0, which PostgreSQL reads as no limit", () => {
    expect(parseDuration("0.0001", "--lock-timeout")).toBe(1);
  });
  test("anything else is a usage error naming the flag", () => {
    expect(() => parseDuration("-1", "--lock-timeout")).toThrow(/--lock-timeout must be a duration/);
    expect(() => parseDuration("soon", "--wait")).toThrow(MigrateError);
  });
});

describe("resolveConnection", () => {
  test("a stray % in the URL is a usage error that does not show the value", () => {
    let caught: unknown;
    try {
      resolveConnection({}, { DATABASE_URL: "postgres://u:50%off@host/db" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MigrateError);
    expect((caught as MigrateError).code).toBe("CONFIG_INVALID");
    expect((caught as MigrateError).message).not.toContain("50%off");
  });
  test("the display form never has the password", () => {
    const config = resolveConnection({}, { DATABASE_URL: "postgresql://st44:s3cr%40t@db.internal:6543/st44?sslmode=require" });
    expect(config).toMatchObject({ host: "db.internal", port: 6543, database: "st44", username: "st44", password: "s3cr@t", sslMode: "require" });
    expect(config.display).toBe("postgres://st44@db.internal:6543/st44");
  });
});

describe("redact", () => {
  test("registered secrets and URL passwords are cut, raw and percent-encoded", () => {
    registerSecret("Hunter2!@");
    expect(redact("login Hunter2!@ and Hunter2!%40 failed")).toBe("login *** and *** failed");
    expect(redact("postgres://u:anything@h/db")).toBe("postgres://u:***@h/db");
  });
  test("our own PASSWORD placeholder in examples stays readable", () => {
    expect(redact("Use the form postgres://USER:PASSWORD@HOST:5432/DATABASE")).toBe("Use the form postgres://USER:PASSWORD@HOST:5432/DATABASE");
  });
});

describe("NUL bytes", () => {
  test("a migration file with a NUL byte is refused at parse time, naming the line", () => {
    expect(() => buildMigrationSet([{ fileName: "001_bin.sql", text: "select 1;\nselect 2;\nselect '\0';\n" }])).toThrow(/001_bin\.sql contains a NUL byte \(line 3\)/);
  });
});
