/**
 * Which migrations `check` treats as new: after --since VERSION, those that
 * differ from --base REF in git (new files, or files whose content changed),
 * or by default the last one.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckFinding } from "../core/check/finding.ts";
import { checksumOf } from "../core/checksum.ts";
import { MigrateError } from "../core/errors.ts";
import type { Migration } from "../core/migration-set.ts";
import { compareVersionKeys, isVersion, versionKey } from "../core/version.ts";

export type Selection = { readonly kind: "since"; readonly version: string } | { readonly kind: "base"; readonly ref: string } | { readonly kind: "last" };

export interface Selected {
  readonly migrations: readonly Migration[];
  /** How they were chosen, for the report. */
  readonly description: string;
  /** With --base: the files at REF (taken as applied) that were edited, renamed or deleted since. */
  readonly findings: readonly CheckFinding[];
}

export function selectNewMigrations(migrations: readonly Migration[], selection: Selection, dir: string): Selected {
  switch (selection.kind) {
    case "since": {
      if (!isVersion(selection.version)) {
        throw new MigrateError("USAGE", `--since takes a migration version (digits, e.g. --since 014), not "${selection.version}".`);
      }
      const after = versionKey(selection.version);
      if (!migrations.some((migration) => migration.key === after)) {
        // A version that is not in the set (a typo, a branch not merged) would select silently by number alone.
        const versions = migrations.map((migration) => migration.version);
        const listed = versions.length > 12 ? `${versions.slice(0, 5).join(", ")}, ..., ${versions.slice(-5).join(", ")}` : versions.join(", ");
        throw new MigrateError(
          "USAGE",
          `--since ${selection.version}: no migration in ${dir} has that version, so it cannot say which migrations are new. Give the version of one of them (${listed || "the folder has none"}), e.g. the last one deployed; or use --base REF.`,
        );
      }
      return { migrations: migrations.filter((migration) => compareVersionKeys(migration.key, after) > 0), description: `versions after ${selection.version} (--since)`, findings: [] };
    }
    case "base": {
      return selectSinceBase(migrations, selection.ref, dir);
    }
    case "last": {
      const last = migrations.at(-1);
      return { migrations: last ? [last] : [], description: "the last migration, the default: pass --base REF or --since VERSION to choose", findings: [] };
    }
  }
}

/**
 * New: the files not at REF. A file at REF is taken as applied (REF is what
 * was deployed), so an edit the runner's checksum sees (line endings aside),
 * a rename or a deletion is an error: `up` would refuse it (CHECKSUM_MISMATCH)
 * or forget what it applied. An edited file is still checked like a new one.
 */
function selectSinceBase(migrations: readonly Migration[], ref: string, dir: string): Selected {
  const committed = blobsAt(ref, dir);
  const current = new Map(migrations.map((migration) => [migration.fileName, migration]));
  const textAt = (fileName: string) => gitShow(ref, dir, fileName);
  const selected: Migration[] = [];
  const findings: CheckFinding[] = [];
  const changedApplied = (fileName: string, what: string): CheckFinding => ({
    rule: "applied-migration-changed",
    severity: "error",
    fileName,
    line: null,
    message: `${fileName} is in ${ref}, so it is taken as applied, and it ${what} since: a database that applied it no longer matches the files (up refuses an edited one with CHECKSUM_MISMATCH, and a renamed or deleted one is unknown to it).`,
    fix: `Restore ${fileName} as it is in ${ref} (git checkout ${ref} -- ${join(dir, fileName)}) and put the change in a new migration; only if the change is harmless (a comment) keep it and accept it where it was applied with st44-migrate repair --accept VERSION.`,
  });
  for (const migration of migrations) {
    const blob = committed.get(migration.fileName);
    if (blob === undefined) selected.push(migration);
    else if (blob !== blobHash(readFileSync(join(dir, migration.fileName))) && checksumOf(textAt(migration.fileName)) !== migration.checksum) {
      selected.push(migration);
      findings.push(changedApplied(migration.fileName, "was edited"));
    }
  }
  const added = selected.filter((migration) => !findings.some((finding) => finding.fileName === migration.fileName));
  for (const fileName of committed.keys()) {
    if (current.has(fileName)) continue;
    const checksum = checksumOf(textAt(fileName));
    const renamedTo = added.find((migration) => migration.checksum === checksum);
    findings.push(changedApplied(fileName, renamedTo ? `was renamed to ${renamedTo.fileName}` : "was deleted"));
  }
  return { migrations: selected, description: `files new or changed since ${ref} (--base)`, findings };
}

/** The text of `fileName` in `dir` at REF. */
function gitShow(ref: string, dir: string, fileName: string): string {
  return execFileSync("git", ["show", `${ref}:./${fileName}`], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
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
