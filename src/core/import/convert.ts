/**
 * From a legacy folder's files to the files of this tool's format and the
 * report of everything decided on the way. Pure: the caller reads and writes.
 */
import { compareVersionKeys, versionKey } from "../version.ts";
import { type Classified, type LegacyEntry, classifyEntry } from "./layout.ts";
import { type LegacyFinding, addFormerlyToMarker, findLegacyTraits, hasMarkers, withMarkers } from "./markers.ts";
import { type Renumbering, assertNoDuplicates, resolveRenumbering } from "./renumber.ts";

export interface ImportedFile {
  readonly fileName: string;
  readonly text: string;
  /** The legacy file it came from. */
  readonly source: string;
  /** The legacy file its down part came from, if any. */
  readonly downSource: string | null;
  /** `VERSION_NAME` before renumbering, written as the up marker's formerly option. */
  readonly formerly: string | null;
}

export interface ReportLine {
  readonly path: string;
  readonly line: number | null;
  readonly reason: string;
}

export interface ImportReport {
  readonly written: readonly ImportedFile[];
  readonly merged: readonly { readonly fileName: string; readonly downSource: string }[];
  readonly skipped: readonly ReportLine[];
  readonly renumbered: readonly { readonly source: string; readonly formerly: string; readonly fileName: string }[];
  /** What the import could not turn into SQL or decide: a person must look. */
  readonly needsHuman: readonly ReportLine[];
  /** Left as it was, works under the runner, worth knowing. */
  readonly notes: readonly ReportLine[];
}

export interface ImportOptions {
  /** `--renumber FILE=VERSION`, in the order given. */
  readonly renumber?: readonly Renumbering[];
}

type Migration = Extract<Classified, { kind: "migration" | "unnumbered" }> & { readonly text: string };
type Down = Extract<Classified, { kind: "down" }> & { readonly text: string };

export function planImport(entries: readonly LegacyEntry[], options: ImportOptions = {}): ImportReport {
  const migrations: Migration[] = [];
  const downs: Down[] = [];
  const skipped: ReportLine[] = [];
  const needsHuman: ReportLine[] = [];
  const notes: ReportLine[] = [];
  const rollbackFolders = new Set<string>();
  for (const entry of [...entries].sort((a, b) => a.path.localeCompare(b.path))) {
    const classified = classifyEntry(entry.path);
    if (classified.kind === "skip") {
      skipped.push({ path: entry.path, line: null, reason: classified.reason });
      if (classified.needsHuman) needsHuman.push({ path: entry.path, line: null, reason: classified.reason });
    } else if (classified.kind === "down") {
      downs.push({ ...classified, text: entry.text });
      if (classified.layout === "rollback-folder") rollbackFolders.add(entry.path.split("/")[0] ?? "");
    } else migrations.push({ ...classified, text: entry.text });
  }
  for (const folder of rollbackFolders) {
    skipped.push({ path: `${folder}/`, line: null, reason: "a folder of down SQL, not migrations: each file is merged into its migration as the down part (listed below)" });
  }

  const downOf = pairDowns(migrations, downs, skipped, needsHuman);
  const identities = resolveRenumbering(migrations, options.renumber ?? []);
  assertNoDuplicates(identities);

  const written: ImportedFile[] = [];
  const merged: ImportReport["merged"][number][] = [];
  const renumbered: ImportReport["renumbered"][number][] = [];
  for (const migration of migrations) {
    const identity = identities.get(migration.path);
    if (!identity) continue;
    const fileName = `${identity.version}_${migration.name}.sql`;
    const down = downOf.get(migration.path) ?? null;
    const formerly = identity.formerly;
    let text: string;
    if (hasMarkers(migration.text)) {
      text = formerly === null ? migration.text : addFormerlyToMarker(migration.text, formerly);
      notes.push({ path: migration.path, line: null, reason: "already has dbmate's markers: copied as it is" });
      if (down) needsHuman.push({ path: down.path, line: null, reason: `${migration.path} already has its own markers, so this down SQL was not merged: compare the two and keep one` });
    } else {
      text = withMarkers(migration.text, down?.text ?? null, formerly);
      if (down) merged.push({ fileName, downSource: down.path });
    }
    if (formerly !== null) renumbered.push({ source: migration.path, formerly, fileName });
    written.push({ fileName, text, source: migration.path, downSource: down && !hasMarkers(migration.text) ? down.path : null, formerly });
    for (const finding of findLegacyTraits(migration.text)) reportFinding(finding, migration, identity, down !== null, notes, needsHuman);
  }
  written.sort((a, b) => compareVersionKeys(versionKey(leadingDigits(a.fileName)), versionKey(leadingDigits(b.fileName))) || a.fileName.localeCompare(b.fileName));
  return { written, merged, skipped, renumbered, needsHuman, notes };
}

