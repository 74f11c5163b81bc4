/**
 * The command line as an operator meets it, through the compiled binary:
 * where flags may go, what --help says, the one rule for --wait and how long
 * it really takes, and what health exits with when it cannot even start.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { type Server, type Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshDatabases } from "../support/database.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { runBinary } from "../support/cli.ts";

const freshDatabase = freshDatabases("cli");

/** A TCP server that accepts and then does `behaviour` with each socket (nothing: it never answers). */
async function tcpServer(behaviour: (socket: Socket) => void = () => {}): Promise<{ port: number; close(): void }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    behaviour(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** The ErrorResponse a server still starting up sends to a login (SQLSTATE 57P03). */
const startingUp = (() => {
  const fields = ["SFATAL", "VFATAL", "C57P03", "Mthe database system is starting up"].map((field) => `${field}\0`).join("") + "\0";
  const message = Buffer.alloc(5 + Buffer.byteLength(fields));
  message.write("E", 0);
  message.writeInt32BE(4 + Buffer.byteLength(fields), 1);
  message.write(fields, 5);
  return message;
})();

const urlAt = (port: number) => `postgres://u:pw-not-shown@127.0.0.1:${port}/x?sslmode=disable`;

describe("one rule for --wait", () => {
  test("status and verify wait per MIGRATE_WAIT like up does", async () => {
    const url = urlAt(await freePort());
    for (const command of ["status", "verify"]) {
      const result = await runBinary([command], { env: { DATABASE_URL: url, MIGRATE_WAIT: "1.5" } });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("retry 1 in");
      expect(result.stderr).toContain("[DB_UNREACHABLE]");
      expect(result.ms).toBeGreaterThan(1400);
    }
  });

  test("a bad MIGRATE_WAIT is a usage error for every command that connects", async () => {
    const url = urlAt(await freePort());
    for (const command of [["status"], ["verify"], ["plan"], ["up"], ["down", "--all", "--yes"], ["baseline", "--to", "1"], ["repair", "--accept", "1"]]) {
      const result = await runBinary(command, { env: { DATABASE_URL: url, MIGRATE_WAIT: "abc" } });
      expect({ command, code: result.code }).toEqual({ command, code: 2 });
      expect(result.stderr).toContain('[USAGE] MIGRATE_WAIT must be a duration in seconds (for example 30, 1.5, 500ms or 2m), not "abc".');
    }
    // health checks once within --timeout, but still refuses the typo (exit 1: Docker's "unhealthy").
    const health = await runBinary(["health"], { env: { DATABASE_URL: url, MIGRATE_WAIT: "abc" } });
    expect(health.code).toBe(1);
    expect(health.stderr).toContain("[USAGE] MIGRATE_WAIT must be a duration");
  });
});

describe("the deadline is the deadline", () => {
  test("--wait 0 against a server that accepts and never answers ends within the 5 s of a single try", async () => {
    const silent = await tcpServer();
    try {
      const result = await runBinary(["up", "--wait", "0"], { env: { DATABASE_URL: urlAt(silent.port) } });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("[DB_UNREACHABLE]");
      expect(result.stderr).toContain("no answer within 5.0 s");
      expect(result.ms).toBeGreaterThan(4500);
      expect(result.ms).toBeLessThan(8500);
    } finally {
      silent.close();
    }
  });

  test("--wait 11 against a server that never answers gives up at 11 s, cutting off the try in progress", async () => {
    const silent = await tcpServer();
    try {
      const result = await runBinary(["up", "--wait", "11"], { env: { DATABASE_URL: urlAt(silent.port) }, timeoutMs: 40_000 });
      expect(result.code).toBe(3);
      // The first try ends at the driver's 10 s connect timeout; the second is cut at the deadline.
      expect(result.stderr).toMatch(/try 1 took 1\d\.\d\d s\); retry 1 in 0\.25 s, [01]\.\d s of --wait left/);
      expect(result.ms).toBeGreaterThan(10_500);
      expect(result.ms).toBeLessThan(14_000);
    } finally {
      silent.close();
    }
  });

  test("--wait 2 against a closed port retries until 2 s and no longer", async () => {
    const result = await runBinary(["status", "--wait", "2"], { env: { DATABASE_URL: urlAt(await freePort()) } });
    expect(result.code).toBe(3);
    expect(result.ms).toBeGreaterThan(1900);
    expect(result.ms).toBeLessThan(5000);
  });

  test("the log says how long each try took and the true pause before the next", async () => {
    // Answers each login after 0.6 s with "starting up" (57P03), as a server in recovery does: each try takes that long.
    const slowToRefuse = await tcpServer((socket) => void setTimeout(() => socket.end(startingUp), 600));
    try {
      const result = await runBinary(["status", "--wait", "3", "--log-format", "json"], { env: { DATABASE_URL: urlAt(slowToRefuse.port) } });
      expect(result.code).toBe(3);
      const retries = result.stderr
        .split("\n")
        .filter((line) => line.includes('"wait_for_database"'))
        .map((line) => JSON.parse(line) as { time: string; attempt_ms: number; delay_ms: number; remaining_ms: number });
      expect(retries.length).toBeGreaterThanOrEqual(2);
      for (const retry of retries) expect(retry.attempt_ms).toBeGreaterThanOrEqual(550);
      expect(result.stderr).toMatch(/not ready \(the database system is starting up; try 1 took 0\.\d\d s\); retry 1 in 0\.25 s/);
      for (const [index, retry] of retries.slice(0, -1).entries()) {
        const next = retries[index + 1]!;
        // From one line to the next: the pause this line announced, then the next try.
        const gap = Date.parse(next.time) - Date.parse(retry.time);
        expect(Math.abs(gap - (retry.delay_ms + next.attempt_ms))).toBeLessThan(400);
        expect(next.remaining_ms).toBeLessThan(retry.remaining_ms);
      }
    } finally {
      slowToRefuse.close();
    }
  });
});

