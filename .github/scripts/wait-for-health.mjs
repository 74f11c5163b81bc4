#!/usr/bin/env node
// Waits until GET /health/database says the deployed build is serving on a
// migrated database, or fails. deploy.yml runs it after every deploy (and CI
// runs it against the image it just built); on-call can run it by hand:
//
//   node .github/scripts/wait-for-health.mjs --url https://api.example/health/database --expect-latest 016
//
// Success needs, in one response:
//   - HTTP 200 and "status": "healthy" ("degraded" too with --allow-degraded,
//     for a rollback: the database then has migrations the older build does not know);
//   - migrations.expected_latest == --expect-latest: the NEW build answers (an
//     old container still running would report its own, older, expected_latest);
//   - when healthy, migrations.latest == --expect-latest and nothing pending.
// Every attempt prints one line. Exit 0 on success, 1 on timeout, 2 on bad arguments.
// Node 18+ (fetch), no dependencies.
import { appendFileSync } from "node:fs";

function usage(message) {
  process.stderr.write(`${message}\nusage: wait-for-health.mjs --url URL --expect-latest VERSION [--timeout SECONDS] [--interval SECONDS] [--allow-degraded]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { url: "", expectLatest: "", timeout: 300, interval: 5, allowDegraded: false };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    const value = () => {
      const next = argv[++index];
      if (next === undefined || next.startsWith("--")) usage(`${arg} needs a value`);
      return next;
    };
    if (arg === "--url") options.url = value();
    else if (arg === "--expect-latest") options.expectLatest = value();
    else if (arg === "--timeout") options.timeout = Number(value());
    else if (arg === "--interval") options.interval = Number(value());
    else if (arg === "--allow-degraded") options.allowDegraded = true;
    else usage(`unknown argument ${arg}`);
  }
  if (!options.url) usage("--url is required");
  if (!/^\d+$/.test(options.expectLatest)) usage("--expect-latest must be a migration version (digits), from st44-migrate version --json");
  if (!(options.timeout > 0) || !(options.interval > 0)) usage("--timeout and --interval must be positive numbers of seconds");
  return options;
}

/** Versions compare as numbers: "016" and "16" are one version. */
const sameVersion = (a, b) => typeof a === "string" && typeof b === "string" && /^\d+$/.test(a) && /^\d+$/.test(b) && BigInt(a) === BigInt(b);

/** Why this response is not yet what the deploy needs, or null when it is. */
function verdict(httpStatus, document, options) {
  if (document === null || typeof document !== "object") return `HTTP ${httpStatus}, not a health document`;
  const migrations = document.migrations ?? {};
  const status = document.status;
  const reasons = Array.isArray(document.reasons) && document.reasons.length > 0 ? ` (${document.reasons.join("; ")})` : "";
  if (!sameVersion(migrations.expected_latest, options.expectLatest)) {
    return `${status}: the build answering expects ${migrations.expected_latest ?? "?"}, the deployed one ${options.expectLatest} (old container still serving, or another build)${reasons}`;
  }
  if (status === "degraded" && options.allowDegraded) return httpStatus === 200 ? null : `HTTP ${httpStatus} for degraded`;
  if (status !== "healthy") return `${status}${reasons}`;
  if (httpStatus !== 200) return `HTTP ${httpStatus} for healthy`;
  if (!sameVersion(migrations.latest, options.expectLatest)) return `healthy but the database is at ${migrations.latest ?? "none"}, expected ${options.expectLatest}`;
  if (Array.isArray(migrations.pending) && migrations.pending.length > 0) return `healthy but pending: ${migrations.pending.join(", ")}`;
  return null;
}

function summarize(line) {
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${line}\n`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const deadline = started + options.timeout * 1000;
  let last = "no answer yet";
  let lastDocument = null;
  for (let attempt = 1; ; attempt++) {
    let problem;
    try {
      const response = await fetch(options.url, { signal: AbortSignal.timeout(Math.min(10_000, options.interval * 1000 + 5000)), headers: { accept: "application/json" } });
      const text = await response.text();
      let document = null;
      try {
        document = JSON.parse(text);
      } catch {
        // reported by verdict()
      }
      lastDocument = document;
      problem = verdict(response.status, document, options);
    } catch (error) {
      const cause = error?.cause;
      const detail = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? error?.message ?? String(error);
      problem = `no answer (${error?.name === "TimeoutError" ? "timed out" : detail})`;
    }
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    if (problem === null) {
      const status = lastDocument.status;
      console.log(`attempt ${attempt} (${elapsed} s): ${status}, schema at ${lastDocument.migrations.latest}, this build expects ${lastDocument.migrations.expected_latest}`);
      summarize(`Health check passed after ${elapsed} s: \`${status}\`, schema at \`${lastDocument.migrations.latest}\`, deployed build expects \`${options.expectLatest}\`.`);
      return 0;
    }
    console.log(`attempt ${attempt} (${elapsed} s): ${problem}`);
    last = problem;
    if (Date.now() + options.interval * 1000 > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
  }
  console.log(`::error::${options.url} did not become healthy with schema ${options.expectLatest} within ${options.timeout} s. Last: ${last}`);
  if (lastDocument !== null) console.log(JSON.stringify(lastDocument, null, 2));
  summarize(`**Health check FAILED** after ${options.timeout} s: ${last}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
