import { MigrateError } from "./errors.ts";

/**
 * Parsing of a postgres:// URL: its parts, and the libpq parameters the
 * runner honours. An error never shows the URL (it may hold a password),
 * only which part is wrong and how to write it.
 */

export type TargetSessionAttrs = "read-write" | "read-only" | "primary" | "standby" | "prefer-standby";
const TARGET_SESSION_ATTRS: readonly string[] = ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"];

/** libpq's parameters that st44-migrate honours; any other is refused, never ignored. */
export const SUPPORTED_URL_PARAMETERS = ["sslmode", "sslrootcert", "options", "application_name", "connect_timeout", "target_session_attrs"] as const;

export interface UrlParameters {
  readonly sslMode: string | undefined;
  readonly sslRootCert: string | undefined;
  /** Server settings from `options` (`-c name=value`, `--name=value`), sent at connection start. */
  readonly serverSettings: Readonly<Record<string, string>>;
  readonly applicationName: string | undefined;
  readonly connectTimeoutSeconds: number | undefined;
  /** undefined for "any". */
  readonly targetSessionAttrs: TargetSessionAttrs | undefined;
}

export interface ParsedDatabaseUrl {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  readonly password: string | undefined;
  readonly parameters: UrlParameters;
}

const EXAMPLE = "postgres://USER:PASSWORD@HOST:5432/DATABASE";
const ENCODING_HINT = "Percent-encode special characters in the user and password: % as %25, @ as %40, : as %3A, / as %2F, # as %23, ? as %3F (encodeURIComponent does it)";

function invalid(message: string): MigrateError {
  return new MigrateError("CONFIG_INVALID", message);
}

export function parsePort(value: string, source: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw invalid(`${source} must be a port number from 1 to 65535, not "${value}".`);
  }
  return port;
}

/**
 * What new URL() cannot say: an "@", "#", "/" or "?" left unencoded in the
 * password (the URL then splits in the wrong place), several hosts, a port
 * out of range. Reads the text the way a URL parser does, up to the first
 * "/", "?" or "#" after "//".
 */
function checkAuthority(url: string, source: string): void {
  const rest = url.slice(url.indexOf("//") + 2);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const atSigns = authority.split("@").length - 1;
  if (atSigns > 1) {
    throw invalid(
      `${source} has more than one "@" before the host: an "@" in the user or password must be written %40 (the value is not shown because it may contain a password). ${ENCODING_HINT}. Use the form ${EXAMPLE}.`,
    );
  }
  if (atSigns === 0 && end !== -1 && rest.indexOf("@", end) !== -1) {
    const character = rest[end];
    const encoded = character === "#" ? "%23" : character === "?" ? "%3F" : "%2F";
    throw invalid(
      `${source} has a "${character}" before its "@": a "${character}" in the user or password must be written ${encoded} (the value is not shown because it may contain a password). ${ENCODING_HINT}. Use the form ${EXAMPLE}.`,
    );
  }
  const hostAndPort = authority.slice(authority.lastIndexOf("@") + 1);
  if (hostAndPort.includes(",")) {
    throw invalid(`${source} names several hosts; st44-migrate connects to one. Give the primary's host (or a name that always points at it) in ${EXAMPLE}.`);
  }
  const port = /:([^:\]]*)$/.exec(hostAndPort)?.[1];
  if (port === undefined || port === "") return;
  // Without an "@" the text after ":" may be a password typed where the host goes: describe it, never print it.
  const shown = atSigns === 1 ? ` (${port})` : "";
  if (!/^\d+$/.test(port)) throw invalid(`${source} has a port that is not a number${shown}. Use the form ${EXAMPLE}; the port is 5432 unless the server says otherwise.`);
  if (Number(port) < 1 || Number(port) > 65535) throw invalid(`${source} has the port ${atSigns === 1 ? port : "given"}, out of range: a port is a number from 1 to 65535. Use the form ${EXAMPLE}.`);
}

