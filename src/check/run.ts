/**
 * `st44-migrate check`: runs the new migrations on a throwaway PostgreSQL
 * and reports what they do. From empty (the whole set applies, the dump
 * matches DIR/schema.snapshot), then each new migration's round trip and
 * measured locks (round-trip.ts), then the folder's rules (check.json) and
 * each migration's allow: decide what counts.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckFinding } from "../core/check/finding.ts";
import { type CheckConfig, EMPTY_CONFIG, applyPolicy, parseCheckConfig } from "../core/check/policy.ts";
import type { CheckReport, MigrationCheck } from "../core/check/report.ts";
import { schemaDifferences } from "../core/check/schema-diff.ts";
import { MigrateError } from "../core/errors.ts";
import { exitCodeForSignal } from "../core/interrupt.ts";
import { type Migration, buildMigrationSet } from "../core/migration-set.ts";
import type { Logger } from "../log.ts";
import { directorySource } from "../source/directory.ts";
import { measureMigration } from "./locks.ts";
import { STATEMENT_TIMEOUT_FIX, type TextRules, applyUpTo, checkNewMigrations, dumpText, failureText, isStatementTimeout, textFindingsWithoutDatabase } from "./round-trip.ts";
import { type Selection, selectNewMigrations } from "./select.ts";
import { openCheckServer } from "./server.ts";

export type { TextRules } from "./round-trip.ts";
export type { Selection } from "./select.ts";

export interface CheckOptions {
  /** The migrations folder; its schema.snapshot and check.json live there too. */
  readonly dir: string;
  readonly selection: Selection;
  /** A server check may create databases on; absent: a throwaway embedded PostgreSQL. */
  readonly url?: string;
  /** How long to wait for the server of `url` to accept connections (ms); default 60 s. */
  readonly waitMs?: number;
  /** statement_timeout (ms) of every session check uses, 0 for none; default 5 min. */
  readonly statementTimeoutMs?: number;
  readonly log: Logger;
  readonly textRules?: TextRules;
  /** Aborted (reason: the signal's name) to stop the run: its statements are ended and everything it made removed, then INTERRUPTED. */
  readonly signal?: AbortSignal;
}

export const SNAPSHOT_FILE = "schema.snapshot";
export const CONFIG_FILE = "check.json";
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5 * 60_000;

function readConfig(dir: string): CheckConfig {
  const path = join(dir, CONFIG_FILE);
  return existsSync(path) ? parseCheckConfig(readFileSync(path, "utf8"), path) : EMPTY_CONFIG;
}

export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const started = performance.now();
  const set = buildMigrationSet(await directorySource(options.dir).load());
  const config = readConfig(options.dir);
  const snapshotPath = join(options.dir, SNAPSHOT_FILE);
  const snapshot = existsSync(snapshotPath) ? readFileSync(snapshotPath, "utf8").replace(/\r\n?/g, "\n") : null;
  const selected = selectNewMigrations(set, options.selection, options.dir);
  options.log.info(`check: ${selected.migrations.length} new migration(s): ${selected.migrations.map((migration) => migration.fileName).join(", ") || "none"} (${selected.description})`);

  const server = await openCheckServer(options.url, options.waitMs ?? 60_000, options.log, options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS);
  const interrupt = () => {
    options.log.warn(`check: ${String(options.signal?.reason ?? "a signal")} received: ending its statements, dropping its databases`);
    void server.close();
  };
  if (options.signal?.aborted) interrupt();
  options.signal?.addEventListener("abort", interrupt, { once: true });
  try {
    const report = await checkOnServer(options, server, set, selected, config, snapshot, snapshotPath, started);
    // A run that got to its end between the signal and the close was still interrupted.
    if (options.signal?.aborted) throw interrupted(options.signal);
    return report;
  } catch (error) {
    if (options.signal?.aborted) throw interrupted(options.signal);
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", interrupt);
    await server.close();
  }
}

function interrupted(signal: AbortSignal): MigrateError {
  const name = typeof signal.reason === "string" ? signal.reason : "a signal";
  return new MigrateError("INTERRUPTED", `check was stopped by ${name}: its running statement was ended and the databases it made were dropped (a throwaway PostgreSQL stopped and removed); nothing was left behind. Run it again to get a report.`, {
    exitCode: exitCodeForSignal(signal.reason),
  });
}

