/**
 * The operator's documents stay true to the code: every `st44-migrate
 * COMMAND --flag` they show names a real command and a real flag of it, every
 * link between them lands on a heading, the Deno permissions documented are
 * the ones test/deno uses, and the CHANGELOG keeps the Keep a Changelog shape
 * the release workflow reads.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ArgsDef, CommandDef } from "citty";
import { rootCommand } from "../../src/cli/main.ts";
import { slug } from "../support/markdown.ts";

const ROOT = join(import.meta.dir, "../..");
const DOCS = ["docs/deployment.md", "docs/troubleshooting.md"] as const;
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

function anchorsOf(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...withoutCode.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => slug(match[1] ?? "")));
}

async function commandArgs(): Promise<Map<string, Set<string>>> {
  const subCommands = rootCommand.subCommands as Record<string, () => Promise<CommandDef<ArgsDef>>>;
  const result = new Map<string, Set<string>>();
  for (const [name, load] of Object.entries(subCommands)) {
    const command = await load();
    const args = (typeof command.args === "function" ? await command.args() : await command.args) ?? {};
    const flags = new Set<string>(["help"]);
    for (const [key, definition] of Object.entries(args)) {
      if (definition.type === "positional") continue;
      flags.add(key);
      const alias = "alias" in definition ? definition.alias : undefined;
      for (const value of alias === undefined ? [] : Array.isArray(alias) ? alias : [alias]) flags.add(value);
    }
    result.set(name, flags);
  }
  return result;
}

describe("docs/deployment.md and docs/troubleshooting.md", () => {
  test("every `st44-migrate COMMAND --flag` shown is a real command with real flags", async () => {
    const known = await commandArgs();
    expect(known.size).toBeGreaterThan(4);
    const problems: string[] = [];
    let checked = 0;
    for (const path of DOCS) {
      for (const line of read(path).split("\n")) {
        for (const match of line.matchAll(/st44-migrate ([a-z][\w-]*)((?:\s+(?!--\s)[^\s`|]+)*)/g)) {
          const [whole, command = "", rest = ""] = match;
          if (!known.has(command)) {
            // Prose such as "st44-migrate replaces itself": only command-looking uses must be real.
            if (/^(up|down|run|status|plan|verify|health|baseline|repair|create|version)$/.test(command)) problems.push(`${path}: ${whole}`);
            continue;
          }
          checked++;
          for (const flag of rest.matchAll(/(?:^|\s)--([a-z][\w-]*)/g)) {
            if (!known.get(command)?.has(flag[1] ?? "")) problems.push(`${path}: "${whole.trim()}": ${command} has no --${flag[1]}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  test("the check of flags can fail", async () => {
    const known = await commandArgs();
    expect(known.get("down")?.has("to-known")).toBe(true);
    expect(known.get("down")?.has("to-knwon")).toBe(false);
    expect(known.has("migrate")).toBe(false);
  });

  test("links between the documents land on a heading or a file", () => {
    const files = [...DOCS, "README.md"];
    for (const path of DOCS) {
      const text = read(path).replace(/^```[\s\S]*?^```/gm, "");
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1] ?? "";
        if (/^https?:/.test(target)) continue;
        const [file = "", anchor] = target.split("#");
        const resolved = file === "" ? path : join(dirname(path), file);
        expect(existsSync(join(ROOT, resolved)), `${path}: link to ${target}`).toBe(true);
        if (anchor !== undefined && resolved.endsWith(".md") && files.includes(resolved as never)) {
          expect(anchorsOf(read(resolved)).has(anchor), `${path}: #${anchor} is not a heading of ${resolved}`).toBe(true);
        }
      }
    }
  });

  test("the Deno permissions documented are the ones test/deno/deno.test.ts runs with", () => {
    const doc = read("docs/deployment.md");
    const denoTest = read("test/deno/deno.test.ts");
    const section = doc.split(/^## Running under Deno\s*$/m)[1] ?? "";
    expect(section).not.toBe("");
    for (const flags of [
      ["--allow-env", "--allow-sys=hostname"],
      ["--allow-sys=hostname,uid", "--allow-read", "--allow-ffi"],
    ]) {
      for (const flag of flags) {
        expect(section).toContain(flag);
        expect(denoTest).toContain(`"${flag}`);
      }
    }
  });

  test("deployment.md covers what on-call needs", () => {
    const anchors = anchorsOf(read("docs/deployment.md"));
    for (const heading of [
      "how-a-change-reaches-production",
      "what-happens-at-container-start",
      "reading-the-start-up-log-line",
      "reading-healthdatabase",
      "when-a-deploy-fails",
      "rolling-back-a-deploy",
      "first-time-on-a-database-migrated-by-hand",
      "running-under-deno",
    ]) {
      expect(anchors.has(heading), heading).toBe(true);
    }
  });
});

describe("CHANGELOG.md (Keep a Changelog)", () => {
  const changelog = read("CHANGELOG.md");
  const versionHeadings = [...changelog.matchAll(/^## \[([^\]]+)\](.*)$/gm)];

  test("has the title, the format note and an [Unreleased] section first", () => {
    expect(changelog.startsWith("# Changelog\n")).toBe(true);
    expect(changelog).toContain("[Keep a Changelog](https://keepachangelog.com/");
    expect(versionHeadings[0]?.[1]).toBe("Unreleased");
  });

  test("every release is `## [X.Y.Z] - YYYY-MM-DD`, newest first, and package.json's version is released or still unreleased", () => {
    const releases = versionHeadings.slice(1);
    for (const heading of releases) {
      expect(heading[0]).toMatch(/^## \[\d+\.\d+\.\d+(?:-[\w.]+)?\] - \d{4}-\d{2}-\d{2}$/);
    }
    const versions = releases.map((heading) => (heading[1] ?? "").split(/[.-]/).slice(0, 3).map(Number));
    for (let index = 1; index < versions.length; index++) {
      const [a = [], b = []] = [versions[index - 1], versions[index]];
      const newer = (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0) || (a[2] ?? 0) - (b[2] ?? 0);
      expect(newer, "versions must be listed newest first").toBeGreaterThan(0);
    }
    const { version } = JSON.parse(read("package.json")) as { version: string };
    const released = releases.some((heading) => heading[1] === version);
    expect(released || versionHeadings[0]?.[1] === "Unreleased", `package.json ${version}`).toBe(true);
  });

  test("sections use the Keep a Changelog change types", () => {
    for (const match of changelog.matchAll(/^### (.+)$/gm)) {
      expect(["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]).toContain(match[1] ?? "");
    }
  });
});