export function parseDatabaseUrl(url: string, source: string): ParsedDatabaseUrl {
  if (/^postgres(ql)?:\/\//i.test(url)) checkAuthority(url, source);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The text itself may hold a password: describe it, never print it.
    throw invalid(`${source} is not a valid URL (its value is not shown because it may contain a password). Use the form ${EXAMPLE}; ${ENCODING_HINT}.`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw invalid(`${source} must start with postgres:// or postgresql:// (it starts with ${parsed.protocol}//). Use the form ${EXAMPLE}.`);
  }
  // new URL() accepts a stray "%" (a password with % not encoded); decodeURIComponent then throws URIError.
  const decode = (text: string, part: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw invalid(
        `${source} has ${/%(?![0-9A-Fa-f]{2})/.test(text) ? 'a "%" that does not start a valid percent-escape' : "percent-escapes that do not spell UTF-8 text (such as %FF)"} in ${part} (the value is not shown because it may contain a password). ${ENCODING_HINT}. Use the form ${EXAMPLE}.`,
      );
    }
  };
  const host = decode(parsed.hostname, "the host").replace(/^\[(.*)\]$/, "$1");
  const database = decode(parsed.pathname.replace(/^\//, ""), "the database name");
  const username = decode(parsed.username, "the user");
  if (!host || !database || !username) {
    const missing = [!username && "the user", !host && "the host", !database && "the database name"].filter(Boolean).join(", ");
    throw invalid(`${source} lacks ${missing}. Use the form ${EXAMPLE}.`);
  }
  return {
    host,
    port: parsed.port === "" ? 5432 : parsePort(parsed.port, source),
    database,
    username,
    password: parsed.password === "" ? undefined : decode(parsed.password, "the password"),
    parameters: parseUrlParameters(parsed.searchParams, source),
  };
}

function parseUrlParameters(params: URLSearchParams, source: string): UrlParameters {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!(SUPPORTED_URL_PARAMETERS as readonly string[]).includes(name)) {
      throw invalid(
        `${source} has the parameter "${name}", which st44-migrate does not support (it would be ignored, and the migrations would run differently from what the URL says). Supported: ${SUPPORTED_URL_PARAMETERS.join(", ")}. Remove it, or set the equivalent on the role (ALTER ROLE ... SET).`,
      );
    }
    if (seen.has(name)) throw invalid(`${source} gives the parameter "${name}" more than once. Give it once.`);
    seen.add(name);
  }
  const timeout = params.get("connect_timeout") ?? undefined;
  if (timeout !== undefined && !/^\d+$/.test(timeout)) {
    throw invalid(`${source} has connect_timeout="${timeout}"; it must be a whole number of seconds (0 for the default).`);
  }
  const target = params.get("target_session_attrs") ?? undefined;
  if (target !== undefined && !TARGET_SESSION_ATTRS.includes(target)) {
    throw invalid(`${source} has target_session_attrs="${target}"; it must be one of ${TARGET_SESSION_ATTRS.join(", ")}.`);
  }
  const options = params.get("options") ?? undefined;
  return {
    sslMode: params.get("sslmode") ?? undefined,
    sslRootCert: params.get("sslrootcert") ?? undefined,
    serverSettings: options === undefined ? {} : parseServerOptions(options, `options in ${source}`),
    applicationName: params.get("application_name") ?? undefined,
    connectTimeoutSeconds: timeout === undefined || Number(timeout) === 0 ? undefined : Number(timeout),
    targetSessionAttrs: target === undefined || target === "any" ? undefined : (target as TargetSessionAttrs),
  };
}

/** Words separated by unescaped whitespace; a backslash takes the next character as it is (libpq's rule for options). */
function words(text: string): string[] {
  const result: string[] = [];
  let current = "";
  let inWord = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index] ?? "";
    if (character === "\\" && index + 1 < text.length) {
      current += text[++index];
      inWord = true;
    } else if (/\s/.test(character)) {
      if (inWord) result.push(current);
      current = "";
      inWord = false;
    } else {
      current += character;
      inWord = true;
    }
  }
  if (inWord) result.push(current);
  return result;
}

const SETTING = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/s;

/**
 * libpq's `options`: server settings as on the postgres command line,
 * `-c name=value`, `-cname=value` or `--name=value` (a "-" in the name is
 * read as "_", as the server does). Anything else is refused.
 */
export function parseServerOptions(options: string, source: string): Record<string, string> {
  const settings: Record<string, string> = {};
  const list = words(options);
  for (let index = 0; index < list.length; index++) {
    const word = list[index] ?? "";
    let setting: string | undefined;
    if (word === "-c") setting = list[++index];
    else if (word.startsWith("-c")) setting = word.slice(2);
    else if (word.startsWith("--")) setting = word.slice(2);
    const match = setting === undefined ? null : SETTING.exec(setting);
    if (match === null) {
      throw invalid(
        `${source} holds "${word}${word === "-c" && setting !== undefined ? ` ${setting}` : ""}", which is not a server setting. Write each setting as -c name=value (for example options=-c%20search_path%3Dapp), separated by spaces; escape a space inside a value with a backslash.`,
      );
    }
    settings[(match[1] ?? "").replace(/-/g, "_")] = match[2] ?? "";
  }
  return settings;
}
