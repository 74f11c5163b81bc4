/**
 * TLS, against a dedicated embedded PostgreSQL with ssl=on and a server
 * certificate from a throwaway CA (made here with openssl), issued for
 * DNS:localhost only. pg_hba admits the role tls_only over TLS only, so a
 * successful run as that role proves the binary used TLS.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type RunResult, runBinary } from "../support/cli.ts";
import { type EmbeddedServer, startEmbeddedPostgres } from "../support/embedded-postgres.ts";
import { errorCode, expectNoCrash, expectNoSecret, testServer, testServerUrl } from "./helpers.ts";

// The preload's setDefaultTimeout(60_000) reaches only the first file of a bun test run (Bun 1.4.5): set it here too.
setDefaultTimeout(120_000);

const ADMIN_PASSWORD = "tls-admin-pw";
const TLS_ROLE = "tls_only";
const TLS_PASSWORD = "Tls-9q!k@v%w";
/** The test server's own password comes from TEST_DATABASE_URL: the tests run against any server given there. */
const SECRETS = [ADMIN_PASSWORD, TLS_PASSWORD, testServer().password];

const dir = mkdtempSync(join(tmpdir(), "st44-tls-"));
const path = (name: string) => join(dir, name);
let server: EmbeddedServer;

function openssl(...args: string[]): void {
  const result = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

/** The uid/gid the server runs as: as root, embedded-postgres runs it as the `postgres` system user. */
function serverOwner(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  const result = Bun.spawnSync(["id", "-u", "postgres"], { stdout: "pipe" });
  const group = Bun.spawnSync(["id", "-g", "postgres"], { stdout: "pipe" });
  if (result.exitCode !== 0 || group.exitCode !== 0) return null; // created by embedded-postgres on first start
  return { uid: Number(result.stdout.toString().trim()), gid: Number(group.stdout.toString().trim()) };
}

function makeCertificates(): void {
  // The server runs as another user: it must reach the files.
  chmodSync(dir, 0o755);
  const days = "2";
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", days, "-subj", "/CN=st44 test CA");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", days, "-subj", "/CN=unrelated CA");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  // DNS:localhost only, no IP:127.0.0.1: connecting by IP with verify-full must fail.
  writeFileSync(
    path("server.ext"),
    "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", days, "-extfile", "server.ext");
  for (const name of ["ca.crt", "other-ca.crt", "server.crt"]) chmodSync(path(name), 0o644);
  // PostgreSQL refuses a key that others can read or that another user owns.
  chmodSync(path("server.key"), 0o600);
  const owner = serverOwner();
  if (owner) chownSync(path("server.key"), owner.uid, owner.gid);
  // tls_only may log in over TLS only; everyone else over either.
  writeFileSync(
    path("pg_hba.conf"),
    [
      "local all all password",
      `hostssl all ${TLS_ROLE} 127.0.0.1/32 password`,
      `hostnossl all ${TLS_ROLE} 127.0.0.1/32 reject`,
      "host all all 127.0.0.1/32 password",
      "host all all ::1/128 password",
      "",
    ].join("\n"),
  );
  chmodSync(path("pg_hba.conf"), 0o644);
}

