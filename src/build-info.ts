import { hostname } from "node:os";
import packageJson from "../package.json" with { type: "json" };

// Set by scripts/build.ts through `bun build --define`; absent under `bun run` and Deno.
declare const ST44_BUILD_COMMIT: string | undefined;
declare const ST44_BUILD_TIME: string | undefined;
declare const ST44_BUILD_MIGRATIONS: string | undefined;

export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly buildTime: string | null;
  /** The folder whose migrations are embedded, as given to the build (`--migrations PATH`); "migrations" by default. */
  readonly migrationsFolder: string;
}

/** package.json is the single source of truth for the version. */
export const buildInfo: BuildInfo = {
  version: packageJson.version,
  commit: typeof ST44_BUILD_COMMIT === "string" ? ST44_BUILD_COMMIT : "dev",
  buildTime: typeof ST44_BUILD_TIME === "string" ? ST44_BUILD_TIME : null,
  // Unbuilt (bun run, Deno), the committed generated module is the one for migrations/.
  migrationsFolder: typeof ST44_BUILD_MIGRATIONS === "string" ? ST44_BUILD_MIGRATIONS : "migrations",
};

/** This machine's name for logs and the tracking table; "unknown" where it may not be read (Deno without --allow-sys). */
export function hostName(): string {
  try {
    return hostname();
  } catch {
    return "unknown";
  }
}
