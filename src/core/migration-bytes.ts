import { MigrateError } from "./errors.ts";

/**
 * The largest migration file accepted. A file is held several times over
 * while it is decoded, normalised, checksummed, lexed and sent (a 200 MB file
 * peaked at 1.8 GB RSS, about 9x), so the limit keeps a run inside a small
 * container's memory: 32 MiB peaks near 0.3 GB. It stays above the 20 MB
 * hostile files the security suite applies or refuses by their content, and
 * far above any schema change; only a bulk data load comes near it.
 */
export const MAX_MIGRATION_FILE_BYTES = 32 * 1024 * 1024;

/** Refuses a file above MAX_MIGRATION_FILE_BYTES; sources call it with the size on disk, before reading. */
export function assertMigrationFileSize(fileName: string, byteLength: number): void {
  if (byteLength <= MAX_MIGRATION_FILE_BYTES) return;
  const mebibytes = (byteLength / (1024 * 1024)).toFixed(1);
  throw new MigrateError(
    "MIGRATION_FILE_TOO_LARGE",
    `${fileName} is ${mebibytes} MiB; a migration file may be at most 32 MiB (larger files exhaust a container's memory while they are parsed and sent). Load bulk data outside the migrations, or split the file into several migrations.`,
  );
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A migration file's bytes as text. Invalid UTF-8 is refused rather than
 * replaced with U+FFFD: the server would store the replacement characters
 * as if the author had written them, where psql refuses the file.
 */
export function decodeMigrationBytes(fileName: string, bytes: Uint8Array): string {
  assertMigrationFileSize(fileName, bytes.byteLength);
  try {
    return decoder.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8Offset(bytes) ?? 0;
    let line = 1;
    for (let index = 0; index < offset; index++) if (bytes[index] === 0x0a) line++;
    const byte = (bytes[offset] ?? 0).toString(16).toUpperCase().padStart(2, "0");
    throw new MigrateError(
      "PARSE_NOT_UTF8",
      `${fileName} is not valid UTF-8: byte offset ${offset} (line ${line}) is 0x${byte}, which starts no valid UTF-8 character. The file was probably saved as Latin-1 or Windows-1252: convert it (iconv -f WINDOWS-1252 -t UTF-8) and check the result.`,
    );
  }
}

/** Offset of the first byte that does not begin a well-formed UTF-8 sequence (RFC 3629), or null when all are valid. */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number | null {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] ?? 0;
    if (lead < 0x80) {
      index++;
      continue;
    }
    // The allowed range of the second byte excludes overlong forms, surrogates and code points above U+10FFFF.
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return index;
    for (let next = 1; next < length; next++) {
      const byte = bytes[index + next];
      const [min, max] = next === 1 ? [low, high] : [0x80, 0xbf];
      if (byte === undefined || byte < min || byte > max) return index;
    }
    index += length;
  }
  return null;
}
