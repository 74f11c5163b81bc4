/**
 * PostgreSQL's own parser for `check`'s text rules: the libpg-query package
 * (the server's grammar compiled to WASM, a development dependency). It is
 * loaded from disk on first use and never bundled: the package reads its
 * .wasm file from its own folder, so a compiled binary could not carry it
 * anyway, and the runtime commands must not pay its load (~70 ms).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ParseOutcome, ParseResult } from "../core/check/parsed-sql.ts";
import { MigrateError } from "../core/errors.ts";

/** A variable, not a literal, so that bundlers leave it a runtime lookup. */
const PACKAGE = "libpg-query";
/** The version the rules are written against (package.json's devDependency). */
const VERSION = "18.1.5";

interface LibPgQuery {
  loadModule(): Promise<void>;
  parseSync(sql: string): ParseResult;
}

export type SqlParser = (sql: string) => ParseOutcome;

let loading: Promise<SqlParser> | null = null;

/** The parser, loaded once per process; CHECK_PARSER_UNAVAILABLE when the package cannot be found or started. */
export function loadSqlParser(): Promise<SqlParser> {
  loading ??= loadSqlParserFrom(PACKAGE, process.cwd()).catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

/** Uncached, for tests: `packageName` and `cwd` say where to look. */
export async function loadSqlParserFrom(packageName: string, cwd: string): Promise<SqlParser> {
  const module = await importPackage(packageName, cwd);
  try {
    await module.loadModule();
  } catch (cause) {
    throw unavailable(`${packageName} was found but its WASM module did not start (${withoutEmscriptenHint(cause)})`, cause);
  }
  return (sql) => parseWith(module, sql);
}

/**
 * From source (bun or deno in a checkout) the package resolves as usual. A
 * compiled binary resolves nothing from its embedded root, so the project's
 * node_modules is looked for from the working directory upwards.
 */
async function importPackage(packageName: string, cwd: string): Promise<LibPgQuery> {
  try {
    return (await import(packageName)) as LibPgQuery;
  } catch {
    const entry = findInNodeModules(packageName, cwd);
    if (entry === null) throw unavailable(`the ${packageName} package is not installed in ${cwd} or a folder above it`);
    try {
      return (await import(pathToFileURL(entry).href)) as LibPgQuery;
    } catch (cause) {
      throw unavailable(`${entry} could not be loaded (${String(cause)})`, cause);
    }
  }
}

function findInNodeModules(packageName: string, start: string): string | null {
  for (let folder = start; ; folder = dirname(folder)) {
    const entry = join(folder, "node_modules", packageName, "wasm", "index.js");
    if (existsSync(entry)) return entry;
    if (dirname(folder) === folder) return null;
  }
}

/** Emscripten's abort message ends in advice for whoever builds the WASM, not for whoever runs check. */
const withoutEmscriptenHint = (cause: unknown): string => String(cause).replace(/\.? Build with -sASSERTIONS for more info\.?$/, "");

function unavailable(why: string, cause?: unknown): MigrateError {
  return new MigrateError(
    "CHECK_PARSER_UNAVAILABLE",
    `check reads each new migration with PostgreSQL's own parser, and ${why}. Run check from the project's checkout after npm install (libpg-query is a development dependency), or add it where check runs: npm install --no-save ${PACKAGE}@${VERSION}.`,
    cause === undefined ? {} : { cause },
  );
}

function parseWith(module: LibPgQuery, sql: string): ParseOutcome {
  // The parser refuses an empty text; an up part of only comments has no statements either.
  if (sql.trim() === "") return { ok: true, tree: { stmts: [] } };
  try {
    return { ok: true, tree: module.parseSync(sql) };
  } catch (error) {
    const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    if (!details) throw error;
    return { ok: false, message: details.message ?? String(error), cursorPosition: details.cursorPosition ?? 0 };
  }
}
