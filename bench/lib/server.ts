/**
 * The one PostgreSQL server of a bench run: the embedded one the tests use
 * (test/support/embedded-postgres.ts), or an existing server given by URL.
 * Each tool gets its own database, created and dropped through an admin
 * connection outside the timed runs.
 */
import postgres from "postgres";

export interface BenchServer {
  readonly version: string;
  readonly settings: string;
  /** URL of one database, with sslmode=disable (what every tool is given). */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  /** Drops every database this run created, then stops an embedded server. */
  close(): Promise<void>;
}

export async function openServer(options: { url?: string; log: (line: string) => void }): Promise<BenchServer> {
  let adminUrl = options.url;
  let stopEmbedded: (() => Promise<void>) | null = null;
  if (adminUrl === undefined) {
    options.log("starting an embedded PostgreSQL (embedded-postgres)...");
    const { startEmbeddedPostgres } = await import("../../test/support/embedded-postgres.ts");
    const server = await startEmbeddedPostgres({ password: "bench-secret-pw" });
    adminUrl = server.url;
    stopEmbedded = () => server.stop();
  }
  const base = new URL(adminUrl);
  base.searchParams.set("sslmode", "disable");
  const admin = postgres(base.toString(), { max: 1, onnotice: () => {}, fetch_types: false });
  const created = new Set<string>();
  const [row] = await admin.unsafe<{ server_version: string; fsync: string; sync: string }[]>(
    "select current_setting('server_version') as server_version, current_setting('fsync') as fsync, current_setting('synchronous_commit') as sync",
  );
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  return {
    version: row?.server_version ?? "unknown",
    settings: `fsync=${row?.fsync ?? "?"}, synchronous_commit=${row?.sync ?? "?"}`,
    urlFor(database) {
      const url = new URL(base.toString());
      url.pathname = `/${database}`;
      return url.toString();
    },
    async createDatabase(name) {
      await admin.unsafe(`drop database if exists ${quote(name)} with (force)`);
      await admin.unsafe(`create database ${quote(name)}`);
      created.add(name);
    },
    async dropDatabase(name) {
      await admin.unsafe(`drop database if exists ${quote(name)} with (force)`);
      created.delete(name);
    },
    async close() {
      try {
        for (const name of created) await admin.unsafe(`drop database if exists ${quote(name)} with (force)`).catch(() => {});
        await admin.end({ timeout: 2 });
      } finally {
        if (stopEmbedded) await stopEmbedded();
      }
    },
  };
}
