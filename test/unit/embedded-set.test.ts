import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { candidateTablesOf, expectedTables, scanTableFacts, tableFactsOf, tablesCreatedBy, tablesTouchedBy } from "../../src/core/expected-tables.ts";
import { type Migration, type MigrationFile, buildMigrationSet } from "../../src/core/migration-set.ts";
import { directorySource } from "../../src/source/directory.ts";
import { embeddedSource } from "../../src/source/embedded.ts";
import { embeddedMigrations } from "../../src/source/embedded-migrations.gen.ts";
import { embeddedFrom } from "../support/embedded-module.ts";

/** Files that exercise every field of an embedded row: options on both markers, formerly:, no markers, no down, CRLF and BOM, table effects of each kind. */
const FILES: MigrationFile[] = [
  { fileName: "001_plain.sql", text: "create table plain (id int);\n" },
  { fileName: "002_users.sql", text: "\uFEFF-- note\r\n-- migrate:up\r\ncreate table Users (id int);\r\ncomment on column users.id is 'x';\r\n-- migrate:down\r\ndrop table users;\r\n" },
  {
    fileName: "003_concurrent.sql",
    text: "-- migrate:up transaction:false\ncreate index concurrently i_users on users (id);\n-- migrate:down transaction:false\ndrop index concurrently i_users;\n",
  },
  { fileName: "010_renamed.sql", text: "-- migrate:up formerly:004_old_name,005_older\nalter table plain rename to kept;\ncreate table app.t1 (id int);\nalter table app.t1 rename to t2;\n" },
  { fileName: "011_drops.sql", text: '-- migrate:up\ncreate table "Mixed" (id int); create table gone (id int);\ndrop table if exists gone, nothing;\nselect \'create table quoted (x int)\';\n' },
  { fileName: "012_search_path.sql", text: "-- migrate:up\nset search_path = other;\ncreate table hidden (id int);\ncreate table app.shown (id int);\n-- migrate:down\n" },
  { fileName: "013_unicode.sql", text: "-- migrate:up\ncomment on table kept is 'line\u2028separator \u00e9 \ud83d\ude00';\n-- migrate:down\nselect 1;" },
  { fileName: "14_trigger.sql", text: "-- migrate:up\ncreate trigger t before insert on kept for each row execute function f();\n" },
  { fileName: "015_allowed.sql", text: "-- migrate:up allow:table-rewrite\n-- the table is empty in every environment\nalter table kept alter column id type bigint;\n" },
];

/** Every field of a Migration, read through its getters (the embedded parts are cut from the text when read). */
const fields = (migrations: readonly Migration[]) =>
  migrations.map(({ version, key, name, fileName, text, checksum, up, upOffset, down, options, downOptions }) => ({ version, key, name, fileName, text, checksum, up, upOffset, down, options, downOptions }));

describe("the embedded module (computed at build time)", () => {
  test("gives exactly the migrations that parsing the files at run time gives, with the same table facts", async () => {
    const embedded = await embeddedFrom(FILES);
    const parsed = buildMigrationSet(FILES);
    expect(embedded.length).toBe(FILES.length);
    expect(fields(embedded)).toEqual(fields(parsed));
    expect(fields(embedded)[3]?.options.formerly).toEqual([{ version: "004", name: "old_name" }, { version: "005", name: "older" }]);
    for (const [index, migration] of embedded.entries()) {
      const fresh = parsed[index] as Migration;
      expect(tableFactsOf(migration)).toEqual(scanTableFacts(fresh.up));
      expect(tablesTouchedBy(migration)).toEqual(tablesTouchedBy(fresh));
    }
    expect(expectedTables(embedded)).toEqual(expectedTables(parsed));
    // A part of the set (ST44_EMBEDDED_UNTIL, the applied ones) folds the per-migration facts instead of the whole set's.
    expect(expectedTables(embedded.slice(0, 4))).toEqual(expectedTables(parsed.slice(0, 4)));
    expect([...tablesCreatedBy(embedded)].map(([table, by]) => [table, by.fileName])).toEqual([...tablesCreatedBy(parsed)].map(([table, by]) => [table, by.fileName]));
    // The facts are the build's: the run-time set is taken as it is, not parsed again.
    const set = buildMigrationSet(embedded);
    expect(set.every((migration, index) => migration === embedded[index])).toBe(true);
  });

  test("the committed module holds what parsing migrations/ gives", async () => {
    const parsed = buildMigrationSet(await directorySource(join(import.meta.dir, "../../migrations")).load());
    expect(fields(embeddedMigrations)).toEqual(fields(parsed));
    for (const [index, migration] of embeddedMigrations.entries()) expect(tableFactsOf(migration)).toEqual(scanTableFacts((parsed[index] as Migration).up));
  });

  test("ST44_EMBEDDED_UNTIL trims the validated set by version", async () => {
    const all = await embeddedSource().load();
    const until = (all[2] as Migration).version;
    const trimmed = buildMigrationSet(await embeddedSource(until).load());
    expect(trimmed.map((migration) => migration.fileName)).toEqual(all.slice(0, 3).map((file) => file.fileName));
  });
});

