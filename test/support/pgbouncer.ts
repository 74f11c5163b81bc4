import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./embedded-postgres.ts";

export interface Bouncer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Where Debian puts it (/usr/sbin is often not on a user's PATH), then PATH (Homebrew and others). */
export function findPgBouncer(options: { candidates?: readonly string[]; path?: string } = {}): string | null {
  const candidates = options.candidates ?? ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"];
  return candidates.find((path) => existsSync(path)) ?? Bun.which("pgbouncer", { PATH: options.path ?? process.env.PATH ?? "" }) ?? null;
}

/** No npm package ships PgBouncer, so the test cannot install it: it says what to run (the README's quick start says the same). */
export const PGBOUNCER_MISSING =
  "PgBouncer is not installed, and the PgBouncer test (test/reliability/faults.test.ts) needs a real one: " +
  "run `sudo apt-get install -y pgbouncer` (Debian, Ubuntu) or `brew install pgbouncer` (macOS), then `npm test` again. " +
  "Looked in /usr/sbin, /usr/bin and PATH.";

export const PGBOUNCER = findPgBouncer();

export interface BouncerOptions {
  /** Reach PostgreSQL over its Unix socket in this directory (port: the server's) instead of TCP. */
  readonly serverSocketDir?: string;
  /** Where PgBouncer listens (default 127.0.0.1 on a free port): another loopback address can share the server's port number. */
  readonly listenAddr?: string;
  readonly listenPort?: number;
}

/**
 * A real PgBouncer (Debian package `pgbouncer`, installed by .ci/run) in
 * front of `server`, in transaction pooling mode. As root it must drop to a
 * normal user (-u postgres).
 */
export async function startPgBouncer(server: URL, options: BouncerOptions = {}): Promise<Bouncer> {
  if (PGBOUNCER === null) throw new Error(PGBOUNCER_MISSING);
  const dir = mkdtempSync(join(tmpdir(), "st44-bouncer-"));
  chmodSync(dir, 0o777);
  const port = options.listenPort ?? (await freePort());
  const listenAddr = options.listenAddr ?? "127.0.0.1";
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  writeFileSync(join(dir, "userlist.txt"), `"${user}" "${password}"\n`, { mode: 0o644 });
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${options.serverSocketDir ?? server.hostname} port=${server.port || 5432}`,
      "[pgbouncer]",
      `listen_addr = ${listenAddr}`,
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = plain",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "pool_mode = transaction",
      "default_pool_size = 4",
      "max_client_conn = 200",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      `pidfile = ${join(dir, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const child = Bun.spawn([PGBOUNCER, ...(isRoot ? ["-u", "postgres"] : []), join(dir, "pgbouncer.ini")], { stdout: "ignore", stderr: "pipe" });
  // Ready when it accepts TCP connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await Bun.connect({ hostname: listenAddr, port, socket: { data() {} } }).then(
      (socket) => (socket.end(), true),
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`pgbouncer did not start: ${await new Response(child.stderr).text()}`);
    }
    await Bun.sleep(50);
  }
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}
