import type { MigrationFile } from "../core/migration-set.ts";

/** Where migrations come from: embedded in the binary, or a directory on disk. */
export interface MigrationSource {
  /** For logs: "embedded (8 files)" or "directory ./migrations". */
  readonly description: string;
  load(): Promise<readonly MigrationFile[]>;
}
