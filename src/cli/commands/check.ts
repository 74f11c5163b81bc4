import { appendFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { defineCommand } from "citty";
import { durationSetting, resolveLogFormat, stringSetting } from "../../config.ts";
import { renderAnnotations, renderStepSummary } from "../../core/check/github.ts";
import { errorCount, renderCheckJson, renderCheckText } from "../../core/check/report.ts";
import { ExitCode, MigrateError } from "../../core/errors.ts";
import { exitCodeForSignal } from "../../core/interrupt.ts";
import { loadSqlParser } from "../../check/parser.ts";
import { DEFAULT_STATEMENT_TIMEOUT_MS, type Selection, type TextRules, runCheck } from "../../check/run.ts";
import { tablesAfter, textRuleFindings } from "../../check/text-rules.ts";
import { createLogger } from "../../log.ts";
import { stderrIsTerminal, writeStdout } from "../../output.ts";
import { logFormatArg, waitArg } from "../args.ts";

const FORMATS = ["text", "github", "json"] as const;

export default defineCommand({
  meta: { name: "check", description: "Run the new migrations on a throwaway PostgreSQL: from empty, round trip, measured locks and rewrites; exit 4 on an error finding" },
  args: {
    base: { type: "string", valueHint: "REF", description: "New = the .sql files of --dir that are not in git at REF, or differ from it (e.g. --base origin/main)" },
    since: { type: "string", valueHint: "VERSION", description: "New = the migrations with a version after VERSION (default, without --base: the last migration)" },
    format: { type: "string", valueHint: "text|github|json", description: "text for a terminal; github: workflow annotations (and $GITHUB_STEP_SUMMARY); json (default: text)" },
    url: { type: "string", valueHint: "URL", description: "A server check may create (and drop) its own databases on, e.g. an empty CI service; never DATABASE_URL (default: a throwaway embedded PostgreSQL, development checkouts only)" },
    dir: { type: "string", valueHint: "PATH", description: "The migrations folder, with schema.snapshot and check.json (default: MIGRATIONS_DIR, else migrations)" },
    "statement-timeout": {
      type: "string",
      valueHint: "SECONDS",
      description: "PostgreSQL statement_timeout of every statement check runs, 0 for none: a slower one is an error finding (default: MIGRATE_STATEMENT_TIMEOUT or 300)",
    },
    ...waitArg,
    ...logFormatArg,
  },
  async run({ args }) {
    const log = createLogger(resolveLogFormat(args, process.env, stderrIsTerminal()));
    const format = typeof args.format === "string" ? args.format : "text";
    if (!(FORMATS as readonly string[]).includes(format)) throw new MigrateError("USAGE", `--format must be text, github or json, not "${format}".`);
    const base = typeof args.base === "string" ? args.base : undefined;
    const since = typeof args.since === "string" ? args.since : undefined;
    if (base !== undefined && since !== undefined) throw new MigrateError("USAGE", "--base and --since both choose the new migrations: give one of them.");
    const selection: Selection = base !== undefined ? { kind: "base", ref: base } : since !== undefined ? { kind: "since", version: since } : { kind: "last" };
    const dir = stringSetting(args, "dir", process.env, "MIGRATIONS_DIR") ?? "migrations";
    const waitMs = durationSetting(args, "wait", process.env, "MIGRATE_WAIT", 60_000);
    const statementTimeoutMs = durationSetting(args, "statement-timeout", process.env, "MIGRATE_STATEMENT_TIMEOUT", DEFAULT_STATEMENT_TIMEOUT_MS);
    const url = typeof args.url === "string" ? args.url : undefined;
    const report = await runCheck({ dir, selection, url, waitMs, statementTimeoutMs, log, textRules: await textRulesOrNone(log), signal: stopSignal() });
    if (format === "json") writeStdout(renderCheckJson(report));
    else if (format === "text") writeStdout(renderCheckText(report));
    else {
      const root = process.env.GITHUB_WORKSPACE ?? process.cwd();
      writeStdout(renderAnnotations(report, (fileName) => relative(root, resolve(dir, fileName))));
      const summary = process.env.GITHUB_STEP_SUMMARY;
      if (summary) appendFileSync(summary, renderStepSummary(report));
    }
    return errorCount(report) > 0 ? ExitCode.refused : ExitCode.ok;
  },
});

/**
 * The rules from the text need PostgreSQL's parser (libpg-query), which a
 * development checkout has and the compiled binary does not carry: without
 * it the measured check still runs, and says what it left out.
 */
async function textRulesOrNone(log: ReturnType<typeof createLogger>): Promise<TextRules | undefined> {
  try {
    await loadSqlParser();
    return { findings: textRuleFindings, tablesAfter };
  } catch (error) {
    if (!(error instanceof MigrateError) || error.code !== "CHECK_PARSER_UNAVAILABLE") throw error;
    log.warn(`the rules from the text are skipped: ${error.message}`);
    return undefined;
  }
}

/**
 * SIGINT or SIGTERM aborts the run (reason: the signal's name), which ends
 * its statements and removes its databases and throwaway server before it
 * exits with INTERRUPTED (130 or 143). A second signal exits at once.
 */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  for (const name of ["SIGINT", "SIGTERM"] as const) {
    process.on(name, () => {
      if (controller.signal.aborted) process.exit(exitCodeForSignal(name));
      controller.abort(name);
    });
  }
  return controller.signal;
}
