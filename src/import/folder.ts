/** Reading a legacy migrations folder and writing the imported one: the import's file I/O. */
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { MigrateError } from "../core/errors.ts";
import type { ImportedFile } from "../core/import/convert.ts";
import type { LegacyEntry } from "../core/import/layout.ts";

/** Every file under `directory`, recursively (the old st44 script read it that way), with "/"-separated relative paths. */
export async function readLegacyFolder(directory: string): Promise<LegacyEntry[]> {
  const entries: LegacyEntry[] = [];
  const visit = async (relative: string): Promise<void> => {
    const names = await readdir(join(directory, relative));
    for (const name of names.sort()) {
      const path = relative === "" ? name : `${relative}/${name}`;
      // stat, not the dirent type: a symlinked file (a ConfigMap volume) counts as the file.
      const info = await stat(join(directory, path));
      if (info.isDirectory()) await visit(path);
      else if (info.isFile()) entries.push({ path, text: await readFile(join(directory, path), "utf8") });
    }
  };
  try {
    await visit("");
  } catch (error) {
    throw new MigrateError(
      "SOURCE_UNREADABLE",
      `Cannot read the legacy migrations folder ${directory} (${(error as NodeJS.ErrnoException).code ?? String(error)}). Give the folder holding the old .sql files, for example st44-migrate import docker/postgres/migrations --out migrations.`,
    );
  }
  return entries;
}

/**
 * Writes the files into `out`, all or nothing: into a sibling folder first,
 * renamed into place at the end. `out` must not exist or be empty, so an
 * import never mixes with files already there.
 */
export async function writeImportedFolder(out: string, files: readonly ImportedFile[]): Promise<void> {
  const existing = await readdir(out).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw new MigrateError("IMPORT_OUT_NOT_EMPTY", `Cannot use ${out} as the output folder (${error.code ?? String(error)}). Give --out a new folder path.`);
  });
  if (existing !== null && existing.length > 0) {
    throw new MigrateError(
      "IMPORT_OUT_NOT_EMPTY",
      `The output folder ${out} already holds ${existing.length} file(s) (${existing.slice(0, 3).join(", ")}${existing.length > 3 ? ", ..." : ""}). The import writes a complete folder and never mixes with files already there: give --out a new or empty folder, or move the old one away. Nothing was written.`,
    );
  }
  await mkdir(dirname(out), { recursive: true });
  const staging = `${out}.importing-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  try {
    for (const file of files) await writeFile(join(staging, file.fileName), file.text, { flag: "wx" });
    if (existing !== null) await rmdir(out);
    await rename(staging, out);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
