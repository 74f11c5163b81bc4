import { createHash } from "node:crypto";
import { describe, expect, test } from "bun:test";
import { MigrateError } from "../../src/core/errors.ts";
import { buildMigrationSet, toMigration } from "../../src/core/migration-set.ts";
import { expectMigrateError } from "./helpers.ts";

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

describe("toMigration", () => {
  test("fills in version, key, name, text, checksum and the parsed parts", () => {
    const text = "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n";
    const migration = toMigration({ fileName: "046_create_a.sql", text });
    expect(migration).toEqual({
      version: "046",
      key: "46",
      name: "create_a",
      fileName: "046_create_a.sql",
      text,
      checksum: sha256(text),
      up: "create table a (id int);\n",
      upOffset: 14,
      down: "drop table a;\n",
      options: { transaction: true, formerly: [] },
      downOptions: { transaction: true },
    });
  });

  test("text is normalised (BOM and CRLF gone) and upOffset refers to the normalised text", () => {
    const raw = "\uFEFF-- migrate:up\r\nselect 1;\r\n";
    const migration = toMigration({ fileName: "001_a.sql", text: raw });
    expect(migration.text).toBe("-- migrate:up\nselect 1;\n");
    expect(migration.up).toBe("select 1;\n");
    expect(migration.text.slice(migration.upOffset)).toBe("select 1;\n");
  });
});

