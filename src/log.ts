import { type ConsolaInstance, type ConsolaReporter, type LogObject, createConsola } from "consola";
import type { LogFormat } from "./config.ts";

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
 * the tool writes, logs and errors alike, whatever produced the text.
 */
const secrets = new Set<string>();
export function registerSecret(secret: string | undefined): void {
  if (secret !== undefined && secret.length >= 1) {
    secrets.add(secret);
    secrets.add(encodeURIComponent(secret));
  }
}
const URL_PASSWORD = /(postgres(?:ql)?:\/\/[^:/@\s]*):([^@\s]*)@/gi;
export function redact(text: string): string {
  // The placeholder in our own examples (postgres://USER:PASSWORD@HOST) is no secret.
  let result = text.replace(URL_PASSWORD, (match, head: string, password: string) => (password === "PASSWORD" ? match : `${head}:***@`));
  for (const secret of secrets) {
    if (secret !== "") result = result.split(secret).join("***");
  }
  return result;
}

/** Writes go to stderr so that stdout carries only a command's own output (tables, JSON). */
const redactingStderr = {
  write(chunk: string): boolean {
    return process.stderr.write(redact(chunk));
  },
  get columns(): number | undefined {
    return process.stderr.columns;
  },
};

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
    const line = JSON.stringify({
      time: logObj.date.toISOString(),
      level: logObj.type === "success" ? "info" : logObj.type,
      msg: messageOf(logObj),
      ...fieldsOf(logObj),
    });
    redactingStderr.write(`${line}\n`);
  },
};

const plainReporter: ConsolaReporter = {
  log(logObj) {
    const level = (logObj.type === "success" ? "info" : logObj.type).toUpperCase().padEnd(5);
    redactingStderr.write(`${logObj.date.toISOString()} ${level} ${messageOf(logObj)}\n`);
  },
};

export function createLogger(format: LogFormat, level = 3): Logger {
  const consola: ConsolaInstance =
    format === "pretty"
      ? createConsola({ level, fancy: true, stdout: redactingStderr as never, stderr: redactingStderr as never })
      : createConsola({ level, reporters: [format === "json" ? jsonReporter : plainReporter] });
  // Pretty output shows the message only; plain and JSON keep the fields for collectors.
  const withFields = format === "json";
  const emit =
    (type: "info" | "success" | "warn" | "error" | "debug") =>
    (message: string, fields?: LogFields): void => {
      if (withFields && fields) consola[type](message, fields);
      else consola[type](message);
    };
  return { info: emit("info"), success: emit("success"), warn: emit("warn"), error: emit("error"), debug: emit("debug") };
}

/** A logger that drops everything, for library callers that pass none. */
export const silentLogger: Logger = {
  info() {},
  success() {},
  warn() {},
  error() {},
  debug() {},
};
