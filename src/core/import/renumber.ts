/**
 * Versions in the imported set: the legacy ones, except where the user moved
 * a file with --renumber. Two files on one version (or a Flyway version with
 * no whole number) are never resolved by guessing: the import refuses, lists
 * them and suggests the command that would resolve them.
 */
import { MigrateError } from "../errors.ts";
import { compareVersionKeys, versionKey } from "../version.ts";
import { mentionsOwnVersion } from "./markers.ts";

/** `--renumber FILE=VERSION`: FILE is the legacy file name (or path). */
export interface Renumbering {
  readonly file: string;
  readonly version: string;
}

interface Candidate {
  readonly kind: "migration" | "unnumbered";
  readonly path: string;
  readonly version: string;
  readonly name: string;
  readonly text: string;
}

export interface Identity {
  readonly path: string;
  readonly version: string;
  readonly name: string;
  /** The legacy identity `VERSION_NAME` of a renumbered file; null when it kept its version. */
  readonly formerly: string | null;
  /** A Flyway version like 1.1 that no --renumber gave a whole number. */
  readonly unnumbered: boolean;
  readonly text: string;
}

/** Parses one `FILE=VERSION` argument of --renumber. */
export function parseRenumbering(argument: string): Renumbering {
  const separator = argument.lastIndexOf("=");
  const file = separator === -1 ? "" : argument.slice(0, separator).trim();
  const version = separator === -1 ? "" : argument.slice(separator + 1).trim();
  if (file === "" || !/^\d+$/.test(version)) {
    throw new MigrateError("USAGE", `--renumber takes FILE=VERSION, a legacy file name and the whole number it gets (for example --renumber 040_add_single_task_type.sql=041), not "${argument}".`);
  }
  return { file, version };
}

export function resolveRenumbering(candidates: readonly Candidate[], renumbering: readonly Renumbering[]): Map<string, Identity> {
  const identities = new Map<string, Identity>();
  for (const candidate of candidates) {
    identities.set(candidate.path, { path: candidate.path, version: candidate.version, name: candidate.name, formerly: null, unnumbered: candidate.kind === "unnumbered", text: candidate.text });
  }
  const seen = new Set<string>();
  for (const { file, version } of renumbering) {
    const candidate = candidates.find((entry) => entry.path === file || entry.path.split("/").at(-1) === file);
    if (!candidate) {
      throw new MigrateError("USAGE", `--renumber ${file}=${version}: there is no migration ${JSON.stringify(file)} in the legacy folder. Give the file name as it is there, for example --renumber ${candidates[0]?.path ?? "040_x.sql"}=${version}.`);
    }
    if (seen.has(candidate.path)) throw new MigrateError("USAGE", `--renumber names ${candidate.path} twice: give each file one new version.`);
    seen.add(candidate.path);
    identities.set(candidate.path, {
      path: candidate.path,
      version,
      name: candidate.name,
      // A Flyway 1.1 was never a row in our tracking table: there is no old identity to keep.
      formerly: candidate.kind === "unnumbered" ? null : `${candidate.version}_${candidate.name}`,
      unnumbered: false,
      text: candidate.text,
    });
  }
  assertRenumberingFree(identities, renumbering, candidates);
  return identities;
}

/**
 * A file moved onto a version another file keeps is the user's choice gone
 * wrong, not a legacy duplicate: say which file holds it and a free number,
 * rather than suggesting to move the file that was there first.
 */
function assertRenumberingFree(identities: ReadonlyMap<string, Identity>, renumbering: readonly Renumbering[], candidates: readonly Candidate[]): void {
  const taken = new Set([...identities.values()].filter((identity) => !identity.unnumbered).map((identity) => versionKey(identity.version)));
  for (const { file, version } of renumbering) {
    const moved = candidates.find((entry) => entry.path === file || entry.path.split("/").at(-1) === file);
    const holder = [...identities.values()].find((identity) => identity.path !== moved?.path && !identity.unnumbered && versionKey(identity.version) === versionKey(version));
    if (!moved || !holder) continue;
    const start = /^\d+$/.test(moved.version) ? BigInt(moved.version) : BigInt(moved.version.split(".")[0] ?? "0");
    const free = freeVersion(start, Math.max(version.length, 3), taken);
    throw new MigrateError(
      "IMPORT_DUPLICATE_VERSION",
      `--renumber ${file}=${version}: version ${version} is taken by ${holder.path}${holder.formerly === null ? "" : ` (moved there by another --renumber)`}. Give ${moved.path} a version no other file has, for example --renumber ${file}=${free}. Nothing was written.`,
    );
  }
}

/** Refuses (exit 4) while two files share a version or one has none, suggesting free numbers. */
export function assertNoDuplicates(identities: ReadonlyMap<string, Identity>): void {
  const byKey = new Map<string, Identity[]>();
  const unnumbered: Identity[] = [];
  for (const identity of identities.values()) {
    if (identity.unnumbered) {
      unnumbered.push(identity);
      continue;
    }
    const key = versionKey(identity.version);
    byKey.set(key, [...(byKey.get(key) ?? []), identity]);
  }
  const duplicates = [...byKey.entries()].filter(([, group]) => group.length > 1).sort(([a], [b]) => compareVersionKeys(a, b));
  if (duplicates.length === 0 && unnumbered.length === 0) return;

  const taken = new Set(byKey.keys());
  const suggestions: { identity: Identity; version: string }[] = [];
  const details: string[] = [];
  for (const [key, group] of duplicates) {
    const sorted = [...group].sort((a, b) => a.path.localeCompare(b.path));
    const keeper = sorted.find((identity) => mentionsOwnVersion(identity.text, key)) ?? sorted[0];
    details.push(`  version ${sorted[0]?.version ?? key}: ${sorted.map((identity) => identity.path).join(", ")}`);
    for (const identity of sorted) {
      if (identity !== keeper) suggestions.push({ identity, version: freeVersion(BigInt(key), identity.version.length, taken) });
    }
  }
  for (const identity of unnumbered) {
    details.push(`  ${identity.path}: Flyway version ${identity.version} is not a whole number`);
    suggestions.push({ identity, version: freeVersion(BigInt(identity.version.split(".")[0] ?? "0"), 3, taken) });
  }
  const command = suggestions.map(({ identity, version }) => `--renumber ${identity.path}=${version}`).join(" ");
  throw new MigrateError(
    "IMPORT_DUPLICATE_VERSION",
    `The legacy folder has ${duplicates.length > 0 ? "several files on one version" : ""}${duplicates.length > 0 && unnumbered.length > 0 ? " and " : ""}${unnumbered.length > 0 ? "Flyway versions that are not whole numbers" : ""}, listed below; the import does not guess which file keeps a number. Decide, and run the import again with --renumber FILE=VERSION for each file to move, for example: ${command}. The file that refers to its own version in its SQL (a guard or its own schema_migrations row) is suggested to keep it; a renumbered file records its old identity in its up marker (formerly:VERSION_NAME), so a database holding the old row counts it as applied. Nothing was written.`,
    { details },
  );
}

/** The first whole number above `above` that no file uses, padded like the version it replaces. */
function freeVersion(above: bigint, width: number, taken: Set<string>): string {
  let candidate = above + 1n;
  while (taken.has(candidate.toString())) candidate++;
  taken.add(candidate.toString());
  return candidate.toString().padStart(width, "0");
}
