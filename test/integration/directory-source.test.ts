/** directorySource against a real file system: links, encodings and sizes as an operator's volume has them. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MigrateError } from "../../src/core/errors.ts";
import { directorySource } from "../../src/source/directory.ts";

const UP = "-- migrate:up\ncreate table t (id int);\n-- migrate:down\ndrop table t;\n";

/** Kubernetes' ConfigMap volume layout: files in a timestamped directory, `..data` links to it, each key links through `..data`. */
function configMapDirectory(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), "st44-configmap-"));
  const stamped = "..2026_12_01_10_00_00.123456789";
  mkdirSync(join(dir, stamped));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, stamped, name), content);
  symlinkSync(stamped, join(dir, "..data"));
  for (const name of Object.keys(files)) symlinkSync(join("..data", name), join(dir, name));
  return dir;
}

async function loadError(dir: string): Promise<MigrateError> {
  try {
    await directorySource(dir).load();
  } catch (error) {
    expect(error).toBeInstanceOf(MigrateError);
    return error as MigrateError;
  }
  throw new Error("load() did not fail");
}

describe("directorySource", () => {
  test("follows symbolic links to regular files (a ConfigMap volume), ignoring the ..data entries", async () => {
    const dir = configMapDirectory({ "001_a.sql": UP, "002_b.sql": "-- migrate:up\nselect 2;\n" });
    const files = await directorySource(dir).load();
    expect(files.map((file) => file.fileName)).toEqual(["001_a.sql", "002_b.sql"]);
    expect(files[0]?.text).toBe(UP);
  });

  test("a file is read to its end, not to the size fstat gave (/proc states 0): never applied as a prefix (attack on issue 14)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-proc-"));
    symlinkSync("/proc/version", join(dir, "001_proc.sql"));
    writeFileSync(join(dir, "002_big.sql"), `-- migrate:up\n${"select 1;\n".repeat(20_000)}`);
    const files = await directorySource(dir).load();
    expect(files[0]?.text.length).toBeGreaterThan(20);
    expect(files[0]?.text).toContain("Linux");
    expect(files[1]?.text.length).toBe(14 + 10 * 20_000);
  });

  test("a link that leads nowhere => SOURCE_UNREADABLE naming the link and its target", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-dangling-"));
    writeFileSync(join(dir, "001_a.sql"), UP);
    symlinkSync("..data/002_gone.sql", join(dir, "002_gone.sql"));
    const error = await loadError(dir);
    expect(error.code).toBe("SOURCE_UNREADABLE");
    expect(error.message).toContain(`${join(dir, "002_gone.sql")} is a symbolic link that leads nowhere (a link to ..data/002_gone.sql) (ENOENT)`);
    expect(error.exitCode).toBe(2);
  });

  test("a link to a directory => SOURCE_UNREADABLE saying it is not a regular file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-linkdir-"));
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync("elsewhere", join(dir, "001_a.sql"));
    const error = await loadError(dir);
    expect(error.code).toBe("SOURCE_UNREADABLE");
    expect(error.message).toContain("leads to a directory that is not a regular file (a link to elsewhere)");
  });

  test("a file that is not UTF-8 => PARSE_NOT_UTF8 with the byte offset", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-latin1-"));
    writeFileSync(join(dir, "001_a.sql"), new Uint8Array([...new TextEncoder().encode("-- migrate:up\nselect 'caf"), 0xe9, 0x27, 0x3b, 0x0a]));
    const error = await loadError(dir);
    expect(error.code).toBe("PARSE_NOT_UTF8");
    expect(error.message).toContain("001_a.sql is not valid UTF-8: byte offset 25 (line 2) is 0xE9");
  });

  test("a file above 32 MiB => MIGRATION_FILE_TOO_LARGE (a sparse file: refused by its size, without being read)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-big-"));
    writeFileSync(join(dir, "001_big.sql"), "");
    truncateSync(join(dir, "001_big.sql"), 200 * 1024 * 1024);
    const error = await loadError(dir);
    expect(error.code).toBe("MIGRATION_FILE_TOO_LARGE");
    expect(error.message).toContain("001_big.sql is 200.0 MiB");
  });
});

describe("reading a large folder (issue 14)", () => {
  test("250 files load whole and in order, and the event loop gets turns meanwhile (the connection goes on while files are read)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "st44-turns-"));
    for (let n = 1; n <= 250; n++) writeFileSync(join(dir, `${String(n).padStart(4, "0")}_t_${n}.sql`), `create table t_${n} (id int);\n`);
    let turns = 0;
    let loading = true;
    const count = () => {
      if (!loading) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    const files = await directorySource(dir).load();
    loading = false;
    expect(files.map((file) => file.fileName)).toEqual(Array.from({ length: 250 }, (_, index) => `${String(index + 1).padStart(4, "0")}_t_${index + 1}.sql`));
    expect(files[249]?.text).toBe("create table t_250 (id int);\n");
    // One turn every hundred files: two while these load (before, the loop waited for the last file).
    expect(turns).toBeGreaterThanOrEqual(2);
  });
});