describe("the exported embedded set stays what the build checked (attack on issue 14)", () => {
  test("a push, an in-place sort or a replaced element is checked again, not taken as the build's", async () => {
    const embedded = (await embeddedFrom(FILES)) as Migration[];
    const asBuilt = [...embedded];
    expect(buildMigrationSet(embedded)).toEqual(asBuilt);
    // Pushed: a second file with a version the set has is a duplicate, which only a real check sees.
    embedded.push(embedded[0] as Migration);
    expect(() => buildMigrationSet(embedded)).toThrow("have the same version");
    embedded.pop();
    // Sorted backwards in place: taken as it is, the set would apply in that order; checked again, it is in version order.
    embedded.reverse();
    expect(buildMigrationSet(embedded).map((migration) => migration.fileName)).toEqual(asBuilt.map((migration) => migration.fileName));
    // The build's facts are for its own order: a reversed array is not handed them.
    const byFile = (created: Map<string, Migration>) => [...created].map(([table, migration]) => [table, migration.fileName]);
    expect(byFile(tablesCreatedBy(embedded))).toEqual(byFile(tablesCreatedBy(buildMigrationSet(FILES).reverse())));
    embedded.reverse();
    // An element replaced by a file the build never saw: refused like any broken file.
    embedded[1] = { fileName: "002_users.sql", text: "-- migrate:down\nselect 1;\n" } as unknown as Migration;
    expect(() => buildMigrationSet(embedded)).toThrow("no \"-- migrate:up\"");
  });

  test("ST44_EMBEDDED_UNTIL cuts its part from the set as checked: an exported array changed since is checked again first", () => {
    const exported = embeddedMigrations as Migration[];
    exported.push(exported[0] as Migration);
    try {
      expect(() => embeddedSource("999999")).toThrow("have the same version");
    } finally {
      exported.pop();
    }
    expect(embeddedSource("999999").description).toBe(`embedded (${exported.length} files)`);
  });

  test("a spread copy (no text of its own) is refused with the reason, not read as a set that creates nothing", () => {
    const copies = embeddedMigrations.map((migration) => ({ ...migration }));
    expect(() => buildMigrationSet(copies as unknown as MigrationFile[])).toThrow("has no text");
    expect(() => expectedTables(copies as unknown as Migration[])).toThrow("has no SQL text");
    // The scan-free first check of a start refuses them too (attack on issue 14: it read "undefined" and passed).
    expect(() => candidateTablesOf(copies as unknown as Migration[])).toThrow("has no SQL text");
  });

  test("allow: rides along with the precomputed options", async () => {
    const embedded = await embeddedFrom(Object.fromEntries(FILES.map((file) => [file.fileName, file.text])));
    expect(embedded.find((migration) => migration.fileName === "015_allowed.sql")?.options.allow).toEqual(["table-rewrite"]);
  });
});
