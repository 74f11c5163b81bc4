import { MigrateError } from "../core/errors.ts";
import { redact } from "../log.ts";
import type { DatabaseState } from "./report.ts";

/** The state a failed read shows and the reason the document gives; any driver's error (postgres.js, node-postgres). */
export function stateOfFailure(error: unknown): { database: DatabaseState; reason: string } {
  const code = (error as { code?: unknown }).code;
  const message = (error as Error)?.message ?? String(error);
  const say = (database: DatabaseState, text: string) => ({ database, reason: redact(text) });
  if (error instanceof MigrateError) {
    if (error.code === "DB_PERMISSION_DENIED") return say("permission_denied", error.message);
    // A schema_migrations table of another tool, or golang-migrate's marked dirty: the server answered.
    if (error.code === "TRACKING_TABLE_INVALID" || error.code === "TRACKING_TABLE_DIRTY") return say("connected", error.message);
  }
  if (code === "28P01" || code === "28000") {
    return say("auth_failed", `the database refused the login: ${message}. Check the API's database user and password, and that pg_hba.conf allows this client`);
  }
  if (code === "3D000") return say("not_found", `the server has no such database: ${message}. Check the database name in the API's connection settings`);
  if (code === "42501") {
    return say("permission_denied", `the database user may not read schema_migrations: ${message}. GRANT SELECT ON schema_migrations TO <the API's user>`);
  }
  return say("unreachable", `the database cannot be queried: ${message}${typeof code === "string" && !message.includes(code) ? ` (${code})` : ""}`);
}
