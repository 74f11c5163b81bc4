/**
 * Which migrations `check` treats as new: after --since VERSION, those that
 * differ from --base REF in git (new files, or files whose content changed),
 * or by default the last one.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import { compareVersionKeys, isVersion, versionKey } from "../core/version.ts";

export type Selection = { readonly kind: "since"; readonly version: string } | { readonly kind: "base"; readonly ref: string } | { readonly kind: "last" };

export interface Selected {
  readonly migrations: readonly Migration[];
  /** How they were chosen, for the report. */
  readonly description: string;
}

export function selectNewMigrations(migrations: readonly Migration[], selection: Selection, dir: string): Selected {
  switch (selection.kind) {
    case "since": {
      if (!isVersion(selection.version)) {
        throw new MigrateError("USAGE", `--since takes a migration version (digits, e.g. --since 014), not "${selection.version}".`);
      }
      const after = versionKey(selection.version);
      return { migrations: migrations.filter((migration) => compareVersionKeys(migration.key, after) > 0), description: `versions after ${selection.version} (--since)` };
    }
    case "base": {
      const committed = blobsAt(selection.ref, dir);
      const changed = migrations.filter((migration) => committed.get(migration.fileName) !== blobHash(readFileSync(join(dir, migration.fileName))));
      return { migrations: changed, description: `files new or changed since ${selection.ref} (--base)` };
    }
    case "last": {
      const last = migrations.at(-1);
      return { migrations: last ? [last] : [], description: "the last migration, the default: pass --base REF or --since VERSION to choose" };
    }
  }
}

/** Git's id of a file's content: SHA-1 of "blob LENGTH\0" and the bytes. */
function blobHash(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

/** File name -> blob id of the .sql files directly in `dir` at REF. */
function blobsAt(ref: string, dir: string): Map<string, string> {
  let listing: string;
  try {
    // Run inside dir with "." so git resolves the folder whatever the repository's root; paths come back relative to dir.
    listing = execFileSync("git", ["ls-tree", ref, "--", "."], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim().split("\n")[0];
    throw new MigrateError(
      "USAGE",
      `--base ${ref}: git could not list ${dir} at that revision (${stderr}). Pass a branch, tag or commit that exists in this clone (in CI fetch it first, e.g. actions/checkout with fetch-depth: 0, then --base origin/main), or use --since VERSION.`,
    );
  }
  const blobs = new Map<string, string>();
  for (const line of listing.split("\n")) {
    const match = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(line);
    if (match?.[1] && match[2]?.endsWith(".sql")) blobs.set(match[2].split("/").at(-1) ?? match[2], match[1]);
  }
  return blobs;
}
