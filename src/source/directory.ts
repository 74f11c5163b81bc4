import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { setImmediate } from "node:timers";
import { MigrateError } from "../core/errors.ts";
import { assertMigrationFileSize, decodeMigrationBytes } from "../core/migration-bytes.ts";
import { looksLikeMigration } from "../core/migration-name.ts";
import type { MigrationFile } from "../core/migration-set.ts";
import type { MigrationSource } from "./types.ts";

/**
 * Reads `*.sql` from one directory (not recursive); other files are ignored.
 * Symbolic links are followed: a Kubernetes ConfigMap volume presents every
 * file as a link into `..data/`, and skipping them started the app on an
 * empty schema.
 *
 * The reads are synchronous, one open, fstat, read and close per file: an
 * async read per file cost 10,000 event-loop round trips at 10,000 files.
 * Every hundred files the event loop gets one turn, so that the connection
 * started before them (the login, the tracking read) goes on meanwhile.
 */
export function directorySource(directory: string): MigrationSource {
  return {
    description: `directory ${directory}`,
    async load(): Promise<readonly MigrationFile[]> {
      let entries: string[];
      try {
        entries = readdirSync(directory, { withFileTypes: true })
          .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && looksLikeMigration(entry.name))
          .map((entry) => entry.name);
      } catch (error) {
        throw new MigrateError(
          "SOURCE_UNREADABLE",
          `Cannot read the migrations directory ${directory} (${reasonOf(error)}). Check the path given to --dir or MIGRATIONS_DIR, or leave both unset to use the migrations built into this binary.`,
        );
      }
      const buffer = { bytes: new Uint8Array(64 * 1024) };
      const files: MigrationFile[] = [];
      for (const fileName of entries.sort()) {
        // Now and then the event loop gets a turn: the connection started before the files (the login, the
        // tracking read) moves on while they are read, instead of waiting until the last one is in.
        if (files.length % FILES_BETWEEN_TURNS === FILES_BETWEEN_TURNS - 1 && files.length < FILES_WITH_TURNS) await nextTurn();
        files.push(readMigrationFile(directory, fileName, buffer));
      }
      return files;
    },
  };
}

/** About a millisecond of reading: often enough for the login's few round trips, rarely enough to cost nothing. */
const FILES_BETWEEN_TURNS = 100;
/** By then the login is long done: later turns would only parse the tracking rows sooner, not faster. */
const FILES_WITH_TURNS = 3000;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function readMigrationFile(directory: string, fileName: string, buffer: { bytes: Uint8Array }): MigrationFile {
  const path = join(directory, fileName);
  let descriptor: number;
  try {
    // Non-blocking, so that a FIFO named like a migration is refused by the fstat below instead of hanging the open.
    descriptor = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const target = linkTarget(path);
    throw new MigrateError(
      "SOURCE_UNREADABLE",
      target
        ? `${path} is a symbolic link that leads nowhere${target} (${reasonOf(error)}). Fix the link or remove it; for a ConfigMap volume, check the keys it was made from.`
        : `Cannot read the migration file ${path} (${reasonOf(error)}). Check its permissions.`,
    );
  }
  try {
    let size: number;
    try {
      const found = fstatSync(descriptor);
      if (!found.isFile()) {
        throw new MigrateError(
          "SOURCE_UNREADABLE",
          `${path} leads to ${found.isDirectory() ? "a directory" : "something"} that is not a regular file${linkTarget(path)}. A migration must be a file (or a link to one): fix or remove ${fileName}.`,
        );
      }
      size = found.size;
    } catch (error) {
      if (error instanceof MigrateError) throw error;
      throw new MigrateError("SOURCE_UNREADABLE", `Cannot read the migration file ${path} (${reasonOf(error)}). Check its permissions.`);
    }
    // Checked before reading, so an oversized file is never loaded into memory.
    assertMigrationFileSize(fileName, size);
    return { fileName, text: decodeMigrationBytes(fileName, readWhole(descriptor, path, size, buffer)) };
  } finally {
    closeSync(descriptor);
  }
}

/**
 * The file's `size` bytes (as fstat gave it), into one reused buffer grown when a file needs more: one read
 * for a file read whole, no second read to see the end (a file written while the runner reads it is cut at
 * the size it had, as a stat before the read always did).
 */
/**
 * Reads to the end of the file, not to its fstat size: a file that grew since
 * (or one of /proc, which states size 0) must not be applied as its prefix.
 * The buffer has room for one byte more than the size, so the read that
 * finds the end is the one that would have been the last anyway.
 */
function readWhole(descriptor: number, path: string, size: number, buffer: { bytes: Uint8Array }): Uint8Array {
  if (buffer.bytes.length < size + 1) buffer.bytes = new Uint8Array(Math.max(buffer.bytes.length * 2, size + 1));
  let length = 0;
  try {
    for (;;) {
      if (length === buffer.bytes.length) {
        const grown = new Uint8Array(buffer.bytes.length * 2);
        grown.set(buffer.bytes);
        buffer.bytes = grown;
      }
      const read = readSync(descriptor, buffer.bytes, length, buffer.bytes.length - length, null);
      if (read === 0) break;
      length += read;
      // Still bounded: a file that grows past the limit while read is refused like one that was too large.
      if (length > size) assertMigrationFileSize(basename(path), length);
    }
  } catch (error) {
    if (error instanceof MigrateError) throw error;
    throw new MigrateError("SOURCE_UNREADABLE", `Cannot read the migration file ${path} (${reasonOf(error)}). Check its permissions.`);
  }
  // The decoded text is a copy, so the buffer can be reused for the next file.
  return buffer.bytes.subarray(0, length);
}

/** ` (a link to TARGET)` for a symbolic link, "" otherwise: where a broken entry points is the first thing to check. */
function linkTarget(path: string): string {
  try {
    return ` (a link to ${readlinkSync(path)})`;
  } catch {
    return "";
  }
}

function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
