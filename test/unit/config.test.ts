import { describe, expect, test } from "bun:test";
import { MAX_TIMEOUT_MS, durationSetting, embeddedUntilSetting, parseDuration, resolveConnection } from "../../src/config.ts";
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

describe("durationSetting", () => {
  test("every duration has an upper bound, also those given without one (--lock-wait)", () => {
    expect(durationSetting({ "lock-wait": String(MAX_TIMEOUT_MS / 1000) }, "lock-wait", {}, "MIGRATE_LOCK_WAIT", 300_000)).toBe(MAX_TIMEOUT_MS);
    expect(() => durationSetting({ "lock-wait": "2147484" }, "lock-wait", {}, "MIGRATE_LOCK_WAIT", 300_000)).toThrow(/--lock-wait is "2147484", more than the 2147483 s \(about 24 days\)/);
    expect(() => durationSetting({}, "lock-wait", { MIGRATE_LOCK_WAIT: "40000m" }, "MIGRATE_LOCK_WAIT", 300_000)).toThrow(/MIGRATE_LOCK_WAIT is "40000m"/);
  });
  test("the flag wins over the variable; a bad variable is a usage error even with no flag", () => {
    expect(durationSetting({ wait: "2" }, "wait", { MIGRATE_WAIT: "abc" }, "MIGRATE_WAIT", 60_000)).toBe(2000);
    expect(durationSetting({}, "wait", { MIGRATE_WAIT: "1.5" }, "MIGRATE_WAIT", 60_000)).toBe(1500);
    expect(() => durationSetting({}, "wait", { MIGRATE_WAIT: "abc" }, "MIGRATE_WAIT", 60_000)).toThrow(/MIGRATE_WAIT must be a duration/);
  });
});

describe("embeddedUntilSetting", () => {
  test("a version is kept as written; unset or empty means every migration", () => {
    expect(embeddedUntilSetting({ ST44_EMBEDDED_UNTIL: "014" })).toBe("014");
    expect(embeddedUntilSetting({ ST44_EMBEDDED_UNTIL: "" })).toBeUndefined();
    expect(embeddedUntilSetting({})).toBeUndefined();
  });
  test("anything but digits is a usage error, not a BigInt crash", () => {
    for (const value of ["abc", "1.5", "-1", " 14", "0x10"]) {
      let error: unknown;
      try {
        embeddedUntilSetting({ ST44_EMBEDDED_UNTIL: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(MigrateError);
      expect((error as MigrateError).code).toBe("USAGE");
      expect((error as MigrateError).message).toContain(`ST44_EMBEDDED_UNTIL must be a migration version (digits only, for example 014), not "${value}"`);
    }
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

/** The CONFIG_INVALID message resolveConnection throws for `url`. */
function urlError(url: string): string {
  try {
    resolveConnection({}, { DATABASE_URL: url });
  } catch (error) {
    expect(error).toBeInstanceOf(MigrateError);
    expect((error as MigrateError).code).toBe("CONFIG_INVALID");
    return (error as MigrateError).message;
  }
  throw new Error(`${url} was accepted`);
}

describe("a malformed URL says what is wrong", () => {
  test("a port out of range says so, with the range (not a generic 'not a valid URL')", () => {
    const message = urlError("postgres://st44:secret@db:99999/st44");
    expect(message).toContain("DATABASE_URL has the port 99999, out of range");
    expect(message).toContain("1 to 65535");
    expect(message).not.toContain("secret");
  });
  test("a stray % and an escape that is not UTF-8 (%FF) are told apart, and neither shows the password", () => {
    const stray = urlError("postgres://st44:50%off@db/st44");
    expect(stray).toContain('a "%" that does not start a valid percent-escape in the password');
    const latin1 = urlError("postgres://st44:caf%E9x@db/st44");
    expect(latin1).toContain("percent-escapes that do not spell UTF-8 text (such as %FF) in the password");
    for (const message of [stray, latin1]) expect(message).not.toMatch(/50%off|caf%E9x|cafx/);
  });
  test("a port that is not a number says so", () => {
    expect(urlError("postgres://st44:secret@db:54x2/st44")).toContain("port that is not a number (54x2)");
  });
  test("an unencoded @ in the password gets the hint to write %40", () => {
    const message = urlError("postgres://st44:pa@ss:wq9z@db/st44");
    expect(message).toContain('more than one "@"');
    expect(message).toContain("%40");
    expect(message).not.toContain("pa@ss");
    expect(message).not.toContain("wq9z");
  });
  test("an unencoded # in the password gets the hint to write %23", () => {
    const message = urlError("postgres://st44:pa#ss@db/st44");
    expect(message).toContain('"#" before its "@"');
    expect(message).toContain("%23");
    expect(message).not.toContain("pa#ss");
  });
  test("a password typed where the host goes (no @) is not echoed as a port", () => {
    const message = urlError("postgres://st44:hunter9zz/st44");
    expect(message).toContain("port that is not a number");
    expect(message).not.toContain("hunter9zz");
  });
  test("several hosts are refused, not half used", () => {
    expect(urlError("postgres://st44@db1:5432,db2:5432/st44")).toContain("several hosts");
  });
});

describe("URL parameters are honoured or refused, never ignored", () => {
  test("options, application_name, connect_timeout and target_session_attrs are read", () => {
    const config = resolveConnection(
      {},
      {
        DATABASE_URL:
          "postgres://st44@db/st44?options=-c%20search_path%3Dapp,public%20--statement-timeout=5s%20-cwork_mem=8MB&application_name=api-migrate&connect_timeout=3&target_session_attrs=read-write",
      },
    );
    expect(config.serverSettings).toEqual({ search_path: "app,public", statement_timeout: "5s", work_mem: "8MB" });
    expect(config.applicationName).toBe("api-migrate");
    expect(config.connectTimeoutSeconds).toBe(3);
    expect(config.targetSessionAttrs).toBe("read-write");
  });
  test("a backslash keeps a space inside an option's value", () => {
    const config = resolveConnection({}, { DATABASE_URL: "postgres://st44@db/st44?options=-c%20search_path%3D%22my\\%20schema%22" });
    expect(config.serverSettings).toEqual({ search_path: '"my schema"' });
  });
  test("an unknown parameter is a usage error listing the supported ones", () => {
    const message = urlError("postgres://st44@db/st44?sslmode=disable&keepalives=1");
    expect(message).toContain('the parameter "keepalives"');
    expect(message).toContain("Supported: sslmode, sslrootcert, options, application_name, connect_timeout, target_session_attrs");
  });
  test("options that are not -c name=value are refused", () => {
    expect(urlError("postgres://st44@db/st44?options=-c%20search_path")).toContain("not a server setting");
    expect(urlError("postgres://st44@db/st44?options=--single")).toContain("not a server setting");
  });
  test("a bad connect_timeout or target_session_attrs is refused", () => {
    expect(urlError("postgres://st44@db/st44?connect_timeout=soon")).toContain("connect_timeout");
    expect(urlError("postgres://st44@db/st44?target_session_attrs=master")).toContain("target_session_attrs");
  });
});
