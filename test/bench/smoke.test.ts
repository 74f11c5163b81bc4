/**
 * The benchmark (bench/run.ts, `bun run bench`) is not part of the test
 * suite; this only checks that it starts and measures: one run of W2 (no-op
 * up) for st44-migrate and the Bun floor, against the suite's server, with
 * nothing written, and that its checksum check ran on the measured build.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

test("bun bench/run.ts --smoke prints the W2 table with a ratio to the floor", () => {
  const url = process.env.TEST_DATABASE_URL;
  const result = Bun.spawnSync([process.execPath, "bench/run.ts", "--smoke", ...(url ? ["--url", url] : [])], {
    cwd: root,
    env: process.env,
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
  });
  const stdout = result.stdout.toString();
  const stderr = result.stderr.toString();
  expect({ exitCode: result.exitCode, stderr: result.exitCode === 0 ? "" : stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(stdout).toContain("### W2: no-op `up`");
  const row = stdout.split("\n").find((line) => line.startsWith("| **st44-migrate** |"));
  expect(row).toBeDefined();
  // | tool | runs | median | min | max | RSS | × floor | × dbmate |
  const cells = (row ?? "").split("|").map((cell) => cell.trim());
  expect(cells[2]).toBe("1");
  expect(Number(cells[3])).toBeGreaterThan(0);
  expect(cells[7]).toMatch(/^\d+\.\d\d×$/);
  // After the round the build is shown a changed tracking row: `up` must refuse it and `status --json` list it.
  const guards = stdout
    .split("\n")
    .filter((line) => line.startsWith("| st44-migrate, the seed set embedded |"))
    .map((line) => line.split("|").map((cell) => cell.trim()));
  expect(guards.map((guard) => [guard[3], guard[5]])).toEqual([
    ["`up`", "yes"],
    ["`status --json`", "yes"],
  ]);
  expect(stdout).toMatch(/\| checksums still verified: .* \| 2 of 2 checks \| yes \|/);
  expect(stderr).toContain("docs/benchmarks.md not written");
}, 60_000);
