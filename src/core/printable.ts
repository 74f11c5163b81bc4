/**
 * Characters that, written raw, let a text that came from a file or from the
 * database rewrite what a reader sees: line breaks (a forged log line),
 * ESC and the C1 controls (terminal escape sequences), DEL, the Unicode line
 * and paragraph separators, and the bidirectional overrides (text shown in
 * another order than it is). A tab is harmless and stays.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\u001b": "\\x1b" };

function escape(character: string): string {
  const named = NAMED[character];
  if (named !== undefined) return named;
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` on one line with every control character spelled out (\n, \x1b, \u2028), for logs and tables. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}
