import { beforeEach, describe, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { MIGRATION_LOCK_KEY } from "../../src/db/lock.ts";
import { type MigratorOptions, baselineTo, migrateDown, repairChecksum, verifyDatabase } from "../../src/migrator.ts";
import { type TestDatabase, type TestSql, freshDatabases, tablesOf } from "../support/database.ts";
import { migrationsFrom, recordingLogger, runnerClient, seedMigrations, up, withOptions as withOptionsOn } from "../support/migrator.ts";
import type { Migration } from "../../src/core/migration-set.ts";

let db: TestDatabase;
const freshDatabase = freshDatabases("change");
beforeEach(async () => {
  db = await freshDatabase();
});

/** Runs `work` with migrator options on its own client. */
function withOptions<T>(migrations: readonly Migration[], work: (options: MigratorOptions) => Promise<T>): Promise<T> {
  return withOptionsOn(db.url, migrations, work);
}

/** Everything the migrations define in schema public, except the runner's own table. */
async function catalog(sql: TestSql): Promise<string> {
  const parts = await Promise.all([
    sql`select table_name, column_name, data_type, character_maximum_length, is_nullable, column_default from information_schema.columns
        where table_schema = 'public' and table_name <> 'schema_migrations' order by table_name, ordinal_position`,
    sql`select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename <> 'schema_migrations' order by indexname`,
    sql`select conrelid::regclass::text as rel, conname, pg_get_constraintdef(oid) as def from pg_constraint
        where connamespace = 'public'::regnamespace and conrelid <> 'schema_migrations'::regclass order by rel, conname`,
    sql`select proname, pg_get_functiondef(oid) as def from pg_proc where pronamespace = 'public'::regnamespace order by proname`,
    sql`select tgname, pg_get_triggerdef(oid) as def from pg_trigger where not tgisinternal order by tgname`,
  ]);
  return JSON.stringify(parts);
}

describe("down", () => {
  test("down --all to an empty schema and up again give the same catalog; history rows go and come back", async () => {
    const seed = await seedMigrations();
    await up(db.url, seed);
    const before = await catalog(db.sql);
    const result = await withOptions(seed, (options) => migrateDown(options, { kind: "all" }, async () => {}));
    expect(result.reverted.map((entry) => entry.version)).toEqual(["016", "015", "014", "013", "012", "011", "001", "000"]);
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
    const [functions] = await db.sql`select count(*)::int as n from pg_proc where pronamespace = 'public'::regnamespace`;
    expect(functions?.n).toBe(0);
    const [rows] = await db.sql`select count(*)::int as n from schema_migrations`;
    expect(rows?.n).toBe(0);
    await up(db.url, seed);
    expect(await catalog(db.sql)).toBe(before);
  });

  test("confirmation sees the steps first; refusing there undoes nothing", async () => {
    const seed = await seedMigrations();
    await up(db.url, seed);
    let seen: string[] = [];
    const refusal = withOptions(seed, (options) =>
      migrateDown(options, { kind: "steps", steps: 2 }, async (steps) => {
        seen = steps.map((step) => step.entry.version);
        throw new MigrateError("CONFIRMATION_REQUIRED", "no");
      }),
    );
    await expect(refusal).rejects.toMatchObject({ code: "CONFIRMATION_REQUIRED" });
    expect(seen).toEqual(["016", "015"]);
    expect(await tablesOf(db.sql)).toContain("task_completions");
  });

  test("a failing down part rolls back that step only; what was undone before it stays undone", async () => {
    const migrations = migrationsFrom({
      "001_a.sql": "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
      "002_b.sql": "-- migrate:up\ncreate table b (id int);\n-- migrate:down\ndrop table b;\nselect broken from nowhere;\n",
      "003_c.sql": "-- migrate:up\ncreate table c (id int);\n-- migrate:down\ndrop table c;\n",
    });
    await up(db.url, migrations);
    const failure = withOptions(migrations, (options) => migrateDown(options, { kind: "all" }, async () => {}));
    await expect(failure).rejects.toMatchObject({ code: "MIGRATION_FAILED" });
    const error = (await failure.catch((caught) => caught)) as MigrateError;
    expect(error.message).toContain("002_b.sql failed at line 5");
    expect(await tablesOf(db.sql)).toEqual(["a", "b", "schema_migrations"]);
    const rows = await db.sql`select version from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(["001", "002"]);
  });
});

describe("down: what it undoes and when (issues 17 and 12)", () => {
  const tracked = {
    "001_a.sql": "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
    "002_b.sql": "-- migrate:up\ncreate table b (id int);\n-- migrate:down\ndrop table b;\n",
    "003_c.sql": "-- migrate:up\ncreate table c (id int);\n-- migrate:down\ndrop table c;\n",
  };
  const rowsOf = async () => (await db.sql`select version from schema_migrations order by version`).map((row) => row.version);

  test("a file edited after it was applied is rolled back with the down SQL stored when it was applied (17.2)", async () => {
    await up(db.url, migrationsFrom(tracked));
    const edited = migrationsFrom({ ...tracked, "003_c.sql": "-- migrate:up\ncreate table c (id int);\n-- migrate:down\ndrop table c;\ncreate table edited_down_ran (id int);\n" });
    let confirmed: string[] = [];
    await withOptions(edited, (options) =>
      migrateDown(options, { kind: "steps", steps: 1 }, async (steps) => {
        confirmed = steps.map((step) => `${step.entry.version}:${step.source}:${step.reason}`);
      }),
    );
    expect(confirmed).toEqual(["003:stored:file-changed"]);
    expect(await tablesOf(db.sql)).toEqual(["a", "b", "schema_migrations"]);
    expect(await rowsOf()).toEqual(["001", "002"]);
  });

  test("--to a version that is neither applied nor known is refused, and nothing is rolled back (17.3)", async () => {
    await up(db.url, migrationsFrom(tracked));
    const refusal = withOptions(migrationsFrom(tracked), (options) => migrateDown(options, { kind: "to", version: "005" }, async () => {}));
    await expect(refusal).rejects.toMatchObject({ code: "USAGE" });
    expect(await rowsOf()).toEqual(["001", "002", "003"]);
  });

  const concurrently = {
    "001_t.sql": "-- migrate:up\ncreate table t (id int);\n-- migrate:down\ndrop table t;\n",
    "002_index.sql": "-- migrate:up transaction:false\ncreate index concurrently t_id on t (id);\n-- migrate:down transaction:false\ndrop index concurrently t_id;\n",
    "003_u.sql": "-- migrate:up\ncreate table u (id int);\n-- migrate:down\ndrop table u;\n",
  };
  const indexExists = async () => (await db.sql`select to_regclass('t_id') is not null as present`)[0]?.present as boolean;

  test("-- migrate:down transaction:false runs DROP INDEX CONCURRENTLY outside a transaction, then removes the row (17.15)", async () => {
    const migrations = migrationsFrom(concurrently);
    await up(db.url, migrations);
    expect(await indexExists()).toBe(true);
    const result = await withOptions(migrations, (options) => migrateDown(options, { kind: "steps", steps: 2 }, async () => {}));
    expect(result.reverted.map((entry) => entry.version)).toEqual(["003", "002"]);
    expect(await indexExists()).toBe(false);
    expect(await rowsOf()).toEqual(["001"]);
  });

  test("a transaction:false down part behind a transaction-mode lock is refused before anything is undone (17.15)", async () => {
    const migrations = migrationsFrom(concurrently);
    await up(db.url, migrations);
    const refusal = withOptionsOn(db.url, migrations, (options) => migrateDown(options, { kind: "steps", steps: 2 }, async () => {}), { lockMode: "transaction" });
    await expect(refusal).rejects.toMatchObject({ code: "LOCK_MODE_UNSUPPORTED" });
    expect(await rowsOf()).toEqual(["001", "002", "003"]);
    expect(await tablesOf(db.sql)).toContain("u");
  });

  for (const lockMode of ["transaction", "session"] as const) {
    test(`two concurrent down --steps 1 (${lockMode} lock mode) undo the newest migration once (12.3)`, async () => {
      const migrations = migrationsFrom({
        "001_log.sql": "-- migrate:up\ncreate table down_log (version text);\n-- migrate:down\ndrop table down_log;\n",
        "002_b.sql": "-- migrate:up\ncreate table b (id int);\n-- migrate:down\ndrop table if exists b;\ninsert into down_log values ('002');\n",
      });
      await up(db.url, migrations);
      // Both have planned and confirmed before either goes on, as two operators would.
      let arrived = 0;
      let release = (): void => {};
      const bothConfirmed = new Promise<void>((resolve) => (release = resolve));
      const confirm = async () => {
        if (++arrived === 2) release();
        // Bounded: a runner that asks while holding the session lock would wait here for the other forever.
        await Promise.race([bothConfirmed, Bun.sleep(5000)]);
      };
      const runs = await Promise.allSettled(
        [0, 1].map(() => withOptionsOn(db.url, migrations, (options) => migrateDown(options, { kind: "steps", steps: 1 }, confirm), { lockMode })),
      );
      const [log] = await db.sql`select count(*)::int as n from down_log`;
      expect(log?.n).toBe(1);
      expect(await rowsOf()).toEqual(["001"]);
      const reverted = runs.flatMap((run) => (run.status === "fulfilled" ? run.value.reverted.map((entry) => entry.version) : []));
      expect(reverted).toEqual(["002"]);
      // The other run either saw the row gone in its step (skipped) or a plan other than the one confirmed (refused).
      for (const run of runs) {
        if (run.status === "rejected") expect(run.reason).toMatchObject({ code: "CONFIRMATION_REQUIRED" });
      }
    });
  }

  test("a row another runner rolled back while this one waited for the transaction-level lock is skipped, its down SQL not run (12.3)", async () => {
    const migrations = migrationsFrom(tracked);
    await up(db.url, migrations);
    const log = recordingLogger();
    let waiting: Promise<unknown> = Promise.resolve();
    await db.sql.begin(async (tx) => {
      await tx.unsafe(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      waiting = withOptionsOn(db.url, migrations, (options) => migrateDown(options, { kind: "steps", steps: 1 }, async () => {}), { lockMode: "transaction", log });
      for (let tries = 0; ; tries++) {
        const [row] = await db.sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`;
        if ((row?.n ?? 0) > 0) break;
        if (tries > 200) throw new Error("the second runner never waited for the lock");
        await Bun.sleep(25);
      }
      await tx`delete from schema_migrations where version = '003'`;
    });
    const result = (await waiting) as Awaited<ReturnType<typeof migrateDown>>;
    expect(result.reverted).toEqual([]);
    expect(log.lines.map((line) => line.message)).toContain("003_c was rolled back by another runner meanwhile; skipped");
    expect(await tablesOf(db.sql)).toContain("c");
  });

  test("names read from the database reach down's log lines escaped (12.30)", async () => {
    await up(db.url, migrationsFrom(tracked));
    await db.sql`insert into schema_migrations (version, name, down_sql) values ('009', ${"evil\n\u001b[2Jforged"}, 'select 1')`;
    const log = recordingLogger();
    await withOptionsOn(db.url, migrationsFrom(tracked), (options) => migrateDown(options, { kind: "steps", steps: 1 }, async () => {}), { log });
    const line = log.lines.find((entry) => entry.message.startsWith("rolled back 009_"))?.message ?? "";
    expect(line).toStartWith("rolled back 009_evil\\n\\x1b[2Jforged in ");
  });

  test("confirmation is asked before the migration lock is taken; a plan that changed meanwhile is refused, nothing undone (12.11)", async () => {
    const migrations = migrationsFrom(tracked);
    await up(db.url, migrations);
    const newer = migrationsFrom({ ...tracked, "004_d.sql": "-- migrate:up\ncreate table d (id int);\n-- migrate:down\ndrop table d;\n" });
    let locksWhileAsking = -1;
    const refusal = withOptions(migrations, (options) =>
      migrateDown(options, { kind: "steps", steps: 1 }, async () => {
        const [row] = await db.sql`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
        locksWhileAsking = row?.n ?? -1;
        if (locksWhileAsking !== 0) throw new Error("the migration lock is held while asking");
        // A deploy while the operator reads the prompt goes through.
        await up(db.url, newer, { lockWaitMs: 2000 });
      }),
    );
    await expect(refusal).rejects.toMatchObject({ code: "CONFIRMATION_REQUIRED", message: expect.stringContaining("changed after it was confirmed") });
    expect(locksWhileAsking).toBe(0);
    expect(await rowsOf()).toEqual(["001", "002", "003", "004"]);
    expect(await tablesOf(db.sql)).toEqual(["a", "b", "c", "d", "schema_migrations"]);
  });
});

describe("verify, baseline and repair", () => {
  test("verify reports changed, unknown, pending and missing tables, each as a finding", async () => {
    await up(db.url, migrationsFrom({ "001_a.sql": "create table a (id int);", "002_b.sql": "create table b (id int);", "009_z.sql": "create table z (id int);" }));
    await db.sql`drop table b`;
    const build = migrationsFrom({
      "001_a.sql": "create table a (id bigint);",
      "002_b.sql": "create table b (id int);",
      "003_c.sql": "create table c (id int);",
    });
    const { findings } = await withOptions(build, (options) => verifyDatabase(options));
    expect(findings.map((finding) => `${finding.kind}:${finding.subject}`).sort()).toEqual(
      ["changed:001", "missing-table:b", "missing-table:c", "pending:003", "unknown:009"].sort(),
    );
  });

  test("baseline marks a hand-made schema as applied without running it, keeps a history entry, and refuses past existing rows", async () => {
    const seed = await seedMigrations();
    for (const migration of seed) await db.sql.unsafe(migration.up); // production was patched by hand
    const marked = await withOptions(seed, (options) => baselineTo(options, "016"));
    expect(marked.map((migration) => migration.version)).toEqual(["000", "001", "011", "012", "013", "014", "015", "016"]);
    const rows = await db.sql<{ version: string; duration_ms: number | null; history: { action: string; by: string }[] }[]>`
      select version, duration_ms, history from schema_migrations order by version`;
    expect(rows).toHaveLength(8);
    expect(rows.every((row) => row.duration_ms === null && row.history[0]?.action === "baseline" && row.history[0]?.by === "postgres")).toBe(true);
    expect((await up(db.url, seed)).applied).toEqual([]);
    await expect(withOptions(seed, (options) => baselineTo(options, "013"))).rejects.toMatchObject({ code: "BASELINE_REFUSED" });
  });

  test("repair accepts an edited file, keeping the old checksum, who and when", async () => {
    const original = migrationsFrom({ "001_a.sql": "create table a (id int);" });
    await up(db.url, original);
    const edited = migrationsFrom({ "001_a.sql": "-- the users' table: comment added later\ncreate table a (id int);" });
    await expect(up(db.url, edited)).rejects.toMatchObject({ code: "CHECKSUM_MISMATCH" });
    const result = await withOptions(edited, (options) => repairChecksum(options, "1"));
    expect(result).toEqual({ from: original[0]!.checksum, to: edited[0]!.checksum });
    expect((await up(db.url, edited)).applied).toEqual([]);
    const [row] = await db.sql<{ checksum: string; history: { action: string; from_checksum: string; to_checksum: string; by: string; at: string }[] }[]>`
      select checksum, history from schema_migrations`;
    expect(row?.checksum).toBe(edited[0]!.checksum);
    expect(row?.history).toHaveLength(1);
    expect(row?.history[0]).toMatchObject({ action: "repair", from_checksum: original[0]!.checksum, to_checksum: edited[0]!.checksum, by: "postgres" });
    expect(Number.isNaN(Date.parse(row!.history[0]!.at))).toBe(false);
    await expect(withOptions(edited, (options) => repairChecksum(options, "7"))).rejects.toMatchObject({ code: "REPAIR_REFUSED" });
  });
});

describe("non-transactional migrations", () => {
  test("CREATE INDEX CONCURRENTLY succeeds while another runner waits for the migration lock", async () => {
    await up(db.url, migrationsFrom({ "001_t.sql": "create table t (id int); insert into t select generate_series(1, 20000);" }));
    const migrations = migrationsFrom({
      "001_t.sql": "create table t (id int); insert into t select generate_series(1, 20000);",
      "002_slow.sql": "-- migrate:up transaction:false\nselect pg_sleep(1);\ncreate index concurrently if not exists t_id on t (id);\n-- migrate:down\ndrop index t_id;\n",
    });
    const started = Date.now();
    const first = up(db.url, migrations);
    await Bun.sleep(300);
    const second = up(db.url, migrations);
    const [a, b] = await Promise.all([first, second]);
    expect([...a.applied, ...b.applied].map((migration) => migration.version)).toEqual(["002"]);
    expect(Date.now() - started).toBeLessThan(15_000);
    const [index] = await db.sql`select indisvalid from pg_index where indexrelid = 't_id'::regclass`;
    expect(index?.indisvalid).toBe(true);
  });

  test("a failed CREATE UNIQUE INDEX CONCURRENTLY is reported with the INVALID index it left and how to remove it", async () => {
    await up(db.url, migrationsFrom({ "001_t.sql": "create table t (id int); insert into t values (1), (1);" }));
    const migrations = migrationsFrom({
      "001_t.sql": "create table t (id int); insert into t values (1), (1);",
      "002_unique.sql": "-- migrate:up transaction:false\ncreate unique index concurrently t_id_unique on t (id);\n-- migrate:down\ndrop index t_id_unique;\n",
    });
    const failure = await up(db.url, migrations).catch((error: unknown) => error as MigrateError);
    expect(failure).toBeInstanceOf(MigrateError);
    const error = failure as MigrateError;
    expect(error.message).toContain("SQLSTATE 23505");
    expect(error.message).toContain("outside a transaction (transaction:false)");
    expect(error.details.join("\n")).toContain("index t_id_unique is INVALID");
    expect(error.details.join("\n")).toContain("DROP INDEX CONCURRENTLY IF EXISTS t_id_unique;");
    const rows = await db.sql`select version from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(["001"]);
  });

  test("the migration lock is not held by a waiter's snapshot (waiters poll)", async () => {
    // Sanity check on the mechanism the CONCURRENTLY test relies on: a waiter never blocks inside pg_advisory_lock.
    const sql = runnerClient(db.url);
    try {
      const [row] = await sql`select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}::bigint) as locked`;
      expect(row?.locked).toBe(true);
    } finally {
      await sql.end();
    }
  });
});