beforeAll(async () => {
  makeCertificates();
  server = await startEmbeddedPostgres({
    password: ADMIN_PASSWORD,
    postgresFlags: ["-c", "ssl=on", "-c", `ssl_cert_file=${path("server.crt")}`, "-c", `ssl_key_file=${path("server.key")}`, "-c", `hba_file=${path("pg_hba.conf")}`],
  });
  const admin = postgres({ host: "127.0.0.1", port: server.port, user: "postgres", password: ADMIN_PASSWORD, database: "postgres", ssl: false, max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create role ${TLS_ROLE} login password '${TLS_PASSWORD.replace(/'/g, "''")}'`);
    await admin.unsafe(`create database tls_db owner ${TLS_ROLE}`);
  } finally {
    await admin.end();
  }
  const tlsDb = postgres({ host: "127.0.0.1", port: server.port, user: "postgres", password: ADMIN_PASSWORD, database: "tls_db", ssl: false, max: 1, onnotice: () => {} });
  try {
    await tlsDb.unsafe(`alter schema public owner to ${TLS_ROLE}`);
  } finally {
    await tlsDb.end();
  }
  // The schema every later run reads, applied over TLS.
  const up = await tls(["up"], { sslmode: "require" });
  if (up.code !== 0) throw new Error(`up over TLS failed (exit ${up.code}):\n${up.stderr}`);
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the binary against the TLS server, as tls_only (TLS required) unless `user` says otherwise. */
async function tls(
  args: string[],
  options: { host?: string; sslmode?: string; env?: Record<string, string>; user?: "tls_only" | "postgres"; port?: number } = {},
): Promise<RunResult> {
  const user = options.user ?? TLS_ROLE;
  const password = user === TLS_ROLE ? TLS_PASSWORD : ADMIN_PASSWORD;
  const query = options.sslmode ? `?sslmode=${options.sslmode}` : "";
  const url = `postgres://${user}:${encodeURIComponent(password)}@${options.host ?? "127.0.0.1"}:${options.port ?? server.port}/tls_db${query}`;
  const result = await runBinary(args, { env: { DATABASE_URL: url, ...options.env } });
  expectNoSecret(result, SECRETS, `TLS: ${args.join(" ")} ${JSON.stringify(options)}`);
  expectNoCrash(result);
  return result;
}

/** A TLS failure: exit 3 (DB_UNREACHABLE), fast, with a message that points at the TLS settings rather than at waiting longer. */
function expectTlsRefusal(result: RunResult, mentions: RegExp): void {
  expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 3, error: "DB_UNREACHABLE" });
  expect(result.stderr).toMatch(mentions);
  // The fix is in sslmode / DB_SSLROOTCERT / the host name, not in waiting for a slow server.
  expect(result.stderr).not.toContain("raise --wait");
  // One error paragraph, no raw runtime error dumped by the driver.
  expect(result.stderr).not.toContain("ERR_INVALID_ARG_VALUE");
  expect(result.stderr).not.toContain("node:tls");
}

