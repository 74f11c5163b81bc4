/**
 * A value as an SQL literal that means the same under every session setting:
 * an escape string (E'...') reads backslashes as escapes whatever
 * standard_conforming_strings says, and a migration may have changed that
 * setting for the session. NUL bytes were refused at parse time.
 */
export function literal(value: string | number | null): string {
  if (value === null) return "null";
  if (typeof value === "number") return String(Math.trunc(value));
  return `E'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}
