/**
 * What a run of a migration showed, turned into findings: the locks each
 * statement took on tables that existed before the migration, the tables it
 * rewrote, the indexes it built on them. Pure: src/check/locks.ts measures.
 */
import type { CheckFinding } from "./finding.ts";

/** Lock modes that block the application's writes (or reads, for ACCESS EXCLUSIVE) while held. */
export const BLOCKING_MODES = ["AccessExclusiveLock", "ExclusiveLock", "ShareRowExclusiveLock", "ShareLock"] as const;
export type BlockingMode = (typeof BLOCKING_MODES)[number];

/** pg_locks' mode names as the PostgreSQL documentation writes them. */
export const MODE_NAMES: Readonly<Record<BlockingMode, string>> = {
  AccessExclusiveLock: "ACCESS EXCLUSIVE",
  ExclusiveLock: "EXCLUSIVE",
  ShareRowExclusiveLock: "SHARE ROW EXCLUSIVE",
  ShareLock: "SHARE",
};

export function isBlockingMode(mode: string): mode is BlockingMode {
  return (BLOCKING_MODES as readonly string[]).includes(mode);
}

/** One statement of a new migration as it ran, on tables that existed before the migration. */
export interface StatementObservation {
  /** 1-based line of the statement's start in the file. */
  readonly line: number;
  /** The statement's first line, for messages. */
  readonly excerpt: string;
  /** Its leading keywords, upper-cased (`CREATE`, `TABLE`, ...). */
  readonly keywords: readonly string[];
  /** Blocking locks it took (not held before it), `public.users` -> mode. Empty when locks could not be read (transaction:false). */
  readonly locks: readonly { readonly table: string; readonly mode: BlockingMode }[];
  /** Tables whose relfilenode it changed. */
  readonly rewritten: readonly string[];
  /** Indexes it created on those tables, with whether the statement said CONCURRENTLY. */
  readonly indexes: readonly { readonly table: string; readonly index: string; readonly concurrently: boolean }[];
}

/** The strongest first, so that one statement on one table gives one finding: rewrite, then index, then lock. */
export function measuredFindings(fileName: string, observations: readonly StatementObservation[]): CheckFinding[] {
  const findings: CheckFinding[] = [];
  for (const statement of observations) {
    const reported = new Set<string>();
    const lockOn = (table: string) => statement.locks.find((lock) => lock.table === table);
    const held = (table: string) => {
      const lock = lockOn(table);
      return lock ? ` under ${MODE_NAMES[lock.mode]}` : "";
    };
    // TRUNCATE gives the table a new, empty file: a data change, not a copy under lock; its ACCESS EXCLUSIVE is still reported.
    const rewritten = statement.keywords[0] === "TRUNCATE" ? [] : statement.rewritten;
    for (const table of rewritten) {
      reported.add(table);
      findings.push({
        rule: "table-rewrite",
        severity: "error",
        fileName,
        line: statement.line,
        message: `${statement.excerpt} rewrote ${table} (its relfilenode changed)${held(table)}: the whole table is copied while every read and write of it waits, for as long as the copy takes on production's data.`,
        fix: "Avoid the rewrite: add a column without a volatile default (or with a constant one, PostgreSQL 11+) and backfill in batches; change a type by adding a new column, backfilling it and switching over. If the table is small enough, allow it: -- migrate:up allow:table-rewrite, with the reason on the comment line below.",
      });
    }
    for (const index of statement.indexes) {
      if (index.concurrently || reported.has(index.table)) continue;
      reported.add(index.table);
      findings.push({
        rule: "index-not-concurrent",
        severity: "error",
        fileName,
        line: statement.line,
        message: `${statement.excerpt} built index ${index.index} on ${index.table} without CONCURRENTLY${held(index.table) || " (under SHARE)"}: inserts, updates and deletes on ${index.table} wait until the index is built.`,
        fix: `Build it in a migration of its own: "-- migrate:up transaction:false" then CREATE INDEX CONCURRENTLY IF NOT EXISTS ... (a unique constraint: CREATE UNIQUE INDEX CONCURRENTLY, then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX).`,
      });
    }
    // A new table's foreign keys take SHARE ROW EXCLUSIVE on the tables they reference: shown under locks, not a
    // finding, since checking an empty new table is instant; the lock lasts as long as the migration's transaction.
    const createsTable = statement.keywords[0] === "CREATE" && statement.keywords.includes("TABLE");
    for (const lock of statement.locks) {
      if (reported.has(lock.table) || (createsTable && lock.mode !== "AccessExclusiveLock")) continue;
      reported.add(lock.table);
      const exclusive = lock.mode === "AccessExclusiveLock";
      findings.push({
        rule: exclusive ? "access-exclusive-lock" : "blocking-lock",
        severity: "warning",
        fileName,
        line: statement.line,
        message: `${statement.excerpt} takes ${MODE_NAMES[lock.mode]} on ${lock.table}, held until the migration commits: ${exclusive ? "every query on the table, reads included," : "every write to the table"} waits behind it, and it waits itself behind any running transaction that touched the table.`,
        fix: "Keep the migration short (no slow statement after this one in the same file). The runner's lock_timeout (--lock-timeout, default 10 s) makes it fail instead of queueing the application behind it; --lock-retries tries again.",
      });
    }
  }
  return findings;
}
