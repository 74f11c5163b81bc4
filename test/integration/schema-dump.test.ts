/** `dump`'s catalog reader against real PostgreSQL: one object of each kind made by hand, and what it must leave out. */
import { describe, expect, test } from "bun:test";
import { type SchemaObject, type SchemaSnapshot, objectKey } from "../../src/core/schema/model.ts";
import { renderSnapshotText } from "../../src/core/schema/render.ts";
import { type ReadSchemaOptions, readSchema } from "../../src/db/schema/read.ts";
import { type TestDatabase, freshDatabases } from "../support/database.ts";
import { runnerClient, seedMigrations, up } from "../support/migrator.ts";

const freshDatabase = freshDatabases("schemadump");

async function dumpOf(db: TestDatabase, options: ReadSchemaOptions = {}): Promise<SchemaSnapshot> {
  const sql = runnerClient(db.url);
  try {
    return await readSchema(sql, options);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function entry(snapshot: SchemaSnapshot, key: string): SchemaObject {
  const found = snapshot.objects.find((object) => objectKey(object) === key);
  if (!found) throw new Error(`no "${key}" in the dump; it has: ${snapshot.objects.map(objectKey).join("; ")}`);
  return found;
}

const EVERY_KIND = `
  create schema app;
  create extension if not exists pg_trgm;
  create type app.mood as enum ('sad', 'ok', 'happy');
  create domain app.points as integer not null default 0 constraint points_positive check (value >= 0);
  create sequence app.ticket_numbers start 100 increment 5;
  create table app.people (
    id bigint generated always as identity primary key,
    email text not null unique,
    mood app.mood default 'ok',
    score app.points,
    nickname text collate "C",
    email_length integer generated always as (length(email)) stored,
    ticket bigint default nextval('app.ticket_numbers'),
    constraint email_has_at check (position('@' in email) > 0)
  );
  create table app.visits (
    id serial primary key,
    person_id bigint not null references app.people (id) on delete set null on update cascade
  );
  create index visits_person on app.visits (person_id) where person_id > 0;
  create view app.happy_people as select id, email from app.people where mood = 'happy';
  create materialized view app.visit_counts as select person_id, count(*) as visits from app.visits group by person_id;
  create unique index visit_counts_person on app.visit_counts (person_id);
  create function app.add_points(a integer, b integer) returns integer language sql immutable as $$ select a + b $$;
  create procedure app.reset_scores() language plpgsql as $$ begin update app.people set score = 0; end $$;
  create function app.touch() returns trigger language plpgsql as $$ begin return new; end $$;
  create trigger people_touch before update on app.people for each row execute function app.touch();
  alter table app.people enable row level security;
  create policy own_rows on app.people for select to public using (email = current_user);
  comment on table app.people is 'who visits';
`;

describe("dump reads each kind of object from pg_catalog", async () => {
  const db = await freshDatabase();
  await db.sql.unsafe(EVERY_KIND);
  const snapshot = await dumpOf(db);

  test("schemas, extensions (by name: their own objects are left out), enum values in order, domains", () => {
    expect(entry(snapshot, "schema app").properties).toEqual({});
    expect(entry(snapshot, "extension pg_trgm").properties).toEqual({});
    // pg_trgm creates functions (similarity) and types (gtrgm) in public: they belong to the extension.
    expect(snapshot.objects.filter((object) => object.name.includes("similarity") || object.name.includes("gtrgm"))).toEqual([]);
    expect(entry(snapshot, "enum app.mood").properties).toEqual({ values: ["sad", "ok", "happy"] });
    expect(entry(snapshot, "domain app.points").properties).toEqual({ checks: ["points_positive CHECK ((VALUE >= 0))"], default: "0", not_null: true, type: "integer" });
  });

  test("tables with RLS, columns with type, nullability, default, identity, generated expression and collation", () => {
    expect(entry(snapshot, "table app.people").properties).toEqual({ force_row_level_security: false, partitioned: false, row_level_security: true, unlogged: false });
    const column = (name: string) => entry(snapshot, `column app.people ${name}`).properties;
    expect(column("id")).toMatchObject({ type: "bigint", not_null: true, identity: "always", default: null });
    expect(column("mood")).toMatchObject({ type: "app.mood", not_null: false, default: "'ok'::app.mood" });
    expect(column("score")).toMatchObject({ type: "app.points" });
    expect(column("nickname")).toMatchObject({ collation: 'pg_catalog."C"' });
    expect(column("email_length")).toMatchObject({ generated: "length(email)", generated_kind: "stored", default: null });
    expect(column("ticket")).toMatchObject({ default: "nextval('app.ticket_numbers'::regclass)" });
  });

  test("constraints: primary, unique, foreign with its actions, check", () => {
    expect(entry(snapshot, "constraint app.people people_pkey").properties).toEqual({ type: "primary key", definition: "PRIMARY KEY (id)" });
    expect(entry(snapshot, "constraint app.people people_email_key").properties).toEqual({ type: "unique", definition: "UNIQUE (email)" });
    expect(entry(snapshot, "constraint app.people email_has_at").properties).toEqual({ type: "check", definition: "CHECK ((POSITION(('@'::text) IN (email)) > 0))" });
    expect(entry(snapshot, "constraint app.visits visits_person_id_fkey").properties).toEqual({
      type: "foreign key",
      definition: "FOREIGN KEY (person_id) REFERENCES app.people(id) ON UPDATE CASCADE ON DELETE SET NULL",
    });
  });

  test("indexes without their name and table (the key says them), with validity; also on a materialized view", () => {
    expect(entry(snapshot, "index app.visits visits_person").properties).toEqual({ definition: "btree (person_id) WHERE (person_id > 0)", valid: true });
    expect(entry(snapshot, "index app.visit_counts visit_counts_person").properties).toEqual({ definition: "UNIQUE btree (person_id)", valid: true });
  });

  test("sequences: a standalone one with its settings, a serial one with its owner; an identity column's is the column's", () => {
    expect(entry(snapshot, "sequence app.ticket_numbers").properties).toEqual({ cache: "1", cycle: false, increment: "5", max: "9223372036854775807", min: "1", owned_by: null, start: "100", type: "bigint" });
    expect(entry(snapshot, "sequence app.visits_id_seq").properties).toMatchObject({ owned_by: "app.visits.id", type: "integer" });
    expect(snapshot.objects.filter((object) => object.name === "app.people_id_seq")).toEqual([]);
  });

  test("views and materialized views by definition, on one line, in the same words on every major", () => {
    // PostgreSQL 14 and 15 print a one-table view's columns qualified with the table (people.id), 16 and later do not: dump writes the later form.
    expect(entry(snapshot, "view app.happy_people").properties).toEqual({
      definition: "SELECT id, email FROM app.people WHERE mood = 'happy'::app.mood",
    });
    expect(entry(snapshot, "materialized view app.visit_counts").properties.definition).toBe("SELECT person_id, count(*) AS visits FROM app.visits GROUP BY person_id");
  });

  test("functions and procedures by signature, with a hash of the body (never the body)", () => {
    const add = entry(snapshot, "function app.add_points(a integer, b integer)").properties;
    expect(add).toMatchObject({ returns: "integer", language: "sql", volatility: "immutable", security_definer: false });
    expect(add.body_sha256).toBe(new Bun.CryptoHasher("sha256").update(" select a + b ").digest("hex"));
    expect(entry(snapshot, "procedure app.reset_scores()").properties).toMatchObject({ language: "plpgsql" });
    expect(renderSnapshotText(snapshot)).not.toContain("update app.people set score");
  });

  test("triggers and policies", () => {
    expect(entry(snapshot, "trigger app.people people_touch").properties).toEqual({
      definition: "BEFORE UPDATE ON app.people FOR EACH ROW EXECUTE FUNCTION app.touch()",
      firing: "enabled",
    });
    expect(entry(snapshot, "policy app.people own_rows").properties).toEqual({ command: "SELECT", permissive: true, roles: ["public"], using: "(email = CURRENT_USER)", with_check: null });
  });

  test("comments only when asked for", async () => {
    expect(entry(snapshot, "table app.people").properties.comment).toBeUndefined();
    expect(entry(await dumpOf(db, { comments: true }), "table app.people").properties.comment).toBe("who visits");
  });

  test("the caller's search_path changes nothing: every name is qualified", async () => {
    await db.sql.unsafe(`alter database ${db.name} set search_path = app, public`);
    try {
      expect(await dumpOf(db)).toEqual(snapshot);
    } finally {
      await db.sql.unsafe(`alter database ${db.name} reset search_path`);
    }
  });
});

describe("what the dump leaves out, and its determinism", () => {
  test("the tracking table and its index are not the application's schema", async () => {
    const db = await freshDatabase();
    await up(db.url, await seedMigrations());
    const snapshot = await dumpOf(db);
    expect(await db.sql`select 1 from schema_migrations`).not.toHaveLength(0);
    expect(snapshot.objects.map(objectKey).filter((key) => key.includes("schema_migrations"))).toEqual([]);
    expect(snapshot.objects.map(objectKey)).toContain("table public.users");
  });

  test("golang-migrate's kept table is left out too", async () => {
    const db = await freshDatabase();
    await db.sql`create table schema_migrations_golang_migrate (version bigint primary key, dirty boolean not null)`;
    expect((await dumpOf(db)).objects.map(objectKey).filter((key) => key.includes("schema_migrations"))).toEqual([]);
  });

  test("dumping twice gives the same text; two databases built from the same migrations give the same text", async () => {
    const [first, second] = [await freshDatabase(), await freshDatabase()];
    const migrations = await seedMigrations();
    await up(first.url, migrations);
    await up(second.url, migrations);
    const text = renderSnapshotText(await dumpOf(first));
    expect(renderSnapshotText(await dumpOf(first))).toBe(text);
    expect(renderSnapshotText(await dumpOf(second))).toBe(text);
  });
});

describe("what the server derives is not listed twice, and members go with what the dump lists (attack on issue 13)", async () => {
  const db = await freshDatabase();
  await db.sql.unsafe(`
    create function stamp() returns trigger language plpgsql as $$ begin return new; end $$;
    create table ev (id int, at int, primary key (id, at)) partition by range (at);
    create table ev_2020 partition of ev for values from (0) to (100);
    create table ev_2021 partition of ev for values from (100) to (200);
    create trigger ev_touch before insert on ev for each row execute function stamp();
    create table ev_ref (id int, at int, foreign key (id, at) references ev (id, at));
    create table a1 (id int constraint c1 check (id > 0));
    create foreign data wrapper dummy; create server s foreign data wrapper dummy;
    create foreign table m5 (x int constraint c1 check (x > 1)) server s;
    create function settings_both() returns int language sql set work_mem = '8MB' set search_path = public as $$ select 1 $$;
  `);
  const snapshot = await dumpOf(db);
  const keys = snapshot.objects.map(objectKey);

  test("a row trigger on a partitioned table is listed once, on it, not on each partition (PostgreSQL 14 hides the copies, 15+ does not)", () => {
    expect(keys.filter((key) => key.startsWith("trigger "))).toEqual(["trigger public.ev ev_touch"]);
  });

  test("a foreign key to a partitioned table is one constraint (not one per partition, named fkey1 up to 17 and fkey_1 on 18)", () => {
    expect(keys.filter((key) => key.startsWith("constraint public.ev_ref "))).toEqual(["constraint public.ev_ref ev_ref_id_at_fkey"]);
  });

  test("a foreign table's check is not filed under another table", () => {
    expect(entry(snapshot, "constraint public.a1 c1").properties.definition).toBe("CHECK ((id > 0))");
    expect(keys.filter((key) => key.includes("m5"))).toEqual([]);
  });

  test("a function's settings in one order whatever order they were written in", () => {
    expect(entry(snapshot, "function public.settings_both()").properties.settings).toEqual(["search_path=public", "work_mem=8MB"]);
  });
});

describe("the session's display settings do not change the dump (attack on issue 13)", async () => {
  const db = await freshDatabase();
  await db.sql.unsafe(`
    create table ev (at timestamptz default '2024-01-01 00:00:00+00', d date default '2024-03-05',
      every interval default '1 day 02:00', p text default 'a\\b', f float8 default 0.1, b bytea default '\\x01',
      check (at > '2020-01-01 00:00:00+00'));
    create index ev_recent on ev (at) where at > '2024-06-01 00:00:00+00';
  `);
  const before = renderSnapshotText(await dumpOf(db));
  const database = (await db.sql<{ name: string }[]>`select current_database() as name`)[0]?.name ?? "";
  await db.sql.unsafe(`alter database "${database}" set timezone = 'Europe/Oslo'; alter database "${database}" set datestyle = 'SQL, DMY';
    alter database "${database}" set intervalstyle = 'iso_8601'; alter database "${database}" set bytea_output = 'escape'; alter database "${database}" set extra_float_digits = 0`);

  test("timezone, datestyle, intervalstyle, bytea_output and extra_float_digits of the database: the same text", async () => {
    const after = renderSnapshotText(await dumpOf(db));
    expect(after).toBe(before);
    expect(before).toContain("'2024-01-01 00:00:00+00'::timestamp with time zone");
  });

  test("through the health check's port (one statement, no SET) too, and the caller's settings are put back", async () => {
    const sql = runnerClient(db.url);
    try {
      const snapshot = await readSchema(async (text: string) => (await sql.unsafe(text)) as unknown as Record<string, unknown>[]);
      expect(renderSnapshotText(snapshot)).toBe(before);
      await sql.begin(async (tx) => {
        await readSchema(async (text: string) => (await tx.unsafe(text)) as unknown as Record<string, unknown>[]);
        const [zone] = await tx<{ zone: string }[]>`select current_setting('TimeZone') as zone`;
        expect(zone?.zone).toBe("Europe/Oslo");
      });
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

describe("what the comparison missed (attack on issue 13): partitions, inheritance, view options, argument defaults", async () => {
  const db = await freshDatabase();
  await db.sql.unsafe(`
    create table p (id int, at int) partition by range (at);
    create table p1 partition of p for values from (0) to (100);
    create table par (id int); create table ch (x int) inherits (par);
    create table base (id int, ok boolean);
    create view v with (security_barrier = true) as select id from base where ok with local check option;
    create function bump(a integer default 1) returns integer language sql immutable as $$ select a + 1 $$;
  `);
  const snapshot = await dumpOf(db);
  const text = renderSnapshotText(snapshot);

  test("a partitioned table's key and a partition's parent and bound", () => {
    expect(text).toContain("table public.p: partitioned by RANGE (at)");
    expect(text).toContain("table public.p1: partition of public.p FOR VALUES FROM (0) TO (100)");
  });

  test("an inheriting table names its parents; a plain table's entry has no new keys", () => {
    expect(text).toContain("table public.ch: inherits public.par");
    expect(Object.keys(entry(snapshot, "table public.base").properties)).toEqual(["force_row_level_security", "partitioned", "row_level_security", "unlogged"]);
  });

  test("a view's options (check option, security barrier) and a function's argument defaults", () => {
    expect(entry(snapshot, "view public.v").properties.options).toEqual(["check_option=local", "security_barrier=true"]);
    expect(text).toContain("function public.bump(a integer): arguments (a integer DEFAULT 1), returns integer");
  });
});
