import type { ConnectionConfig } from "../config.ts";
import type { Migration } from "../core/migration-set.ts";
import type { Plan } from "../core/plan.ts";
import type { Sql } from "../db/connection.ts";
import type { LockMode } from "../db/lock.ts";
import type { TrackingState } from "../db/tracking.ts";
import type { Logger } from "../log.ts";

/** What every operation needs: the client, the migrations of this build, and the run's bounds. */
export interface MigratorOptions {
  readonly sql: Sql;
  readonly connection: ConnectionConfig;
  readonly migrations: readonly Migration[];
  readonly log: Logger;
  /** How long to wait for the server to accept connections (ms); 0 tries once. */
  readonly waitMs: number;
  /** How long to wait for another runner's migration lock (ms). */
  readonly lockWaitMs: number;
  /** "fail" refuses when the database holds migrations this build does not know. */
  readonly onUnknown?: "warn" | "fail";
  /** lock_timeout while migrating (ms): fail instead of queueing behind application locks. Default 10 s. */
  readonly lockTimeoutMs?: number;
  /** statement_timeout while migrating (ms), 0 for none. */
  readonly statementTimeoutMs?: number;
  /** How often a migration that hit lock_timeout is tried again, with backoff. Default 0. */
  readonly lockRetries?: number;
  /** "auto" uses transaction-level locks when the connection goes through a pooler. */
  readonly lockMode?: "auto" | LockMode;
  /**
   * Called when the run starts writing (the lock is taken): returns a signal
   * whose abort (SIGTERM) cancels the statement in progress and rolls it
   * back. Lazy, because installing signal handlers costs start-up time and
   * before anything is written the default (exit) is right.
   */
  readonly interruptSignal?: () => AbortSignal;
  /** A read started before the migrations were loaded (startReadingTracking). */
  readonly startedRead?: StartedRead;
}

/** A wait-and-read of the tracking table already under way, taken (once) by the first waitAndReadPlan. */
export interface StartedRead {
  take(): Promise<TrackingState> | null;
  /** Stops waiting and logging, when nobody will take it (the files were broken): before closing the client. */
  cancel(): void;
}

/** The state read before any lock: what decides whether there is anything to do. */
export interface ReadState {
  readonly plan: Plan;
  readonly tracking: TrackingState;
}

export interface AppliedMigration {
  readonly version: string;
  readonly name: string;
  readonly durationMs: number;
}
