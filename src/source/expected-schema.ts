import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MigrateError } from "../core/errors.ts";
import { type ParsedSnapshot, readExpectedSnapshot } from "../core/schema/compare.ts";
import { embeddedSchemaSnapshot } from "./embedded-schema.gen.ts";

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