describe("flags before the command", () => {
  let dir: string;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "st44-cli-"));
    writeFileSync(join(dir, "001_only.sql"), "-- migrate:up\ncreate table only_one (id int);\n-- migrate:down\ndrop table only_one;\n");
    url = (await freshDatabase()).url;
  });

  test("are the command's flags: --dir d1 status, --json version, --log-format json", async () => {
    const status = await runBinary(["--dir", dir, "status", "--json"], { env: { DATABASE_URL: url } });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).pending).toEqual(["001"]);
    const version = await runBinary(["--json", "version"]);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout).migrations.count).toBe(8);
    const logged = await runBinary(["--log-format", "json", "--url", urlAt(await freePort()), "status", "--wait", "0"]);
    expect(logged.code).toBe(3);
    expect(JSON.parse(logged.stderr.trim().split("\n").at(-1)!).code).toBe("DB_UNREACHABLE");
    // The command does not read --log-format, main does (for the error line).
    expect((await runBinary(["--log-format", "json", "version"])).code).toBe(0);
  });

  test("a flag the command does not have is refused, before the command as after it", async () => {
    const before = await runBinary(["--verbose", "status"]);
    expect(before.code).toBe(2);
    expect(before.stderr).toContain('[USAGE] Unknown flag --verbose for "st44-migrate status"');
    const lockFlagOnPlan = await runBinary(["--lock-wait", "5", "plan"]);
    expect(lockFlagOnPlan.code).toBe(2);
    expect(lockFlagOnPlan.stderr).toContain('Unknown flag --lock-wait for "st44-migrate plan"');
  });
});

