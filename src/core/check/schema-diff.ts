/** Two dumps (st44-migrate dump's text) compared line by line, for a finding: what one has and the other lacks. */

/** Up to `max` lines, `-` for a line only in `expected`, `+` for one only in `actual`; empty when they are equal. */
export function schemaDifferences(expected: string, actual: string, max = 6): string[] {
  if (expected === actual) return [];
  const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("--"));
  const [before, after] = [lines(expected), lines(actual)];
  const [inBefore, inAfter] = [new Set(before), new Set(after)];
  const differences = [...before.filter((line) => !inAfter.has(line)).map((line) => `- ${line.trim()}`), ...after.filter((line) => !inBefore.has(line)).map((line) => `+ ${line.trim()}`)];
  if (differences.length === 0) return ["(the same objects in another order or with another header)"];
  return differences.length > max ? [...differences.slice(0, max), `(and ${differences.length - max} more)`] : differences;
}
