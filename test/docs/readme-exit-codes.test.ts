/** README's exit-code table names every error code under its exit code (PARSE_* stands for the parser's codes). */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { errorCodes } from "../../src/core/errors.ts";

const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
const rows = new Map(
  readme
    .split("\n")
    .flatMap((line) => {
      // A row may stand for several exit codes ("130, 143": SIGINT and SIGTERM).
      const match = /^\| ([\d, ]+) \| [^|]*\| ([^|]*)\|$/.exec(line);
      return match ? (match[1] ?? "").split(",").map((exit) => [Number(exit.trim()), match[2] ?? ""] as const) : [];
    }),
);

describe("README's exit codes", () => {
  for (const [code, exit] of Object.entries(errorCodes)) {
    test(`${code} is listed under exit ${exit}`, () => {
      const listed = rows.get(exit) ?? "";
      const named = listed.includes(`\`${code}\``) || (code.startsWith("PARSE_") && listed.includes("`PARSE_*`"));
      expect({ code, exit, named }).toEqual({ code, exit, named: true });
    });
  }
});