describe("buildMigrationSet", () => {
  test("an empty set is fine", () => {
    expect(buildMigrationSet([])).toEqual([]);
  });

  test("sorts numerically, not lexically", () => {
    const set = buildMigrationSet([
      { fileName: "10_b.sql", text: "select 10;" },
      { fileName: "2_a.sql", text: "select 2;" },
      { fileName: "011_c.sql", text: "select 11;" },
      { fileName: "1_z.sql", text: "select 1;" },
    ]);
    expect(set.map((migration) => migration.fileName)).toEqual(["1_z.sql", "2_a.sql", "10_b.sql", "011_c.sql"]);
  });

  test("zero-padded versions keep their spelling but get the numeric key", () => {
    const [migration] = buildMigrationSet([{ fileName: "046_x.sql", text: "select 1;" }]);
    expect(migration?.version).toBe("046");
    expect(migration?.key).toBe("46");
  });

  test("versions with gaps are accepted as they are", () => {
    const names = ["000_a.sql", "001_b.sql", "011_c.sql", "012_d.sql", "016_e.sql"];
    const set = buildMigrationSet(names.map((fileName) => ({ fileName, text: "select 1;" })).reverse());
    expect(set.map((migration) => migration.fileName)).toEqual(names);
    expect(set.map((migration) => migration.key)).toEqual(["0", "1", "11", "12", "16"]);
  });

  test("duplicate versions 046_a.sql and 46_b.sql => DUPLICATE_VERSION naming both files", () => {
    const error = expectMigrateError(
      () =>
        buildMigrationSet([
          { fileName: "46_b.sql", text: "select 2;" },
          { fileName: "046_a.sql", text: "select 1;" },
          { fileName: "047_c.sql", text: "select 3;" },
        ]),
      "DUPLICATE_VERSION",
    );
    expect(error.message).toContain("046_a.sql");
    expect(error.message).toContain("46_b.sql");
    expect(error.message).toContain("(46)");
    expect(error.exitCode).toBe(4);
  });

  test("several problems at once are all reported, each in details", () => {
    let caught: unknown;
    try {
      buildMigrationSet([
        { fileName: "001_ok.sql", text: "select 1;" },
        { fileName: "bad name.sql", text: "select 1;" },
        { fileName: "002_down_first.sql", text: "-- migrate:down\nselect 1;\n-- migrate:up\nselect 2;\n" },
        { fileName: "003_opt.sql", text: "-- migrate:up foo:bar\nselect 1;\n" },
        { fileName: "004_a.sql", text: "select 1;" },
        { fileName: "4_b.sql", text: "select 1;" },
      ]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MigrateError);
    const error = caught as MigrateError;
    expect(error.message).toContain("4 problems");
    expect(error.details).toHaveLength(4);
    // The first problem (in file order) gives the code.
    expect(error.code).toBe("FILE_NAME_INVALID");
    const details = error.details.join("\n");
    expect(details).toContain('"bad name.sql"');
    expect(details).toContain("002_down_first.sql");
    expect(details).toContain("foo:bar");
    expect(details).toContain("004_a.sql and 4_b.sql");
    for (const line of error.details) expect(line.startsWith("- ")).toBe(true);
    expect(details).not.toContain("001_ok.sql");
  });

  test("a single problem is thrown as it is, with no details", () => {
    const error = expectMigrateError(
      () => buildMigrationSet([{ fileName: "001_a.sql", text: "select 1;" }, { fileName: "x.sql", text: "" }]),
      "FILE_NAME_INVALID",
    );
    expect(error.details).toEqual([]);
    expect(error.message).toContain('"x.sql"');
  });

  test("three files with one version report each adjacent pair", () => {
    let caught: unknown;
    try {
      buildMigrationSet([
        { fileName: "5_a.sql", text: "" },
        { fileName: "05_b.sql", text: "" },
        { fileName: "005_c.sql", text: "" },
      ]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MigrateError);
    const error = caught as MigrateError;
    expect(error.code).toBe("DUPLICATE_VERSION");
    expect(error.details).toHaveLength(2);
  });

  test("a precomputed checksum is kept as it is", () => {
    const [migration] = buildMigrationSet([{ fileName: "001_a.sql", text: "select 1;\n", checksum: "precomputed" }]);
    expect(migration?.checksum).toBe("precomputed");
  });

  test("without a precomputed checksum, the SHA-256 of the normalised text is used", () => {
    const [migration] = buildMigrationSet([{ fileName: "001_a.sql", text: "select 1;\n" }]);
    expect(migration?.checksum).toBe(sha256("select 1;\n"));
  });

  test("a CRLF (and BOM) version of a file has the same checksum as the LF one", () => {
    const lf = "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n";
    const crlf = `\uFEFF${lf.replace(/\n/g, "\r\n")}`;
    const [fromLf] = buildMigrationSet([{ fileName: "001_a.sql", text: lf }]);
    const [fromCrlf] = buildMigrationSet([{ fileName: "001_a.sql", text: crlf }]);
    expect(fromCrlf?.checksum).toBe(fromLf?.checksum ?? "missing");
    expect(fromCrlf?.text).toBe(lf);
    expect(fromCrlf?.up).toBe(fromLf?.up ?? "missing");
    expect(fromCrlf?.upOffset).toBe(fromLf?.upOffset ?? -1);
  });

  test("a content change changes the checksum", () => {
    const [a] = buildMigrationSet([{ fileName: "001_a.sql", text: "select 1;\n" }]);
    const [b] = buildMigrationSet([{ fileName: "001_a.sql", text: "select 2;\n" }]);
    expect(a?.checksum).not.toBe(b?.checksum ?? "");
  });
});

describe("formerly: conflicts", () => {
  test("a former identity that another file has now, or that two files claim, is refused when the set is built", () => {
    const taken = () =>
      buildMigrationSet([
        { fileName: "040_user_names.sql", text: "select 1;" },
        { fileName: "041_single_task.sql", text: "-- migrate:up formerly:040_user_names\nselect 1;\n" },
      ]);
    expect(taken).toThrow(/041_single_task.sql says it was formerly 040_user_names, but 040_user_names.sql is that migration now/);
    const twice = () =>
      buildMigrationSet([
        { fileName: "041_a.sql", text: "-- migrate:up formerly:040_old\nselect 1;\n" },
        { fileName: "042_b.sql", text: "-- migrate:up formerly:040_old\nselect 1;\n" },
      ]);
    expect(twice).toThrow(/both say they were formerly 040_old/);
  });
});
