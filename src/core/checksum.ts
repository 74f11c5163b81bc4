import { createHash } from "node:crypto";
import { normaliseText } from "./migration-file.ts";

/** SHA-256 (hex) of a migration's text with LF line endings and no BOM. */
export function checksumOf(text: string): string {
  return createHash("sha256").update(normaliseText(text), "utf8").digest("hex");
}
