/**
 * docs/troubleshooting.md cannot fall out of date: every error code of
 * src/core/errors.ts has its section (a heading "### `CODE` (exit N)" with
 * the right exit code) and its index row, the doc names no code that no
 * longer exists, and the README's exit-code table only names real codes
 * under their real exit codes.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ExitCode, errorCodes } from "../../src/core/errors.ts";
import { slug } from "../support/markdown.ts";

const ROOT = join(import.meta.dir, "../..");
const doc = readFileSync(join(ROOT, "docs/troubleshooting.md"), "utf8");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const codes = Object.keys(errorCodes) as (keyof typeof errorCodes)[];
const exitCodes = new Set<number>(Object.values(ExitCode));

/** `### \`CODE\` (exit N)` headings: code -> exit code. */
function headings(markdown: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const match of markdown.matchAll(/^#{2,4}\s+`([A-Z][A-Z0-9_]+)`\s+\(exit (\d+)\)\s*$/gm)) {
    found.set(match[1] ?? "", Number(match[2]));
  }
  return found;
}

/** Index rows `| [\`CODE\`](#anchor) | N | ... |`: code -> exit code. */
function indexRows(markdown: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const match of markdown.matchAll(/^\|\s*\[?`([A-Z][A-Z0-9_]+)`\]?(?:\(#[^)]*\))?\s*\|\s*(\d+)\s*\|/gm)) {
    found.set(match[1] ?? "", Number(match[2]));
  }
  return found;
}


describe("docs/troubleshooting.md", () => {
  const sections = headings(doc);
  const rows = indexRows(doc);

  test("the check sees the doc's structure (it can fail)", () => {
    expect(headings("### `NOT_A_CODE` (exit 3)\n").get("NOT_A_CODE")).toBe(3);
    expect(indexRows("| [`NOT_A_CODE`](#x) | 4 | y |\n").get("NOT_A_CODE")).toBe(4);
    expect(sections.size).toBeGreaterThan(10);
  });

  for (const code of codes) {
    test(`${code} has a section and an index row with exit code ${errorCodes[code]}`, () => {
      expect(sections.has(code), `docs/troubleshooting.md has no "### \`${code}\` (exit ${errorCodes[code]})" section: document its cause and fix`).toBe(true);
      expect(sections.get(code), `the section of ${code} gives the wrong exit code`).toBe(errorCodes[code]);
      expect(rows.get(code), `the index table has no row "| [\`${code}\`](#...) | ${errorCodes[code]} | ... |"`).toBe(errorCodes[code]);
    });
  }

  test("names no code that no longer exists", () => {
    const documented = new Set([...sections.keys(), ...rows.keys()]);
    const stale = [...documented].filter((code) => !Object.hasOwn(errorCodes, code));
    expect(stale, "docs/troubleshooting.md documents codes that src/core/errors.ts no longer has").toEqual([]);
  });

  test("every section has a cause and a fix", () => {
    const parts = doc.split(/^(?=#{2,4}\s+`[A-Z][A-Z0-9_]+`\s+\(exit \d+\)\s*$)/m).slice(1);
    for (const part of parts) {
      const title = part.split("\n")[0] ?? "";
      const body = part.split(/^#{1,3}\s(?!`)/m)[0] ?? part;
      expect(body, title).toContain("**Cause:**");
      expect(body, title).toContain("**Fix:**");
    }
  });

  test("the index links resolve to the sections", () => {
    const anchors = new Set([...doc.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => slug(match[1] ?? "")));
    for (const match of doc.matchAll(/\]\(#([^)]+)\)/g)) {
      expect(anchors.has(match[1] ?? ""), `#${match[1]} has no heading`).toBe(true);
    }
  });

  test("every exit code of the tool is explained", () => {
    for (const exitCode of exitCodes) {
      if (exitCode === ExitCode.ok) continue;
      expect(doc, `exit code ${exitCode}`).toMatch(new RegExp(`\\(exit ${exitCode}\\)|exit ${exitCode}\\b|\`${exitCode}\``));
    }
  });
});

describe("README.md exit-code table", () => {
  const section = readme.split(/^## Exit codes\s*$/m)[1]?.split(/^## /m)[0] ?? "";

  test("is there", () => {
    expect(section, "README.md has no '## Exit codes' section").not.toBe("");
  });

  test("names only codes that exist, under their exit code", () => {
    const named: { code: string; exit: number }[] = [];
    for (const line of section.split("\n")) {
      const cells = line.split("|").map((cell) => cell.trim());
      const exit = Number(cells[1]);
      if (!line.startsWith("|") || !/^\d+$/.test(cells[1] ?? "")) continue;
      for (const match of (cells[3] ?? "").matchAll(/`([A-Z][A-Z0-9_]*\*?)`/g)) named.push({ code: match[1] ?? "", exit });
    }
    expect(named.length).toBeGreaterThan(5);
    for (const { code, exit } of named) {
      if (code.endsWith("*")) {
        const matching = codes.filter((candidate) => candidate.startsWith(code.slice(0, -1)));
        expect(matching.length, `README names ${code}, which matches no error code`).toBeGreaterThan(0);
        for (const candidate of matching) expect(errorCodes[candidate], `${candidate} (README: exit ${exit})`).toBe(exit as never);
        continue;
      }
      expect(Object.hasOwn(errorCodes, code), `README names ${code}, which src/core/errors.ts does not have`).toBe(true);
      expect(errorCodes[code as keyof typeof errorCodes], `README puts ${code} under exit ${exit}`).toBe(exit as never);
    }
  });
});
