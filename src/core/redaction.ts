/**
 * Where a password stands in a text, so that it can be cut out before the
 * text is shortened, escaped or encoded.
 *
 * Two rules, because a password can be an ordinary word ("postgres", "st"):
 * - Structural: the password field of a postgres:// or postgresql:// URL,
 *   the value of a password variable (`password=…` of a libpq keyword
 *   string, `PGPASSWORD=…`, `DB_PASSWORD=…`) and a SQL `PASSWORD '…'`
 *   literal are removed whatever they hold.
 * - Textual: the connection password's own text (raw or percent-encoded) is
 *   removed wherever it occurs, but only when it is distinctive enough not to
 *   be an ordinary word; a weak password is removed only where it stands as
 *   a password, since elsewhere it cannot be told from the text around it.
 */

export const REDACTED = "***";

/** A half-open range [start, end) of UTF-16 indexes to replace with REDACTED. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * At least 8 characters mixing two kinds (lower case, upper case, digits,
 * others), or 16 of any kind: such a text is no word a message would
 * otherwise contain ("postgres" is not distinctive, "Pw-7f3a!x" is).
 */
export function isDistinctive(secret: string): boolean {
  if (secret.length >= 16) return true;
  if (secret.length < 8) return false;
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((kind) => kind.test(secret)).length;
  return kinds >= 2;
}

/** Our own examples (postgres://USER:PASSWORD@HOST) are no secret. */
const PLACEHOLDER = "PASSWORD";

/**
 * A URL runs to the next whitespace; its userinfo ends at the last "@" of
 * that run, so an unencoded "@" (or "#", "/", "?") in the password is taken
 * with the rest of it rather than half shown.
 */
const URL_START = /postgres(?:ql)?:\/\//gi;
const WHITESPACE = /\s/g;

function urlPasswordSpans(text: string, spans: Span[]): void {
  for (const match of text.matchAll(URL_START)) {
    const authorityStart = match.index + match[0].length;
    WHITESPACE.lastIndex = authorityStart;
    const runEnd = WHITESPACE.exec(text)?.index ?? text.length;
    const run = text.slice(authorityStart, runEnd);
    const at = run.lastIndexOf("@");
    // A user alone (postgres://st44@host) has nothing to hide; the password follows the user's ":".
    const colon = run.indexOf(":");
    if (at === -1 || colon === -1 || colon > run.indexOf("@")) continue;
    if (run.slice(colon + 1, at) === PLACEHOLDER) continue;
    spans.push({ start: authorityStart + colon + 1, end: authorityStart + at });
  }
}

/**
 * `password=…` (libpq keyword strings), `PGPASSWORD=…`, `DB_PASSWORD=…`: the
 * value, quoted (libpq quotes with ' and escapes with \) or up to whitespace.
 * SQL's `PASSWORD '…'` (CREATE ROLE, ALTER ROLE) too: a role's password in a
 * failing migration line is no less a secret in a log collector.
 */
const ASSIGNED_PASSWORD = /(?<![A-Za-z0-9_])(?:PG|DB_)?PASSWORD=('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|\S+)/gi;
const SQL_PASSWORD = /(?<![A-Za-z0-9_])PASSWORD\s+'((?:[^']|'')*)'?/gi;

function assignedPasswordSpans(text: string, spans: Span[]): void {
  for (const match of text.matchAll(ASSIGNED_PASSWORD)) {
    const value = match[1] ?? "";
    if (value === PLACEHOLDER) continue;
    spans.push({ start: match.index + match[0].length - value.length, end: match.index + match[0].length });
  }
  for (const match of text.matchAll(SQL_PASSWORD)) {
    const value = match[1] ?? "";
    if (value === "") continue;
    const start = match.index + match[0].indexOf("'") + 1;
    spans.push({ start, end: start + value.length });
  }
}

function occurrenceSpans(text: string, secret: string, spans: Span[]): void {
  const forms = new Set([secret, encodeURIComponent(secret)]);
  for (const form of forms) {
    for (let index = text.indexOf(form); index !== -1; index = text.indexOf(form, index + form.length)) {
      spans.push({ start: index, end: index + form.length });
    }
  }
}

/** The places to cut out of `text`, sorted and merged. */
export function secretSpans(text: string, secrets: readonly string[]): Span[] {
  const spans: Span[] = [];
  urlPasswordSpans(text, spans);
  assignedPasswordSpans(text, spans);
  for (const secret of secrets) {
    if (isDistinctive(secret)) occurrenceSpans(text, secret, spans);
  }
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Span[] = [];
  for (const span of spans) {
    const last = merged.at(-1);
    if (last !== undefined && span.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, span.end) };
    else if (span.end > span.start) merged.push(span);
  }
  return merged;
}

/** `text` with every span replaced by REDACTED. */
export function applySpans(text: string, spans: readonly Span[]): string {
  let result = "";
  let cursor = 0;
  for (const span of spans) {
    result += text.slice(cursor, span.start) + REDACTED;
    cursor = span.end;
  }
  return result + text.slice(cursor);
}

/** Where index `index` of the original text lands once the spans are replaced (a span's start, if inside one). */
export function mapIndex(index: number, spans: readonly Span[]): number {
  let shift = 0;
  for (const span of spans) {
    if (index < span.start) break;
    if (index < span.end) return span.start + shift;
    shift += REDACTED.length - (span.end - span.start);
  }
  return index + shift;
}

export function redactText(text: string, secrets: readonly string[]): string {
  return applySpans(text, secretSpans(text, secrets));
}
