import { applySpans, mapIndex, redactText, secretSpans } from "./redaction.ts";

/** Where a server error points inside a migration file. */
export interface SourcePosition {
  /** 1-based line in the file. */
  readonly line: number;
  /** 1-based column, in characters. */
  readonly column: number;
  /** The text of that line. */
  readonly lineText: string;
}

/**
 * Maps PostgreSQL's error position (1-based, counted in characters of the
 * query text sent) to a line and column of the file, given where that query
 * text starts in the file. Code points, not UTF-16 units, are counted, as the
 * server does.
 */
export function locateInFile(fileText: string, queryOffset: number, serverPosition: number): SourcePosition | null {
  if (!Number.isInteger(serverPosition) || serverPosition < 1 || queryOffset > fileText.length) return null;
  // Walk code points from the query start to find the UTF-16 index of the position.
  let index = queryOffset;
  let remaining = serverPosition - 1;
  for (; remaining > 0 && index < fileText.length; remaining--) {
    const code = fileText.codePointAt(index) ?? 0;
    index += code > 0xffff ? 2 : 1;
  }
  // Position length+1 is "at end of input"; anything further is not in this file.
  if (remaining > 0) return null;
  const lineStart = index === 0 ? 0 : fileText.lastIndexOf("\n", index - 1) + 1;
  const lineEndIndex = fileText.indexOf("\n", index);
  const lineEnd = lineEndIndex === -1 ? fileText.length : lineEndIndex;
  let line = 1;
  for (let cursor = fileText.indexOf("\n"); cursor !== -1 && cursor < lineStart; cursor = fileText.indexOf("\n", cursor + 1)) {
    line++;
  }
  const column = Array.from(fileText.slice(lineStart, index)).length + 1;
  return { line, column, lineText: fileText.slice(lineStart, lineEnd) };
}

const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

const codePointsBefore = (text: string, index: number): number => Array.from(text.slice(0, index)).length;

function indexOfColumn(line: string, column: number): number {
  let index = 0;
  for (let remaining = column - 1; remaining > 0 && index < line.length; remaining--) index += (line.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
  return index;
}

/**
 * At most about `width` characters of `line` around the 1-based `column`
 * (code points), with "…" where it was cut, and that column's place in the
 * excerpt: a one-line 20 MB file must not become a 20 MB log line.
 * `secrets` (and whatever stands as a password: redaction.ts) are cut out
 * of the whole line first: a cut through a password would leave a piece of
 * it that nothing can recognise any more.
 */
export function excerptAround(line: string, column: number, width = 160, secrets: readonly string[] = []): { text: string; column: number } {
  const spans = secretSpans(line, secrets);
  if (spans.length === 0) return cutAround(line, column, width);
  const redacted = applySpans(line, spans);
  return cutAround(redacted, codePointsBefore(redacted, mapIndex(indexOfColumn(line, column), spans)) + 1, width);
}

function cutAround(line: string, column: number, width: number): { text: string; column: number } {
  if (line.length <= width) return { text: line, column };
  const index = indexOfColumn(line, column);
  let start = Math.max(0, Math.min(index - Math.floor(width / 2), line.length - width));
  let end = Math.min(line.length, start + width);
  if (start > 0 && isLowSurrogate(line.charCodeAt(start))) start++;
  if (end < line.length && isLowSurrogate(line.charCodeAt(end))) end--;
  const prefix = start > 0 ? "…" : "";
  return {
    text: `${prefix}${line.slice(start, end)}${end < line.length ? "…" : ""}`,
    column: Array.from(line.slice(start, index)).length + prefix.length + 1,
  };
}

/**
 * `text` cut to about `max` characters, saying how much was left out (a
 * server message can quote the rest of a 20 MB file); secrets are cut out
 * before, as for excerptAround.
 */
export function clipText(text: string, max = 1000, secrets: readonly string[] = []): string {
  const clean = redactText(text, secrets);
  if (clean.length <= max) return clean;
  const end = isLowSurrogate(clean.charCodeAt(max)) ? max - 1 : max;
  return `${clean.slice(0, end)}… (${clean.length - end} more characters)`;
}
