/**
 * The logger as a process writes it: each format run in a child (the logger
 * writes straight to descriptor 2), its stderr read back. Secrets are cut
 * before the line is encoded or escaped (issue 12 item 22), and text from
 * files or the database cannot forge a line or drive the terminal (item 30).
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LOG_MODULE = join(import.meta.dir, "../../src/log.ts");
const work = mkdtempSync(join(tmpdir(), "st44-log-"));

/** Logs `message` (with `fields`) at error level in `format` after registering `secret`; returns stderr. */
async function logged(format: "plain" | "pretty" | "json", secret: string, message: string, fields: Record<string, unknown> = {}): Promise<string> {
  const script = join(work, `log-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(
    script,
    `import { createLogger, registerSecret } from ${JSON.stringify(LOG_MODULE)};
registerSecret(${JSON.stringify(secret)});
createLogger(${JSON.stringify(format)}).error(${JSON.stringify(message)}, ${JSON.stringify(fields)});
`,
  );
  const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" } });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(code).toBe(0);
  return stderr;
}

describe("LOG_FORMAT=json cuts the secret before encoding", () => {
  for (const secret of ['Pw"quote-7x!', "Pw\\back-7x!", 'Pw\\"both-7x']) {
    test(`a password with ${JSON.stringify(secret)} in a failing line is not printed, in msg or fields`, async () => {
      const stderr = await logged("json", secret, `[MIGRATION_FAILED] failed\n  2 | select '${secret}' from nowhere;`, { event: "error", sql: `select '${secret}'`, list: [secret] });
      const record = JSON.parse(stderr);
      expect(JSON.stringify(record)).not.toContain(secret);
      expect(record.msg).toContain("select '***' from nowhere;");
      expect(record.sql).toBe("select '***'");
      expect(record.list).toEqual(["***"]);
    });
  }
  test("C1 controls, DEL and line separators are escaped, and the line is still the same JSON", async () => {
    const stderr = await logged("json", "none", "name \u009b31m\u007f\u2028end");
    expect(stderr).not.toMatch(/[\u007f-\u009f\u2028]/);
    expect(JSON.parse(stderr).msg).toBe("name \u009b31m\u007f\u2028end");
  });
});

describe("plain and pretty output escape control characters", () => {
  const forged = "017_x\r2026-01-01T00:00:00.000Z INFO  \u001b[2Kapplied 999 migration(s)";
  for (const format of ["plain", "pretty"] as const) {
    test(`${format}: ESC and CR are spelled out`, async () => {
      const stderr = await logged(format, "none", `unknown migration ${forged}`);
      expect(stderr).not.toMatch(/[\u001b\r]/);
      expect(stderr).toContain("017_x\\r2026-01-01T00:00:00.000Z INFO  \\x1b[2Kapplied");
    });
  }
  test("plain: a line inside a message is indented under its record, never a record of its own", async () => {
    const stderr = await logged("plain", "none", "unknown migration 017_x\n2026-01-01T00:00:00.000Z INFO  applied 999 migration(s)\n  --> detail");
    const lines = stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT.* ERROR unknown migration 017_x$/);
    expect(lines[1]).toBe("  2026-01-01T00:00:00.000Z INFO  applied 999 migration(s)");
    expect(lines[2]).toBe("  --> detail");
  });
  test("plain: the password is cut before escaping", async () => {
    const stderr = await logged("plain", "Tab\tPw-9x!", "select 'Tab\tPw-9x!'");
    expect(stderr).toContain("select '***'");
  });
});