async function checkOnServer(
  options: CheckOptions,
  server: Awaited<ReturnType<typeof openCheckServer>>,
  set: readonly Migration[],
  selected: ReturnType<typeof selectNewMigrations>,
  config: CheckConfig,
  snapshot: string | null,
  snapshotPath: string,
  started: number,
): Promise<CheckReport> {
  const setFindings: CheckFinding[] = [...selected.findings];
  const fromEmpty = await applyFromEmpty(server, set);
  let snapshotState: CheckReport["snapshot"] = "not compared";
  if (fromEmpty.failure) setFindings.push(fromEmpty.failure);
  else if (snapshot === null) {
    snapshotState = "missing";
    setFindings.push({
      rule: "schema-snapshot",
      severity: "error",
      fileName: SNAPSHOT_FILE,
      line: null,
      message: `${snapshotPath} does not exist, so nothing says what schema the migrations should leave and a change to it cannot be reviewed.`,
      fix: `Create it from a database with every migration applied and commit it: st44-migrate up --dir ${options.dir} --url URL && st44-migrate dump --url URL > ${snapshotPath} (in the st44-migrate repository: npm run snapshot).`,
    });
  } else {
    const differences = schemaDifferences(snapshot, fromEmpty.dump);
    snapshotState = differences.length === 0 ? "matches" : "differs";
    if (differences.length > 0) {
      setFindings.push({
        rule: "schema-snapshot",
        severity: "error",
        fileName: SNAPSHOT_FILE,
        line: null,
        message: `The schema the migrations leave from empty is not ${snapshotPath} (- committed, + migrations give): ${differences.join("; ")}.`,
        fix: `If the migrations are right, refresh the snapshot and commit it with them: st44-migrate dump --url URL_WITH_ALL_APPLIED > ${snapshotPath} (in the st44-migrate repository: npm run snapshot).`,
      });
    }
  }
  options.log.info(`check: from empty ${fromEmpty.failure ? "failed" : "ok"}; schema.snapshot ${snapshotState}`);

  const unreached = fromEmpty.failure ? await textFindingsWithoutDatabase(set, selected.migrations, options.textRules) : new Map<string, CheckFinding[]>();
  const checks: MigrationCheck[] = fromEmpty.failure
    ? selected.migrations.map((migration) => ({
        fileName: migration.fileName,
        transaction: migration.options.transaction,
        observations: [],
        roundTrip: "not run",
        findings: unreached.get(migration.fileName) ?? [],
        allowed: [],
        notes: ["not run: the set does not apply from empty (the rules from the text were applied)"],
      }))
    : await checkNewMigrations(server, set, selected.migrations, options.textRules);

  const fresh = new Map(selected.migrations.map((migration) => [migration.fileName, migration]));
  const setResult = applyPolicy(setFindings, new Map(), config);
  const migrations = checks.map((check) => {
    const one = new Map<string, Migration>();
    const migration = fresh.get(check.fileName);
    if (migration) one.set(check.fileName, migration);
    const result = applyPolicy(check.findings, one, config);
    return { ...check, findings: result.findings, allowed: result.allowed };
  });
  return {
    selection: selected.description,
    server: server.description,
    fromEmpty: fromEmpty.failure ? "failed" : "ok",
    snapshot: snapshotState,
    migrations,
    findings: setResult.findings,
    durationMs: Math.round(performance.now() - started),
  };
}

/** The whole set with one `up` on an empty database, as a first deploy runs it. */
async function applyFromEmpty(server: Awaited<ReturnType<typeof openCheckServer>>, set: readonly Migration[]): Promise<{ dump: string; failure: CheckFinding | null }> {
  const empty = await server.createDatabase();
  try {
    await applyUpTo(empty, set);
    return { dump: await dumpText(empty.open()), failure: null };
  } catch (error) {
    const { line: reported, text } = failureText(error);
    const fileName = /^Migration (\S+) failed/.exec(text)?.[1] ?? set.at(-1)?.fileName ?? "";
    // The server gives no position for some errors (a missing column in ALTER TABLE): run the file's statements, rolled back, to find it.
    const failing = set.find((migration) => migration.fileName === fileName);
    const line = reported ?? (failing ? (await measureMigration(empty.open(), failing, [], false).catch(() => null))?.failure?.line ?? null : null);
    const timedOut = isStatementTimeout(text);
    return {
      dump: "",
      failure: {
        rule: timedOut ? "statement-timeout" : "apply-failed",
        severity: "error",
        fileName,
        line,
        message: `The set does not apply to an empty database: ${text}`,
        fix: timedOut ? STATEMENT_TIMEOUT_FIX : "Fix the statement named (the line is in the file); a first deploy runs exactly this.",
      },
    };
  } finally {
    await empty.close();
  }
}
