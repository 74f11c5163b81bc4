import { MigrateError } from "./errors.ts";

/** Options that may follow `-- migrate:up` (dbmate's syntax: `key:value`). */
export interface MigrationOptions {
  /** false runs the statements one by one outside a transaction. */
  readonly transaction: boolean;
}

export interface ParsedMigrationText {
  /** SQL of the up part, exactly as in the file (positions stay valid). */
  readonly up: string;
  /** Character offset of `up` inside the normalised file text. */
  readonly upOffset: number;
  /** SQL of the down part; null when the file has no down marker. */
  readonly down: string | null;
  readonly options: MigrationOptions;
}

const MARKER = /^--\s*migrate:(up|down)\b(.*)$/;
const KNOWN_OPTIONS: Record<string, (value: string) => Partial<MigrationOptions>> = {
  transaction: (value) => {
    if (value === "true") return { transaction: true };
    if (value === "false") return { transaction: false };
    throw new Error(`transaction takes true or false, not "${value}"`);
  },
};

/** CRLF and lone CR become LF and a leading BOM goes, so a checkout's line endings never look like an edit. */
export function normaliseText(text: string): string {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return withoutBom.replace(/\r\n?/g, "\n");
}

/**
 * Splits a migration file into its up and down parts at dbmate's markers.
 * A file without markers is all "up" and has no down. `text` must already be
 * normalised.
 */
export function parseMigrationText(fileName: string, text: string): ParsedMigrationText {
  let upStart = -1;
  let upMarkerEnd = -1;
  let downStart = -1;
  let downMarkerEnd = -1;
  let optionsText = "";

  let lineStart = 0;
  while (lineStart <= text.length) {
    const newline = text.indexOf("\n", lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    const match = MARKER.exec(text.slice(lineStart, lineEnd).trimEnd());
    if (match) {
      const kind = match[1];
      if (kind === "up") {
        if (upStart !== -1) throw duplicateMarker(fileName, "up");
        if (downStart !== -1) {
          throw new MigrateError(
            "PARSE_DOWN_BEFORE_UP",
            `${fileName}: "-- migrate:down" comes before "-- migrate:up". Put the up part first, then the down part, each under its own marker.`,
          );
        }
        upStart = lineStart;
        upMarkerEnd = lineEnd;
        optionsText = (match[2] ?? "").trim();
      } else {
        if (downStart !== -1) throw duplicateMarker(fileName, "down");
        downStart = lineStart;
        downMarkerEnd = lineEnd;
      }
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }

  if (upStart === -1 && downStart !== -1) {
    throw new MigrateError(
      "PARSE_MISSING_UP",
      `${fileName} has "-- migrate:down" but no "-- migrate:up". Add a "-- migrate:up" line above the SQL that applies the migration.`,
    );
  }
  if (upStart === -1) {
    return { up: text, upOffset: 0, down: null, options: { transaction: true } };
  }
  const upOffset = Math.min(upMarkerEnd + 1, text.length);
  const upEnd = downStart === -1 ? text.length : downStart;
  return {
    up: text.slice(upOffset, Math.max(upOffset, upEnd)),
    upOffset,
    down: downStart === -1 ? null : text.slice(Math.min(downMarkerEnd + 1, text.length)),
    options: parseOptions(fileName, optionsText),
  };
}

function parseOptions(fileName: string, optionsText: string): MigrationOptions {
  let options: MigrationOptions = { transaction: true };
  for (const word of optionsText.split(/\s+/).filter(Boolean)) {
    const separator = word.indexOf(":");
    const key = separator === -1 ? word : word.slice(0, separator);
    const value = separator === -1 ? "" : word.slice(separator + 1);
    const apply = Object.hasOwn(KNOWN_OPTIONS, key) ? KNOWN_OPTIONS[key] : undefined;
    if (!apply) {
      throw new MigrateError(
        "PARSE_UNKNOWN_OPTION",
        `${fileName}: unknown option "${word}" after "-- migrate:up". The only option is transaction:false (run the statements outside a transaction); remove or correct "${word}".`,
      );
    }
    try {
      options = { ...options, ...apply(value) };
    } catch (error) {
      throw new MigrateError(
        "PARSE_UNKNOWN_OPTION",
        `${fileName}: bad option "${word}" after "-- migrate:up": ${(error as Error).message}.`,
      );
    }
  }
  return options;
}

function duplicateMarker(fileName: string, kind: "up" | "down"): MigrateError {
  return new MigrateError(
    "PARSE_DUPLICATE_MARKER",
    `${fileName} has "-- migrate:${kind}" more than once. Keep one "-- migrate:${kind}" marker per file; put a second change in a new migration file.`,
  );
}
