/**
 * What applying one migration costs in round trips: the same N generated
 * migrations (`create table t_N (id int primary key)`) applied from Bun with
 * postgres.js in several ways, each on a fresh database, interleaved, next
 * to the server's own cost (one `psql -f`, a transaction per migration).
 * Not st44-migrate's code: the shapes of what it sends, to size a change
 * before making it.
 *
 *   bun bench/round-trips.ts [--count N] [--reps N] [--url URL]
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { ensurePsql } from "./lib/environment.ts";
import { median } from "./lib/measure.ts";
import { formatMs } from "./lib/report.ts";
import { openServer } from "./lib/server.ts";

const log = (line: string) => process.stderr.write(`[round-trips] ${line}\n`);
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { count: { type: "string", default: "300" }, reps: { type: "string", default: "5" }, url: { type: "string" } },
});
const count = Math.max(1, Number(flags.count) || 300);
const reps = Math.max(1, Number(flags.reps) || 5);

type Db = postgres.ReservedSql<Record<string, never>>;
interface Migration {
  readonly version: string;
  readonly name: string;
  readonly up: string;
  readonly down: string;
  readonly key: string;
}
const migrations: Migration[] = Array.from({ length: count }, (_, index) => ({
  version: String(index + 1).padStart(4, "0"),
  name: `create_t_${index + 1}`,
  up: `create table t_${index + 1} (id int primary key);\n`,
  down: `drop table t_${index + 1};\n`,
  key: String(index + 1),
}));
const checksum = "0".repeat(64);
const runner = "st44-migrate 0.1.0 (bench) on host";
const literal = (value: string | number) => (typeof value === "number" ? String(value) : `'${value.replaceAll("'", "''")}'`);
const trackingTable = `create table schema_migrations (
  version varchar(255) primary key, name varchar(255) not null, applied_at timestamptz not null default now(),
  checksum char(64), duration_ms integer, applied_by text default current_user, runner text, down_sql text);
create index on schema_migrations (applied_at)`;
/** The tracking row, inserted only while the transaction that set the guard is still open. */
const guardedInsert = (migration: Migration, guard: string) =>
  `insert into schema_migrations (version, name, applied_at, checksum, duration_ms, runner, down_sql)
   select ${literal(migration.version)}, ${literal(migration.name)}, now(), ${literal(checksum)}, 0, ${literal(runner)}, ${literal(migration.down)}
   where current_setting('st44_migrate.guard', true) = '${guard}'`;

const strategies: Record<string, (db: Db, migration: Migration) => Promise<void>> = {
  // What st44-migrate sends per migration (src/db/apply.ts as of this bench): 8 round trips.
  "as st44-migrate: begin, file, guard, delete, insert, commit (8 round trips)": async (db, migration) => {
    const guard = randomUUID();
    await db.unsafe(`begin; set local lock_timeout = 10000; select set_config('st44_migrate.guard', '${guard}', true)`);
    await db.unsafe(migration.up);
    const [row] = await db<{ guard: string }[]>`select current_setting('st44_migrate.guard', true) as guard`;
    if (row?.guard !== guard) throw new Error("guard lost");
    await db.unsafe("delete from schema_migrations where coalesce(nullif(ltrim(btrim(version), '0'), ''), '0') = $1", [migration.key]);
    await db.unsafe(
      "insert into schema_migrations (version, name, applied_at, checksum, duration_ms, runner, down_sql) values ($1, $2, now(), $3, $4, $5, $6)",
      [migration.version, migration.name, checksum, 0, runner, migration.down],
    );
    await db.unsafe("commit");
  },
  "no delete, guard folded into the insert, literals (4 round trips)": async (db, migration) => {
    const guard = randomUUID();
    await db.unsafe(`begin; set local lock_timeout = 10000; select set_config('st44_migrate.guard', '${guard}', true)`);
    await db.unsafe(migration.up);
    const inserted = await db.unsafe(guardedInsert(migration, guard));
    if (inserted.count !== 1) throw new Error("guard lost");
    await db.unsafe("commit");
  },
  "the same four messages pipelined (1 round trip)": async (db, migration) => {
    const guard = randomUUID();
    const [, body, inserted] = await Promise.allSettled([
      db.unsafe(`begin; set local lock_timeout = 10000; select set_config('st44_migrate.guard', '${guard}', true)`),
      db.unsafe(migration.up),
      db.unsafe(guardedInsert(migration, guard)),
      db.unsafe("commit"),
    ]);
    if (body.status === "rejected") throw body.reason;
    if (inserted.status === "rejected" || inserted.value.count !== 1) throw new Error("guard lost");
  },
  "everything in one simple-protocol message (1 round trip)": async (db, migration) => {
    const guard = randomUUID();
    // The file ends with a newline, so a trailing comment cannot swallow what follows.
    await db.unsafe(
      `begin; set local lock_timeout = 10000; select set_config('st44_migrate.guard', '${guard}', true);\n${migration.up}\n;${guardedInsert(migration, guard)}; commit`,
    );
  },
  "bare: begin; file; commit, no tracking (1 round trip)": async (db, migration) => {
    await db.unsafe(`begin;\n${migration.up}\n;commit`);
  },
};

const scratch = mkdtempSync(join(tmpdir(), "st44-round-trips-"));
const server = await openServer({ url: flags.url, log });
const prefix = `rt_${randomBytes(3).toString("hex")}`;
try {
  const psql = ensurePsql({ install: false, log }).path;
  const floorScript = join(scratch, "floor.sql");
  writeFileSync(floorScript, migrations.map((migration) => `begin;\n${migration.up}commit;\n`).join(""));
  const names = [...Object.keys(strategies), ...(psql ? ["server floor: one psql -f, a transaction per migration"] : [])];
  const times = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let offset = 0; offset < names.length; offset++) {
      const index = (offset + rep) % names.length;
      const name = names[index]!;
      const database = `${prefix}_${index}_${rep}`;
      await server.createDatabase(database);
      const strategy = strategies[name];
      if (strategy) {
        const sql = postgres(server.urlFor(database), { max: 1, fetch_types: false, prepare: false, onnotice: () => {} });
        await sql.unsafe(trackingTable);
        const db = (await sql.reserve()) as unknown as Db;
        const started = performance.now();
        for (const migration of migrations) await strategy(db, migration);
        times.get(name)?.push(performance.now() - started);
        db.release();
        await sql.end();
      } else if (psql) {
        const started = performance.now();
        const result = Bun.spawnSync([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.urlFor(database), "-f", floorScript], { stdout: "ignore", stderr: "pipe" });
        if (result.exitCode !== 0) throw new Error(`psql: ${result.stderr.toString()}`);
        times.get(name)?.push(performance.now() - started);
      }
      await server.dropDatabase(database);
    }
    log(`round ${rep + 1}/${reps}`);
  }
  const floor = psql ? median(times.get(names.at(-1)!) ?? []) : Number.NaN;
  const lines = [
    `${count} migrations, ${reps} interleaved runs per row, a fresh database each.`,
    "",
    "| how | median ms | per migration ms | × server floor |",
    "|---|--:|--:|--:|",
  ];
  for (const name of names) {
    const value = median(times.get(name) ?? []);
    lines.push(`| ${name} | ${formatMs(value)} | ${(value / count).toFixed(3)} | ${Number.isFinite(floor) ? `${(value / floor).toFixed(2)}×` : "n/a"} |`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
}