describe("--help", () => {
  /** Exactly the flags each command reads. */
  const expected: Record<string, string[]> = {
    up: ["url", "dir", "wait", "log-format", "lock-wait", "lock-timeout", "statement-timeout", "lock-mode", "lock-retries", "on-unknown", "dry-run"],
    run: ["url", "dir", "wait", "log-format", "lock-wait", "lock-timeout", "statement-timeout", "lock-mode", "lock-retries", "on-unknown", "on-error"],
    status: ["url", "dir", "wait", "log-format", "json", "exit-code"],
    plan: ["url", "dir", "wait", "log-format", "on-unknown", "json"],
    verify: ["url", "dir", "wait", "log-format", "json", "strict"],
    down: ["url", "dir", "wait", "log-format", "lock-wait", "lock-timeout", "statement-timeout", "lock-mode", "to", "steps", "to-known", "all", "yes"],
    baseline: ["url", "dir", "wait", "log-format", "lock-wait", "lock-timeout", "statement-timeout", "lock-mode", "to", "force"],
    "mark-applied": ["url", "dir", "wait", "log-format", "lock-wait", "lock-timeout", "statement-timeout", "lock-mode", "yes", "force"],
    forget: ["url", "dir", "wait", "log-format", "lock-wait", "lock-timeout", "statement-timeout", "lock-mode", "yes"],
    repair: ["url", "dir", "wait", "log-format", "lock-wait", "lock-timeout", "statement-timeout", "lock-mode", "accept"],
    health: ["url", "dir", "log-format", "timeout"],
    create: ["dir", "log-format"],
    version: ["json", "dir"],
  };

  test("each command lists exactly the flags it reads, without colour even when colour is allowed, in 80 columns", async () => {
    for (const [command, flags] of Object.entries(expected)) {
      const help = await runBinary([command, "--help"], { env: { NO_COLOR: "", FORCE_COLOR: "1", TERM: "xterm-256color" } });
      expect(help.code).toBe(0);
      expect(help.stdout).not.toContain("\x1b");
      const listed = [...help.stdout.matchAll(/^ {2}--([a-z-]+)/gm)].map((match) => match[1]);
      expect({ command, listed: listed.filter((name) => name !== "help").sort() }).toEqual({ command, listed: [...flags].sort() });
      for (const line of help.stdout.split("\n")) expect({ command, line, fits: line.length <= 80 }).toEqual({ command, line, fits: true });
    }
    const root = await runBinary(["--help"], { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    expect(root.stdout).not.toContain("\x1b");
    expect(Math.max(...root.stdout.split("\n").map((line) => line.length))).toBeLessThanOrEqual(80);
  });

  test("a required argument is shown as required; run shows its -- COMMAND", async () => {
    expect((await runBinary(["create", "--help"])).stdout).toContain("Usage: st44-migrate create NAME [FLAGS]\n");
    expect((await runBinary(["run", "--help"])).stdout).toContain("Usage: st44-migrate run [FLAGS] -- COMMAND [ARGS...]\n");
  });
});

describe("health exits 0 or 1, never 2", () => {
  test("no configuration, a bad flag, a bad LOG_FORMAT: unhealthy (1), with the one-paragraph error", async () => {
    const unconfigured = await runBinary(["health"]);
    expect(unconfigured.code).toBe(1);
    expect(unconfigured.stderr).toContain("[CONFIG_MISSING] No database configured");
    const badFlag = await runBinary(["health", "--wait", "3"]);
    expect(badFlag.code).toBe(1);
    expect(badFlag.stderr).toContain('[USAGE] Unknown flag --wait for "st44-migrate health"');
    const badFormat = await runBinary(["health"], { env: { LOG_FORMAT: "xml" } });
    expect(badFormat.code).toBe(1);
    expect(badFormat.stderr).toContain("[USAGE] --log-format (or LOG_FORMAT) must be pretty, plain or json");
    expect((await runBinary(["health", "--help"])).code).toBe(0);
  });
});

describe("usage errors that used to mislead or crash", () => {
  test("run sh -c … without -- says that the command goes after --", async () => {
    const result = await runBinary(["run", "--wait", "0", "sh", "-c", "echo hi"], { env: { DATABASE_URL: urlAt(1) } });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain("Unknown flag");
    expect(result.stderr).toContain(`The command to start goes after "--": st44-migrate run --wait 0 -- sh -c 'echo hi'.`);
  });

  test("--lock-wait and MIGRATE_LOCK_WAIT beyond 2^31-1 ms are usage errors, not a crash", async () => {
    const flag = await runBinary(["up", "--wait", "0", "--lock-wait", "2147484"], { env: { DATABASE_URL: urlAt(await freePort()) } });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('[USAGE] --lock-wait is "2147484", more than the 2147483 s (about 24 days) it can be.');
    const variable = await runBinary(["up", "--wait", "0"], { env: { DATABASE_URL: urlAt(await freePort()), MIGRATE_LOCK_WAIT: "99999999" } });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toContain('[USAGE] MIGRATE_LOCK_WAIT is "99999999"');
  });
});


describe("ST44_EMBEDDED_UNTIL", () => {
  test("a value that is not a version is a usage error naming the variable, not a crash", async () => {
    for (const value of ["abc", "1.5", "-3"]) {
      const result = await runBinary(["status"], { env: { DATABASE_URL: "postgres://u:p@127.0.0.1:1/db", ST44_EMBEDDED_UNTIL: value } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("[USAGE] ST44_EMBEDDED_UNTIL must be a migration version");
      expect(result.stderr).not.toContain("INTERNAL");
    }
  });
});
