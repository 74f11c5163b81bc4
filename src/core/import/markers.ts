/**
 * Turning a legacy file into dbmate's format without touching its SQL, and
 * finding what in a legacy file the report must mention.
 */
import { isTransactionControl, scanSql } from "../sql-lexer.ts";

const HAS_MARKER = /^--\s*migrate:(?:up|down)\b/m;
const UP_MARKER_LINE = /^(--\s*migrate:up\b)([^\r\n]*)$/m;
const FORMERLY_OPTION = /[ \t]+formerly:\S+/;

/** Whether the file is already in dbmate's format (then it is copied, not wrapped). */
export function hasMarkers(text: string): boolean {
  return HAS_MARKER.test(text);
}

/** The up marker, with the old identity of a renumbered file (the parser's `formerly:VERSION_NAME` option). */
export function upMarker(formerly: string | null): string {
  return formerly === null ? "-- migrate:up" : `-- migrate:up formerly:${formerly}`;
}

/**
 * The file in our format: a BOM stays first, then the up marker, then the
 * legacy text exactly as it was (so the parser's up part is that text), then
 * the down marker and the down SQL. Only when the legacy text has no final
 * line break and a down part follows does the up part gain one: the marker
 * must start a line.
 */
export function withMarkers(text: string, down: string | null, formerly: string | null): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const bom = text.startsWith("\uFEFF") ? "\uFEFF" : "";
  const body = text.slice(bom.length);
  let result = `${bom}${upMarker(formerly)}${eol}${body}`;
  if (down !== null) {
    if (body !== "" && !body.endsWith("\n")) result += eol;
    result += `-- migrate:down${eol}${down.startsWith("\uFEFF") ? down.slice(1) : down}`;
  }
  return result;
}

/** A file already in dbmate's format, renumbered: its up marker gains the option, nothing else changes. */
export function addFormerlyToMarker(text: string, formerly: string): string {
  return text.replace(UP_MARKER_LINE, (_line, marker: string, rest: string) => `${marker}${rest.replace(FORMERLY_OPTION, "")} formerly:${formerly}`);
}

export type FindingKind = "rollback-notes" | "transaction-control" | "self-registration" | "tracking-ddl" | "tracking-guard";

export interface LegacyFinding {
  readonly kind: FindingKind;
  /** 1-based line in the legacy file. */
  readonly line: number;
  readonly text: string;
}

const ROLLBACK_NOTES = /^[ \t]*--[ \t-]*ROLLBACK NOTES\b/im;
const TRACKING_TABLE = /\bschema_migrations\b/i;
const TABLE_NAME = String.raw`(?:"?public"?\s*\.\s*)?"?schema_migrations\b"?`;
const SELF_REGISTRATION = new RegExp(String.raw`^insert\s+into\s+${TABLE_NAME}`, "i");
const TRACKING_DDL = new RegExp(String.raw`^(?:create|alter|drop)\b[^;]*?\b(?:table|on)\s+(?:if\s+(?:not\s+)?exists\s+)?${TABLE_NAME}`, "i");
const TRACKING_READ = new RegExp(String.raw`\bfrom\s+${TABLE_NAME}`, "i");

/** What in a legacy file's SQL the import leaves as it is but reports. */
export function findLegacyTraits(text: string): LegacyFinding[] {
  const findings: LegacyFinding[] = [];
  const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
  const notes = ROLLBACK_NOTES.exec(text);
  if (notes) findings.push({ kind: "rollback-notes", line: lineOf(notes.index + (notes[0].length - notes[0].trimStart().length)), text: notes[0].trim() });
  for (const statement of scanSql(text).statements) {
    const sql = text.slice(statement.start, statement.end);
    const firstLine = sql.split("\n")[0]?.trim() ?? "";
    if (isTransactionControl(statement)) findings.push({ kind: "transaction-control", line: lineOf(statement.start), text: firstLine });
    else if (SELF_REGISTRATION.test(sql)) findings.push({ kind: "self-registration", line: lineOf(statement.start), text: firstLine });
    else if (TRACKING_DDL.test(sql)) findings.push({ kind: "tracking-ddl", line: lineOf(statement.start), text: firstLine });
    else if (TRACKING_READ.test(sql)) {
      const at = statement.start + sql.search(TRACKING_TABLE);
      findings.push({ kind: "tracking-guard", line: lineOf(at), text: text.slice(text.lastIndexOf("\n", at - 1) + 1, text.indexOf("\n", at) === -1 ? text.length : text.indexOf("\n", at)).trim() });
    }
  }
  return findings;
}

/** Whether the SQL names its own version as a string ('040' or '40'): a guard or a self-registration that ties it to that number. */
export function mentionsOwnVersion(text: string, versionKey: string): boolean {
  return new RegExp(`'0*${versionKey}'`).test(text);
}
