/**
 * The one PostgreSQL server of a bench run: the embedded one the tests use
 * (test/support/embedded-postgres.ts), or an existing server given by URL.
 * Each tool gets its own database, created and dropped through an admin
 * connection outside the timed runs.
 *
 * The embedded server's initdb uses `--auth=password` (the client sends the
 * password in clear over loopback). For the SCRAM row the bench adds a second
 * superuser with a SCRAM-SHA-256 verifier and a pg_hba.conf line that makes
 * it log in with scram-sha-256, so a tool pays the PBKDF2 of PostgreSQL's
 * default authentication at every start, as in production.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import postgres from "postgres";

const SCRAM_ROLE = "bench_scram";

export interface ScramLogin {
  /** URL of one database for the SCRAM role (sslmode=disable). */
  urlFor(database: string): string;
  /** How the login was checked and what it costs, for the report. */
  readonly description: string;
}

export interface BenchServer {
  readonly version: string;
  readonly settings: string;
  /** URL of one database, with sslmode=disable (what every tool is given). */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  /** A SCRAM-SHA-256 login for the tools, or the reason there is none (an existing server's pg_hba.conf is not the bench's to edit). */
  enableScram(): Promise<ScramLogin | string>;
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
  let scramRoleCreated = false;
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
    async enableScram() {
      if (options.url !== undefined) return "the SCRAM row needs the embedded server (the bench edits its pg_hba.conf), not --url";
      const [hba] = await admin.unsafe<{ hba_file: string }[]>("show hba_file");
      const hbaFile = hba?.hba_file ?? "";
      if (!existsSync(hbaFile)) return `the server's pg_hba.conf (${hbaFile}) is not readable here`;
      const password = randomBytes(12).toString("hex");
      // First matching line wins: only the SCRAM role is sent to scram-sha-256, every other login stays as it was.
      const lines = [`host all ${SCRAM_ROLE} 127.0.0.1/32 scram-sha-256`, `host all ${SCRAM_ROLE} ::1/128 scram-sha-256`];
      writeFileSync(hbaFile, `${lines.join("\n")}\n${readFileSync(hbaFile, "utf8")}`);
      await admin.unsafe("set password_encryption = 'scram-sha-256'");
      await admin.unsafe(`drop role if exists ${SCRAM_ROLE}`);
      await admin.unsafe(`create role ${SCRAM_ROLE} login superuser password '${password}'`);
      scramRoleCreated = true;
      await admin.unsafe("select pg_reload_conf()");
      const scramBase = new URL(base.toString());
      scramBase.username = SCRAM_ROLE;
      scramBase.password = password;
      const urlFor = (database: string) => {
        const url = new URL(scramBase.toString());
        url.pathname = `/${database}`;
        return url.toString();
      };
      // system_user is "method:identity": proof that the login went through scram-sha-256, not the clear password.
      const probe = postgres(urlFor("postgres"), { max: 1, onnotice: () => {}, fetch_types: false });
      try {
        const [row] = await probe.unsafe<{ system_user: string | null; iterations: string }[]>(
          "select system_user, current_setting('scram_iterations', true) as iterations",
        );
        if (!row?.system_user?.startsWith("scram-sha-256:")) return `the SCRAM role logged in as ${row?.system_user ?? "null"}, not scram-sha-256`;
        return { urlFor, description: `role ${SCRAM_ROLE}, pg_hba.conf \`host all ${SCRAM_ROLE} 127.0.0.1/32 scram-sha-256\`, password_encryption=scram-sha-256, scram_iterations=${row.iterations ?? "4096"}; checked: system_user = ${row.system_user}` };
      } finally {
        await probe.end({ timeout: 1 });
      }
    },
    async dropDatabase(name) {
      await admin.unsafe(`drop database if exists ${quote(name)} with (force)`);
      created.delete(name);
    },
    async close() {
      try {
        for (const name of created) await admin.unsafe(`drop database if exists ${quote(name)} with (force)`).catch(() => {});
        if (scramRoleCreated) await admin.unsafe(`drop role if exists ${SCRAM_ROLE}`).catch(() => {});
        await admin.end({ timeout: 2 });
      } finally {
        if (stopEmbedded) await stopEmbedded();
      }
    },
  };
}
