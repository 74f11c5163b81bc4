/**
 * The bench's check that a measured build still verifies checksums
 * (bench/lib/checksum-guard.ts): it passes the real binary, fails a build
 * that skips the check, and leaves the file and the tracking row as they were.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkChecksums } from "../../bench/lib/checksum-guard.ts";
import { BINARY } from "../support/cli.ts";
import { type TestDatabase, createTestDatabase } from "../support/database.ts";

let db: TestDatabase;
let scratch: string;
let dir: string;
const env = (url: string) => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", DATABASE_URL: url, NO_COLOR: "1" });

beforeAll(async () => {
  db = await createTestDatabase("guard");
  scratch = mkdtempSync(join(tmpdir(), "st44-guard-"));
  dir = join(scratch, "migrations");
  mkdirSync(dir);
  for (const n of [1, 2, 3]) writeFileSync(join(dir, `000${n}_t_${n}.sql`), `-- migrate:up\ncreate table t_${n} (id int);\n\n-- migrate:down\ndrop table t_${n};\n`);
  const applied = Bun.spawnSync([BINARY, "up", "--dir", dir], { env: env(db.url), stdout: "pipe", stderr: "pipe" });
  expect(applied.exitCode).toBe(0);
});

afterAll(async () => {
  await db.drop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("checkChecksums", () => {
  test("the real binary refuses an edited file (--dir), and the file is put back", async () => {
    const before = readFileSync(join(dir, "0003_t_3.sql"), "utf8");
    const [rowBefore] = await db.sql.unsafe<{ checksum: string }[]>("select checksum::text as checksum from schema_migrations where version = '0003'");
    const results = await checkChecksums([{ label: "dir", binary: BINARY, url: db.url, dir }], env, scratch);
    expect(results.map((result) => [result.command, result.ok, result.seen])).toEqual([
      ["up", true, "exit 4, CHECKSUM_MISMATCH"],
      ["status --json", true, 'exit 0, changed: ["0003"]'],
    ]);
    expect(readFileSync(join(dir, "0003_t_3.sql"), "utf8")).toBe(before);
    const [rowAfter] = await db.sql.unsafe<{ checksum: string }[]>("select checksum::text as checksum from schema_migrations where version = '0003'");
    expect(rowAfter?.checksum).toBe(rowBefore?.checksum ?? "missing");
  });

  test("the embedded seed set: a changed tracking row is refused, and the row is put back", async () => {
    const seeded = await createTestDatabase("guard_seed");
    try {
      expect(Bun.spawnSync([BINARY, "up"], { env: env(seeded.url), stdout: "pipe", stderr: "pipe" }).exitCode).toBe(0);
      const rows = async () => seeded.sql.unsafe<{ version: string; checksum: string }[]>("select version::text as version, checksum::text as checksum from schema_migrations order by version");
      const before = await rows();
      const results = await checkChecksums([{ label: "seed", binary: BINARY, url: seeded.url, dir: null }], env, scratch);
      expect(results.map((result) => [result.command, result.ok])).toEqual([
        ["up", true],
        ["status --json", true],
      ]);
      expect(results[0]?.change).toBe(`tracking row ${before.at(-1)?.version}: another checksum`);
      expect(await rows()).toEqual(before);
    } finally {
      await seeded.drop();
    }
  });

  test("a build that does not verify (exits 0, reports nothing changed) fails both checks", async () => {
    const lazy = join(scratch, "lazy-build");
    writeFileSync(lazy, `#!/bin/sh\n[ "$1" = status ] && echo '{"changed":[]}'\nexit 0\n`);
    chmodSync(lazy, 0o755);
    const results = await checkChecksums([{ label: "lazy", binary: lazy, url: db.url, dir }], env, scratch);
    expect(results.map((result) => [result.command, result.ok, result.seen])).toEqual([
      ["up", false, "exit 0"],
      ["status --json", false, "exit 0, changed: []"],
    ]);
  });
});
