import { hostname } from "node:os";
import packageJson from "../package.json" with { type: "json" };

// Set by scripts/build.ts through `bun build --define`; absent under `bun run` and Deno.
declare const ST44_BUILD_COMMIT: string | undefined;
declare const ST44_BUILD_TIME: string | undefined;

export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly buildTime: string | null;
}

/** package.json is the single source of truth for the version. */
export const buildInfo: BuildInfo = {
  version: packageJson.version,
  commit: typeof ST44_BUILD_COMMIT === "string" ? ST44_BUILD_COMMIT : "dev",
  buildTime: typeof ST44_BUILD_TIME === "string" ? ST44_BUILD_TIME : null,
};

/** This machine's name for logs and the tracking table; "unknown" where it may not be read (Deno without --allow-sys). */
export function hostName(): string {
  try {
    return hostname();
  } catch {
    return "unknown";
  }
}
