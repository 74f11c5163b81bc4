/**
 * What each file of a legacy migrations folder is, from its path alone:
 * a migration (and in which tool's layout), a down part to merge into one,
 * or something to skip with a reason the report shows.
 */

/** A file of the legacy folder: its path relative to the folder ("/"-separated) and its text. */
export interface LegacyEntry {
  readonly path: string;
  readonly text: string;
}

export type Layout = "plain" | "golang-migrate" | "flyway";

export type Classified =
  | { readonly kind: "migration"; readonly path: string; readonly version: string; readonly name: string; readonly layout: Layout }
  /** A Flyway version with parts (V1_1, V1.1): no whole number, so it needs --renumber. */
  | { readonly kind: "unnumbered"; readonly path: string; readonly version: string; readonly name: string }
  | { readonly kind: "down"; readonly path: string; readonly version: string; readonly name: string | null; readonly layout: "rollback-folder" | Layout }
  | { readonly kind: "skip"; readonly path: string; readonly reason: string; readonly needsHuman: boolean };

/** Folders whose files are the down SQL of the migrations beside them (st44's layout). */
const ROLLBACK_FOLDERS = new Set(["rollback", "rollbacks"]);

const GOLANG_UP = /^(\d+)_(.+)\.up\.sql$/i;
const GOLANG_DOWN = /^(\d+)_(.+)\.down\.sql$/i;
const FLYWAY = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/i;
const FLYWAY_REPEATABLE = /^R__(.+)\.sql$/i;
const PLAIN = /^(\d+)_(.+)\.sql$/i;
/** rollback/011_down.sql, rollback/011_create_x_down.sql, rollback/011_create_x.down.sql, rollback/011_create_x.sql */
const ROLLBACK_FILE = /^(\d+)(?:_(.+?))?(?:[._]down)?\.sql$/i;

export function classifyEntry(path: string): Classified {
  const parts = path.split("/");
  const base = parts.at(-1) ?? path;
  if (parts.length > 1) return classifyNested(path, parts, base);
  if (!base.toLowerCase().endsWith(".sql")) return skip(path, "not an .sql file");

  let match = GOLANG_UP.exec(base);
  if (match) return { kind: "migration", path, version: match[1] ?? "", name: safeName(match[2] ?? ""), layout: "golang-migrate" };
  match = GOLANG_DOWN.exec(base);
  if (match) return { kind: "down", path, version: match[1] ?? "", name: safeName(match[2] ?? ""), layout: "golang-migrate" };
  match = FLYWAY.exec(base);
  if (match) {
    const [, prefix = "", version = "", description = ""] = match;
    const name = safeName(description);
    if (prefix.toUpperCase() === "U") return { kind: "down", path, version: flywayVersion(version), name: null, layout: "flyway" };
    if (/^\d+$/.test(version)) return { kind: "migration", path, version, name, layout: "flyway" };
    return { kind: "unnumbered", path, version: flywayVersion(version), name };
  }
  if (FLYWAY_REPEATABLE.test(base)) {
    return skip(path, "a Flyway repeatable migration (R__): it has no version and Flyway re-runs it whenever it changes, which this runner never does; turn it into a numbered migration by hand", true);
  }
  match = PLAIN.exec(base);
  if (match) return { kind: "migration", path, version: match[1] ?? "", name: safeName(match[2] ?? ""), layout: "plain" };
  return skip(path, "no version number at the start of its name (a template or a script, not a migration)");
}

function classifyNested(path: string, parts: readonly string[], base: string): Classified {
  const folder = parts[0] ?? "";
  if (parts.length === 2 && ROLLBACK_FOLDERS.has(folder.toLowerCase())) {
    const match = ROLLBACK_FILE.exec(base);
    if (match) return { kind: "down", path, version: match[1] ?? "", name: match[2] ? safeName(match[2]) : null, layout: "rollback-folder" };
    return skip(path, `in ${folder}/ but not named NNN_down.sql, so it belongs to no migration`);
  }
  return skip(path, `in the subfolder ${parts.slice(0, -1).join("/")}/: the runner reads one flat folder (move it up if it is a migration)`);
}

function skip(path: string, reason: string, needsHuman = false): Classified {
  return { kind: "skip", path, reason, needsHuman };
}

/** Flyway writes 1_1 and 1.1 for the same version; the report shows the dotted form. */
function flywayVersion(version: string): string {
  return version.replace(/_/g, ".");
}

/** A name our file names accept (letters, digits, "_" and "-", starting with a letter or digit). */
export function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^[_-]+/, "").replace(/_+$/, "");
  return cleaned === "" ? "migration" : cleaned;
}
