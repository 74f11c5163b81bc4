/**
 * What drift detection costs /health/database (issue 13): a schema of N
 * tables (default 200; each with a few columns, a primary key, an index, a
 * foreign key and a check) applied as migrations, its snapshot written with
 * dump's reader, then checkDatabaseHealth timed with the comparison (the
 * snapshot as the `schema` option) and without it (`schema: null`),
 * interleaved, through the API's driver (a node-postgres Pool) and
 * postgres.js. Prints medians and the ratio; also the read and the
 * comparison alone. Every run with the comparison must say schema ok.
 *
 *   bun bench/health-drift.ts [--tables N] [--reps N] [--url URL]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import postgres from "postgres";
import { resolveConnection } from "../src/config.ts";
import { buildMigrationSet } from "../src/core/migration-set.ts";
import { compareSnapshots } from "../src/core/schema/compare.ts";
import { readExpectedSnapshot, snapshotEntries } from "../src/core/schema/snapshot-text.ts";
import { renderSnapshotText } from "../src/core/schema/render.ts";
import { fromPostgresJs } from "../src/db/query-rows.ts";
import { readSchema } from "../src/db/schema/read.ts";
import { type HealthDatabase, type HealthOptions, type HealthReport, checkDatabaseHealth } from "../src/health.ts";
import type { Logger } from "../src/log.ts";
import { migrateUp } from "../src/migrator.ts";
import { median } from "./lib/measure.ts";
import { openServer } from "./lib/server.ts";

const log = (line: string) => process.stderr.write(`[health-drift] ${line}\n`);
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { tables: { type: "string", default: "200" }, reps: { type: "string", default: "31" }, url: { type: "string" } },
});
const tableCount = Math.max(2, Number(flags.tables) || 200);
const reps = Math.max(1, Number(flags.reps) || 31);
const PER_MIGRATION = 20;

/** Table i: a few columns, a key, an index, a foreign key to table i-1 (the first to itself), a check. */
function tableSql(index: number): string {
  const parent = index === 1 ? 1 : index - 1;
  return `create table t_${index} (
  id bigint generated always as identity primary key,
  parent_id bigint references t_${parent}(id) on delete cascade,
  label varchar(100) not null default 'x',
  points integer not null default 0 check (points >= 0),
  created_at timestamptz not null default now()
);
create index t_${index}_parent_idx on t_${index} (parent_id);
`;
}

function migrationFiles(): { fileName: string; text: string }[] {
  const files: { fileName: string; text: string }[] = [];
  for (let first = 1; first <= tableCount; first += PER_MIGRATION) {
    const last = Math.min(tableCount, first + PER_MIGRATION - 1);
    const body = Array.from({ length: last - first + 1 }, (_, offset) => tableSql(first + offset)).join("");
    const version = String(files.length + 1).padStart(3, "0");
    files.push({ fileName: `${version}_tables_${first}_to_${last}.sql`, text: `-- migrate:up\n${body}\n-- migrate:down\nselect 1;\n` });
  }
  return files;
}

const quiet: Logger = { info() {}, success() {}, warn() {}, error() {}, debug() {} };
const round = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

const server = await openServer({ url: flags.url, log });
const scratch = mkdtempSync(join(tmpdir(), "st44-health-drift-"));
const database = "bench_health_drift";
try {
  await server.createDatabase(database);
  const url = server.urlFor(database);
  const migrations = buildMigrationSet(migrationFiles());
  const sql = postgres(url, { max: 4, onnotice: () => {}, fetch_types: false });
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    log(`applying ${tableCount} tables in ${migrations.length} migrations...`);
    await migrateUp({ sql, connection: resolveConnection({ url }, {}), migrations, log: quiet, waitMs: 0, lockWaitMs: 30_000 });
    const schema = renderSnapshotText(await readSchema(sql));
    const snapshotPath = join(scratch, "schema.snapshot");
    writeFileSync(snapshotPath, schema);
    const lines = schema.split("\n").filter((line) => line !== "" && !line.startsWith("--")).length;
    log(`snapshot: ${lines} objects, ${(schema.length / 1024).toFixed(0)} KiB (${snapshotPath})`);

    const drivers: Record<string, HealthDatabase> = { "pg Pool": { pool }, "postgres.js": { sql } };
    const series = new Map<string, number[]>();
    const record = (name: string, ms: number) => series.set(name, [...(series.get(name) ?? []), ms]);
    const timed = async (name: string, options: HealthOptions, compared: boolean) => {
      const started = performance.now();
      const report: HealthReport = await checkDatabaseHealth(options);
      record(name, performance.now() - started);
      if (report.status !== "healthy" || report.schema.status !== (compared ? "ok" : "unknown")) {
        throw new Error(`${name}: expected healthy with schema ${compared ? "ok" : "unknown"}, got ${JSON.stringify({ status: report.status, schema: report.schema })}`);
      }
    };
    const expected = readExpectedSnapshot(schema, "the bench's snapshot");
    // One warm-up of each (connections opened, the snapshot parsed once, code compiled), then interleaved runs.
    for (let run = -1; run < reps; run++) {
      for (const [driver, target] of Object.entries(drivers)) {
        const order = run % 2 === 0 ? [true, false] : [false, true];
        for (const compared of order) {
          const name = `${driver}, ${compared ? "with" : "without"} the comparison`;
          await timed(name, { ...target, migrations, timeoutMs: 2000, schema: compared ? schema : null }, compared);
        }
      }
      const readStarted = performance.now();
      const live = await readSchema(fromPostgresJs(sql)); // as the health check reads: the one statement through the port
      record("the schema read alone (postgres.js)", performance.now() - readStarted);
      const compareStarted = performance.now();
      compareSnapshots(expected, snapshotEntries(live));
      record("the comparison alone (render, parse, compare)", performance.now() - compareStarted);
      if (run === -1) series.clear();
    }

    const medians = new Map([...series].map(([name, values]) => [name, median(values)]));
    const out: string[] = [];
    out.push(`health check on ${tableCount} tables (${lines} schema objects), PostgreSQL ${server.version}, ${reps} interleaved runs, medians:`);
    out.push("");
    out.push("| series | median ms | max ms |");
    out.push("|---|---|---|");
    for (const [name, values] of series) out.push(`| ${name} | ${round(medians.get(name) ?? Number.NaN)} | ${round(Math.max(...values))} |`);
    out.push("");
    for (const driver of Object.keys(drivers)) {
      const withIt = medians.get(`${driver}, with the comparison`) ?? Number.NaN;
      const without = medians.get(`${driver}, without the comparison`) ?? Number.NaN;
      out.push(`${driver}: ${round(withIt)} ms with the comparison vs ${round(without)} ms without: ${(withIt / without).toFixed(2)}×, +${round(withIt - without)} ms (budget 2000 ms)`);
    }
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    await pool.end();
    await sql.end({ timeout: 1 });
  }
} finally {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
}