/** Each down file to its migration, by the legacy identity (before any renumbering). */
function pairDowns(migrations: readonly Migration[], downs: readonly Down[], skipped: ReportLine[], needsHuman: ReportLine[]): Map<string, Down> {
  const paired = new Map<string, Down>();
  for (const down of downs) {
    const candidates = migrations.filter(
      (migration) =>
        migration.kind === "migration" &&
        (down.layout === "flyway" ? migration.layout === "flyway" && migration.version === down.version : versionKey(migration.version) === versionKey(down.version)) &&
        (down.layout !== "golang-migrate" || migration.name === down.name),
    );
    const [only, ...others] = candidates;
    if (!only) {
      skipped.push({ path: down.path, line: null, reason: `down SQL for version ${down.version}, which has no migration here` });
      continue;
    }
    skipped.push({ path: down.path, line: null, reason: others.length === 0 ? "down SQL, not a migration (merged, below)" : "down SQL, not a migration (not merged, below)" });
    if (others.length > 0) {
      needsHuman.push({ path: down.path, line: null, reason: `${candidates.length} migrations have version ${down.version} (${candidates.map((candidate) => candidate.path).join(", ")}): append this down SQL under "-- migrate:down" of the one it undoes` });
    } else if (paired.has(only.path)) {
      needsHuman.push({ path: down.path, line: null, reason: `${only.path} already takes its down part from ${paired.get(only.path)?.path}: merge the two by hand` });
    } else {
      paired.set(only.path, down);
    }
  }
  return paired;
}

function reportFinding(
  finding: LegacyFinding,
  migration: Migration,
  identity: { readonly version: string; readonly formerly: string | null },
  hasDown: boolean,
  notes: ReportLine[],
  needsHuman: ReportLine[],
): void {
  const at = { path: migration.path, line: finding.line };
  switch (finding.kind) {
    case "rollback-notes":
      (hasDown ? notes : needsHuman).push({
        ...at,
        reason: hasDown
          ? "commented undo notes (-- ROLLBACK NOTES) besides the merged down part: check they agree"
          : 'commented undo notes (-- ROLLBACK NOTES), not SQL: write them as SQL under "-- migrate:down" if this migration must be reversible',
      });
      return;
    case "transaction-control":
      notes.push({ ...at, reason: `its own ${finding.text.replace(/;$/, "")}: left as it is; the runner blanks it at apply time and runs the file in its own transaction` });
      return;
    case "self-registration":
      notes.push({ ...at, reason: "writes its own schema_migrations row: left as it is; the runner replaces that row with its own, so it is recorded once" });
      return;
    case "tracking-ddl":
      (/\bif\s+not\s+exists\b/i.test(finding.text) ? notes : needsHuman).push({
        ...at,
        reason: /\bif\s+not\s+exists\b/i.test(finding.text)
          ? `creates the old tracking table or its index (${finding.text}): IF NOT EXISTS makes it a no-op, as the runner has created schema_migrations already`
          : `creates the tracking table or its index (${finding.text}) without IF NOT EXISTS: it fails under the runner, which has created schema_migrations already; add IF NOT EXISTS or delete the statement`,
      });
      return;
    case "tracking-guard":
      if (identity.formerly !== null || !mentionsVersion(finding.text, identity.version)) {
        needsHuman.push({
          ...at,
          reason: `reads schema_migrations (${finding.text}) and is now version ${identity.version}: such a guard tests a row that may belong to another file; the runner never runs a migration twice, so delete the guard`,
        });
      } else {
        notes.push({ ...at, reason: `reads schema_migrations (${finding.text}): harmless from empty, but redundant (the runner never runs a migration twice); consider deleting it before the first deploy` });
      }
      return;
  }
}

const leadingDigits = (fileName: string): string => /^\d+/.exec(fileName)?.[0] ?? "0";

function mentionsVersion(text: string, version: string): boolean {
  return new RegExp(`'0*${versionKey(version)}'`).test(text);
}
