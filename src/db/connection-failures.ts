import type { ConnectionConfig } from "../config.ts";
import { MigrateError } from "../core/errors.ts";

/**
 * What a failed connection means: lost or never made, transient or final,
 * and the one-paragraph error the user can act on. One classifier, shared by
 * the wait loop and the apply path.
 */

/** Codes of a server certificate the client does not accept (Node's and Bun's tls). */
const CERTIFICATE_ERRORS = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * A TLS failure that waiting will not cure: the server certificate was not
 * accepted, or (sslmode require / verify-full) the server broke off the TLS
 * handshake, which is what a server without TLS does (postgres.js starts the
 * handshake even after the server answered that it has no TLS).
 */
function tlsFailure(error: unknown, config: ConnectionConfig): "certificate" | "handshake" | null {
  if (config.sslMode === "disable") return null;
  const code = (error as { code?: string }).code ?? "";
  if (CERTIFICATE_ERRORS.has(code) || code.startsWith("ERR_TLS_CERT")) return "certificate";
  const message = (error as { message?: string }).message ?? "";
  if (config.sslMode !== "prefer" && /before secure TLS connection was established/i.test(message)) return "handshake";
  return null;
}

/**
 * The socket or the session failed, not a statement: the driver lost the
 * connection, or the server ended the session (admin or crash shutdown,
 * starting up) or reported a connection exception (class 08). The server
 * rolls back whatever that session had open.
 */
export function isConnectionFailure(error: unknown): boolean {
  // Ours: a connection that stalled or closed under a waiting caller (db/lock.ts), which must not be used again.
  if (error instanceof MigrateError) return error.code === "DB_UNREACHABLE";
  const code = (error as { code?: string }).code ?? "";
  return /^(CONNECTION_|ECONN|EPIPE)/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || code.startsWith("08");
}

/** "Not ready yet, try again" while waiting for the server: a connection failure, or the network not there yet. */
export function isTransient(error: unknown, config: ConnectionConfig): boolean {
  if (tlsFailure(error, config) !== null) return false;
  const code = (error as { code?: string }).code ?? "";
  // 53300: the server or the role has no connection slot left (max_connections, CONNECTION LIMIT); others finish and free theirs.
  return isConnectionFailure(error) || code === "53300" || ["ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "CONNECT_TIMEOUT"].includes(code);
}

/**
 * A query error from a server that let us in (a PostgresError carries a
 * severity): not a connection problem, so it is the caller's to report.
 * Login and missing-database errors come as PostgresErrors too but are
 * connection failures.
 */
export function isQueryError(error: unknown): boolean {
  const { severity, code } = error as { severity?: string; code?: string };
  return severity !== undefined && !["28P01", "28000", "3D000"].includes(code ?? "");
}

/**
 * The session cannot write (SQLSTATE 25006): a hot standby, or a database
 * or role with default_transaction_read_only. `inRecovery` says which, when known.
 */
export function readOnlyError(inRecovery: boolean | null, cause?: unknown): MigrateError {
  const which =
    inRecovery === true
      ? "is a hot standby (a replica in recovery), which accepts no writes"
      : inRecovery === false
        ? "is read-only for this session (default_transaction_read_only is on for the database, the role or the server)"
        : "refused the write because the session is read-only (a hot standby, or default_transaction_read_only)";
  return new MigrateError(
    "DB_READ_ONLY",
    `The database ${which}, so the tracking table and the migrations cannot be written. Nothing was applied. Point DATABASE_URL (or DB_HOST) at the primary; with several hosts behind one name, add target_session_attrs=read-write to DATABASE_URL so only a writable server is accepted. If the database was made read-only on purpose (ALTER DATABASE ... SET default_transaction_read_only = on), migrate after that is undone.`,
    cause === undefined ? {} : { cause },
  );
}

/** Turns a connection failure into the error the user can act on. */
export function connectionError(error: unknown, config: ConnectionConfig, waitedMs: number): MigrateError {
  const code = (error as { code?: string }).code ?? "";
  const reason = (error as Error).message ?? String(error);
  const where = `${config.display} (sslmode=${config.sslMode})`;
  if (code === "28P01" || code === "28000") {
    return new MigrateError(
      "DB_AUTH_FAILED",
      `The database at ${where} refused the login: ${reason}. Check DB_USER and DB_PASSWORD (or DB_PASSWORD_FILE, or the user and password in DATABASE_URL), and that pg_hba.conf allows this client.`,
      { cause: error },
    );
  }
  if (code === "3D000") {
    return new MigrateError(
      "DB_NOT_FOUND",
      `The server at ${where} has no database "${config.database}". Create it (createdb ${config.database}) or fix DB_NAME / the database name in DATABASE_URL.`,
      { cause: error },
    );
  }
  const tls = tlsFailure(error, config);
  const shownCode = code && !reason.includes(code) ? ` (${code})` : "";
  if (tls === "certificate") {
    return new MigrateError(
      "DB_UNREACHABLE",
      `The server at ${where} presented a TLS certificate that was not accepted: ${reason}${shownCode}. With sslmode=verify-full the certificate must be signed by the CA in DB_SSLROOTCERT (or sslrootcert in DATABASE_URL; without either, by a CA the system trusts) and be issued for the host connected to (${config.host}): point DB_SSLROOTCERT at the CA that signed it, and connect with a host name the certificate lists.`,
      { cause: error },
    );
  }
  if (tls === "handshake") {
    return new MigrateError(
      "DB_UNREACHABLE",
      `The server at ${where} did not complete a TLS handshake: ${reason}${shownCode}. It most likely has TLS turned off: enable ssl on the server, or, for a server without TLS on a trusted network, set sslmode=disable (DB_SSLMODE, or sslmode in DATABASE_URL).`,
      { cause: error },
    );
  }
  const waited = waitedMs > 0 ? ` after waiting ${(waitedMs / 1000).toFixed(1)} s` : "";
  return new MigrateError(
    "DB_UNREACHABLE",
    `Cannot connect to the database at ${where}${waited}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ""}. Check that the server is running and reachable from here, that DB_HOST/DB_PORT (or DATABASE_URL) are right, and raise --wait if it starts slowly.`,
    { cause: error },
  );
}