describe("a server with TLS", () => {
  test("sslmode=require connects over TLS (as a role pg_hba admits over TLS only)", async () => {
    const result = await tls(["status", "--json"], { sslmode: "require" });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).latest).toBe("016");
  });

  test("DB_SSLMODE=require works as well as the URL parameter", async () => {
    const result = await tls(["status", "--exit-code"], { env: { DB_SSLMODE: "require" } });
    expect(result.code).toBe(0);
  });

  test("sslmode=prefer (the default) uses TLS when the server offers it", async () => {
    const result = await tls(["status", "--exit-code"]);
    expect(result.code).toBe(0);
  });

  test("DB_SSLMODE=verify-full with the right CA and host localhost connects", async () => {
    const result = await tls(["status", "--exit-code"], { host: "localhost", env: { DB_SSLMODE: "verify-full", DB_SSLROOTCERT: path("ca.crt") } });
    expect(result.code).toBe(0);
    const health = await tls(["health"], { host: "localhost", env: { DB_SSLMODE: "verify-full", DB_SSLROOTCERT: path("ca.crt") } });
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout).status).toBe("healthy");
  });

  test("verify-full with sslmode and sslrootcert in the URL connects", async () => {
    const result = await tls(["status", "--exit-code"], { host: "localhost", sslmode: `verify-full&sslrootcert=${encodeURIComponent(path("ca.crt"))}` });
    expect(result.code).toBe(0);
  });

  test("verify-full refuses a host the certificate was not issued for (127.0.0.1), fast and clearly", async () => {
    const started = performance.now();
    const result = await tls(["status"], { host: "127.0.0.1", env: { DB_SSLMODE: "verify-full", DB_SSLROOTCERT: path("ca.crt") } });
    const seconds = (performance.now() - started) / 1000;
    expectTlsRefusal(result, /certificate/i);
    expect(result.stderr).toContain("127.0.0.1");
    expect(result.stderr).toMatch(/altnames|host ?name|does not match/i);
    // A certificate problem is final: no waiting until connect_timeout.
    expect(seconds).toBeLessThan(5);
  });

  test("verify-full refuses a certificate from another CA (exit 3, names the certificate and DB_SSLROOTCERT)", async () => {
    const started = performance.now();
    const result = await tls(["up", "--wait", "10"], { host: "localhost", env: { DB_SSLMODE: "verify-full", DB_SSLROOTCERT: path("other-ca.crt") } });
    expectTlsRefusal(result, /certificate/i);
    expect(result.stderr).toContain("DB_SSLROOTCERT");
    // Not retried as if the server were starting.
    expect((performance.now() - started) / 1000).toBeLessThan(5);
  });

  test("verify-full without DB_SSLROOTCERT checks against the system CAs and refuses the throwaway CA", async () => {
    const result = await tls(["status"], { host: "localhost", env: { DB_SSLMODE: "verify-full" } });
    expectTlsRefusal(result, /certificate/i);
  });

  test("DB_SSLROOTCERT that cannot be read is a usage error naming it", async () => {
    const missing = path("no-such-ca.crt");
    const result = await tls(["status"], { host: "localhost", env: { DB_SSLMODE: "verify-full", DB_SSLROOTCERT: missing } });
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 2, error: "CONFIG_INVALID" });
    expect(result.stderr).toContain("DB_SSLROOTCERT");
    expect(result.stderr).toContain(missing);
  });

  test("DB_SSLROOTCERT that is not a PEM certificate is a usage error naming it, at once", async () => {
    const notPem = path("not-a-certificate.txt");
    writeFileSync(notPem, "this is not a certificate\n");
    const started = performance.now();
    const result = await tls(["status"], { host: "localhost", env: { DB_SSLMODE: "verify-full", DB_SSLROOTCERT: notPem } });
    expect({ code: result.code, error: errorCode(result) }).toEqual({ code: 2, error: "CONFIG_INVALID" });
    expect(result.stderr).toContain("DB_SSLROOTCERT");
    expect(result.stderr).toContain(notPem);
    expect(result.stderr).not.toContain("ERR_BORINGSSL");
    expect((performance.now() - started) / 1000).toBeLessThan(5);
  });

  test("sslmode=disable still connects (ssl=on does not force TLS), and pg_hba's hostssl rule is what refuses tls_only", async () => {
    const plain = await tls(["status", "--exit-code"], { sslmode: "disable", user: "postgres" });
    expect(plain.code).toBe(0);
    const refused = await tls(["status"], { sslmode: "disable" });
    expect(refused.code).toBe(3);
    expect(errorCode(refused)).toBe("DB_AUTH_FAILED");
    expect(refused.stderr).toContain("pg_hba.conf");
  });
});

describe("a server without TLS", () => {
  beforeAll(async () => {
    // The premise, said plainly: TEST_DATABASE_URL may name any server, and one with ssl=on would accept sslmode=require.
    const sql = postgres(testServer().url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ ssl: string }[]>`select current_setting('ssl') as ssl`;
      expect(row?.ssl, "these tests need TEST_DATABASE_URL's server without TLS (ssl=off)").toBe("off");
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  test("sslmode=require fails with exit 3, a message about TLS, and without waiting out --wait", async () => {
    const started = performance.now();
    const result = await runBinary(["up", "--wait", "10"], { env: { DATABASE_URL: testServerUrl("require") } });
    const seconds = (performance.now() - started) / 1000;
    expectNoSecret(result, SECRETS, "require against a server without TLS");
    expectNoCrash(result);
    expectTlsRefusal(result, /TLS|SSL/);
    expect(result.stderr).toContain("sslmode");
    // The server will not start offering TLS by itself: retrying for 10 s helps nobody.
    expect(seconds).toBeLessThan(5);
  });

  test("sslmode=prefer falls back to an unencrypted connection", async () => {
    const status = await runBinary(["status", "--wait", "0"], { env: { DATABASE_URL: testServerUrl("prefer") } });
    expectNoSecret(status, SECRETS, "prefer against a server without TLS");
    expect(status.code).toBe(0);
  });
});
