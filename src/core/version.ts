/**
 * Versions are the leading digits of a file name, compared as numbers:
 * `046`, `46` and `0046` are one version, so rows written by hand without
 * zero padding still match their files.
 */

/** The canonical key of a version: its digits without leading zeros ("0" for zero). */
export function versionKey(version: string): string {
  const trimmed = version.trim().replace(/^0+/, "");
  return trimmed === "" ? "0" : trimmed;
}

/** Numeric order of two canonical or padded version strings of any length. */
export function compareVersions(a: string, b: string): number {
  return compareVersionKeys(versionKey(a), versionKey(b));
}

/** Numeric order of two keys (versionKey's output): what sorting a thousand versions should compare, not re-derive. */
export function compareVersionKeys(left: string, right: string): number {
  if (left.length !== right.length) return left.length - right.length;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function isVersion(text: string): boolean {
  return /^\d+$/.test(text.trim());
}
