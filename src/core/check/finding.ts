/**
 * What `st44-migrate check` reports about one new migration, whether a run
 * measured it (a lock, a rewrite, a failed round trip) or the text shows it
 * (a rule a run cannot see). One shape for both, so every output format
 * (text, GitHub annotations, JSON) and the exit code treat them alike.
 */

export type CheckSeverity = "error" | "warning";

export interface CheckFinding {
  /** Stable id, kebab-case (`table-rewrite`, `not-null-without-check`): what `allow:RULE` and migrations/check.json name. */
  readonly rule: string;
  readonly severity: CheckSeverity;
  /** The migration's file name, as in the migrations folder. */
  readonly fileName: string;
  /** 1-based line in the file of the statement concerned, or null when the finding is about the whole file. */
  readonly line: number | null;
  /** What was found and why it matters, one sentence or two. */
  readonly message: string;
  /** The safe rewrite, or how to make the finding go away. */
  readonly fix: string;
}
