import { createHash } from "node:crypto";
import { normaliseText } from "./migration-file.ts";

/** Bun's one-call SHA-256 (a third of createHash's cost per file at 10,000 files); Deno and Node take node:crypto. */
const bunSha256 = (globalThis as { Bun?: { SHA256?: { hash(input: string, encoding: "hex"): string } } }).Bun?.SHA256;

/** SHA-256 (hex) of a migration's text with LF line endings and no BOM. */
export function checksumOf(text: string): string {
  return checksumOfNormalised(normaliseText(text));
}

/** checksumOf for a text normaliseText already made: the start of every run hashes every file, and need not scan it again. */
export function checksumOfNormalised(normalised: string): string {
  return bunSha256 ? bunSha256.hash(normalised, "hex") : createHash("sha256").update(normalised, "utf8").digest("hex");
}
