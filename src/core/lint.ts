import type { Migration } from "./migration-set.ts";
import { isTransactionControl, scanSql } from "./sql-lexer.ts";
import { compareVersions } from "./version.ts";

export type LintRule = "transaction-control" | "concurrently-in-transaction" | "no-down" | "out-of-order";

export interface LintFinding {
  readonly fileName: string;
  readonly rule: LintRule;
  readonly message: string;
}

/** A statement PostgreSQL refuses inside a transaction block (shared with down, which infers transaction:false from it). */
export const CONCURRENT_STATEMENT =
  /^(?:create\s+(?:unique\s+)?index\s+concurrently|drop\s+index\s+concurrently|reindex\s+(?:\([^)]*\)\s*)?\w+\s+concurrently|refresh\s+materialized\s+view\s+concurrently|alter\s+table\s+\S+\s+detach\s+partition\s+\S+\s+concurrently)\b/i;

/**
 * Warnings about migrations that work but are risky. `releasedVersions` are
 * the versions of the last release (null when unknown): a new file below
 * their maximum would be applied out of order on databases already past it.
 */
export function lintMigrations(migrations: readonly Migration[], releasedVersions: readonly string[] | null): LintFinding[] {
  const findings: LintFinding[] = [];
  const released = new Set(releasedVersions ?? []);
  const latestReleased = [...released].sort(compareVersions).at(-1) ?? null;
  for (const migration of migrations) {
    const statements = scanSql(migration.up).statements;
    const texts = statements.map((statement) => migration.up.slice(statement.start, statement.end));
    if (statements.some(isTransactionControl)) {
      findings.push({
        fileName: migration.fileName,
        rule: "transaction-control",
        message: `${migration.fileName} has its own BEGIN/COMMIT. The runner already wraps each migration in a transaction (and removes these); delete them, or use "-- migrate:up transaction:false" if the file must run outside one.`,
      });
    }
    if (migration.options.transaction && texts.some((text) => CONCURRENT_STATEMENT.test(text))) {
      findings.push({
        fileName: migration.fileName,
        rule: "concurrently-in-transaction",
        message: `${migration.fileName} uses CONCURRENTLY, which PostgreSQL refuses inside a transaction. Put it in a migration of its own marked "-- migrate:up transaction:false".`,
      });
    }
    if (migration.down === null) {
      findings.push({
        fileName: migration.fileName,
        rule: "no-down",
        message: `${migration.fileName} has no "-- migrate:down" part, so it cannot be rolled back. Add one (an empty down part is a deliberate no-op).`,
      });
    }
    if (latestReleased !== null && !released.has(migration.version) && compareVersions(migration.version, latestReleased) < 0) {
      findings.push({
        fileName: migration.fileName,
        rule: "out-of-order",
        message: `${migration.fileName} is new but its version is below ${latestReleased}, already released: databases past it would apply it out of order. Renumber it above ${latestReleased}.`,
      });
    }
  }
  return findings;
}
