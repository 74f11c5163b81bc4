import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MigrateError } from "../core/errors.ts";
import { type ParsedSnapshot, readExpectedSnapshot } from "../core/schema/snapshot-text.ts";
import { embeddedMigrations } from "./embedded-migrations.gen.ts";
import { embeddedSchemaSnapshot } from "./embedded-schema.gen.ts";
import { embeddedSource } from "./embedded.ts";

/** Beside the migrations, in the repository and in `--dir`: what `npm run snapshot` writes and the build embeds. */
export const SCHEMA_SNAPSHOT_FILE = "schema.snapshot";

/** The schema the migrations leave, as the build or the folder states it; null when none is stated (drift is then not judged). */
export interface ExpectedSchema {
  /** For messages: "embedded" or the file's path. */
  readonly origin: string;
  readonly snapshot: ParsedSnapshot;
}

function parsed(text: string, origin: string): ExpectedSchema {
  return { origin, snapshot: readExpectedSnapshot(text, origin) };
}

/** The snapshot compiled into this build, if it had one. */
export function embeddedExpectedSchema(): ExpectedSchema | null {
  return embeddedSchemaSnapshot === null ? null : parsed(embeddedSchemaSnapshot, "the embedded schema snapshot");
}

/** DIR/schema.snapshot, if the folder has one. */
export async function directoryExpectedSchema(directory: string): Promise<ExpectedSchema | null> {
  const path = join(directory, SCHEMA_SNAPSHOT_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new MigrateError("SOURCE_UNREADABLE", `Cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}). Check its permissions, or remove it to skip the schema comparison.`);
  }
  return parsed(text, path);
}

/** Where the migrations come from decides which snapshot describes them; without one, why there is none. */
export type ExpectedSchemaLookup =
  | { readonly expected: ExpectedSchema; readonly reason: null }
  | { readonly expected: null; readonly reason: string };

/**
 * The expected schema for `--dir DIR` (DIR/schema.snapshot, never the
 * embedded one: other migrations) or for the embedded migrations, trimmed
 * or not by ST44_EMBEDDED_UNTIL (the snapshot describes the whole set only).
 */
export async function expectedSchemaFor(source: { readonly dir: string } | { readonly embeddedUntil: string | undefined }): Promise<ExpectedSchemaLookup> {
  if ("dir" in source) {
    const expected = await directoryExpectedSchema(source.dir);
    if (expected !== null) return { expected, reason: null };
    const path = join(source.dir, SCHEMA_SNAPSHOT_FILE);
    return { expected: null, reason: `${path} does not exist; to have drift judged, apply ${source.dir} alone to an empty database and save st44-migrate dump > ${path}` };
  }
  const expected = embeddedExpectedSchema();
  if (expected === null) {
    return { expected: null, reason: "this build embeds no schema snapshot; put schema.snapshot beside the migrations it embeds (npm run snapshot) and build again" };
  }
  if (source.embeddedUntil !== undefined && (await embeddedSource(source.embeddedUntil).load()).length !== embeddedMigrations.length) {
    return { expected: null, reason: `ST44_EMBEDDED_UNTIL=${source.embeddedUntil} leaves out embedded migrations, and the embedded snapshot describes all of them` };
  }
  return { expected, reason: null };
}
