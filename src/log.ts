import { type ConsolaInstance, type ConsolaReporter, type LogObject, createConsola } from "consola/core";
import type { LogFormat } from "./config.ts";
import { printable } from "./core/printable.ts";
import { redactText } from "./core/redaction.ts";
import { stderrIsTerminal, writeStderr } from "./output.ts";

/** Structured fields that go with a message (they become JSON keys). */
export type LogFields = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  success(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

/**
 * Secrets (the database password) registered here are cut out of every line
 * the tool writes, logs and errors alike, whatever produced the text (see
 * src/core/redaction.ts for what is cut where). Redaction runs on the text
 * itself, before it is escaped, encoded as JSON or shortened: after, the
 * secret may no longer look like itself.
 */
const secrets = new Set<string>();
export function registerSecret(secret: string | undefined): void {
  if (secret !== undefined && secret.length >= 1) secrets.add(secret);
}
/** For code that shortens a text (a caret excerpt) and must cut secrets out first. */
export function registeredSecrets(): readonly string[] {
  return [...secrets];
}
export function redact(text: string): string {
  return redactText(text, [...secrets]);
}

/** Writes go to stderr so that stdout carries only a command's own output (tables, JSON). */
function writeLine(line: string): void {
  writeStderr(`${line}\n`);
}

/**
 * A message's lines, redacted, each with its control characters spelled
 * out: a newline or an escape sequence inside a migration name (from a file
 * or the database) cannot forge a log line or drive the terminal.
 */
function printableLines(message: string): string[] {
  return redact(message).split("\n").map(printable);
}

/**
 * JSON.stringify leaves DEL, the C1 controls, the line separators and the
 * bidi overrides raw; spelled as \u escapes they decode to the same text.
 */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(RAW_IN_JSON, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function redactFields(fields: LogFields): LogFields {
  const result: Record<string, LogFields[string]> = {};
  for (const [key, value] of Object.entries(fields)) {
    result[key] = typeof value === "string" ? redact(value) : Array.isArray(value) ? value.map((item: string) => redact(item)) : value;
  }
  return result;
}

function messageOf(logObj: LogObject): string {
  return logObj.args
    .filter((arg) => typeof arg !== "object" || arg === null || arg instanceof Error)
    .map((arg) => (arg instanceof Error ? arg.message : String(arg)))
    .join(" ");
}
function fieldsOf(logObj: LogObject): LogFields {
  const last = logObj.args.at(-1);
  return typeof last === "object" && last !== null && !(last instanceof Error) ? (last as LogFields) : {};
}

const jsonReporter: ConsolaReporter = {
  log(logObj) {
    writeLine(
      jsonLine({
        time: logObj.date.toISOString(),
        level: logObj.type === "success" ? "info" : logObj.type,
        msg: redact(messageOf(logObj)),
        ...redactFields(fieldsOf(logObj)),
      }),
    );
  },
};

const plainReporter: ConsolaReporter = {
  log(logObj) {
    const level = (logObj.type === "success" ? "info" : logObj.type).toUpperCase().padEnd(5);
    const [first = "", ...rest] = printableLines(messageOf(logObj));
    // Every line is a record (a timestamp first) or indented under one: collectors join indented lines to the record above.
    writeLine([`${logObj.date.toISOString()} ${level} ${first}`, ...rest.map((line) => (/^\s/.test(line) ? line : `  ${line}`))].join("\n"));
  },
};

/** For a person at a terminal: an icon and a colour per level, the message, no timestamp. */
const PRETTY_LEVELS: Readonly<Record<string, { readonly icon: string; readonly color: number }>> = {
  info: { icon: "ℹ", color: 36 },
  success: { icon: "✔", color: 32 },
  warn: { icon: "⚠", color: 33 },
  error: { icon: "✖", color: 31 },
  debug: { icon: "⚙", color: 90 },
};

function prettyReporter(colors: boolean): ConsolaReporter {
  return {
    log(logObj) {
      const { icon, color } = PRETTY_LEVELS[logObj.type] ?? { icon: "•", color: 0 };
      const [first = "", ...rest] = printableLines(messageOf(logObj));
      const head = colors ? `\x1b[${color}m${icon}\x1b[0m ${logObj.type === "error" || logObj.type === "warn" ? `\x1b[${color}m${first}\x1b[0m` : first}` : `${icon} ${first}`;
      writeLine([head, ...rest.map((line) => `  ${line}`)].join("\n"));
    },
  };
}

/** One logger per format and level for the process: the CLI's error printer and the command share it. */
const loggers = new Map<string, Logger>();

/**
 * consola's core with our reporters, not its main entry: that one is 77 KB
 * of a 208 KB bundle (the fancy reporter, its prompt, string-width tables)
 * and loads node:tty, readline and util.inspect at start-up, 3-5 ms of
 * every container start (docs/benchmarks.md). The reporters are a few
 * lines each; colour follows the NO_COLOR convention.
 */
export function createLogger(format: LogFormat, level = 3): Logger {
  const key = `${format}:${level}`;
  const existing = loggers.get(key);
  if (existing !== undefined) return existing;
  const reporter =
    format === "json" ? jsonReporter : format === "plain" ? plainReporter : prettyReporter(stderrIsTerminal() && !process.env.NO_COLOR);
  const consola: ConsolaInstance = createConsola({ level, reporters: [reporter] });
  // Pretty output shows the message only; plain and JSON keep the fields for collectors.
  const withFields = format === "json";
  const emit =
    (type: "info" | "success" | "warn" | "error" | "debug") =>
    (message: string, fields?: LogFields): void => {
      if (withFields && fields) consola[type](message, fields);
      else consola[type](message);
    };
  const logger: Logger = { info: emit("info"), success: emit("success"), warn: emit("warn"), error: emit("error"), debug: emit("debug") };
  loggers.set(key, logger);
  return logger;
}

/** A logger that drops everything, for library callers that pass none. */
export const silentLogger: Logger = {
  info() {},
  success() {},
  warn() {},
  error() {},
  debug() {},
};
