/**
 * scripts/check-release.ts, the gate of release.yml (and `npm run
 * test:release`, which cross-compiles the six targets for real), on
 * synthetic files: a few bytes of ELF or Mach-O header are all it reads, so
 * each way a release can be wrong is built here and must be caught.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CheckResult, checkRelease, expectedTargets, readBinaryFormat } from "../../scripts/check-release.ts";

const SCRIPT = join(import.meta.dir, "../../scripts/check-release.ts");

/** A 64-bit little-endian ELF executable header with a PT_LOAD and, unless static, a PT_INTERP naming `interpreter`. */
function elf(machine: number, interpreter: string | null): Buffer {
  const file = Buffer.alloc(0x300);
  file.writeUInt32BE(0x7f454c46, 0);
  file[4] = 2; // ELFCLASS64
  file[5] = 1; // little-endian
  file[6] = 1; // EV_CURRENT
  file.writeUInt16LE(2, 0x10); // ET_EXEC
  file.writeUInt16LE(machine, 0x12);
  file.writeUInt32LE(1, 0x14);
  file.writeBigUInt64LE(0x40n, 0x20); // e_phoff
  file.writeUInt16LE(64, 0x34); // e_ehsize
  file.writeUInt16LE(56, 0x36); // e_phentsize
  file.writeUInt16LE(interpreter === null ? 1 : 2, 0x38); // e_phnum
  // PT_LOAD
  file.writeUInt32LE(1, 0x40);
  if (interpreter !== null) {
    const entry = 0x40 + 56;
    file.writeUInt32LE(3, entry); // PT_INTERP
    file.writeBigUInt64LE(0x200n, entry + 8); // p_offset
    file.writeBigUInt64LE(BigInt(interpreter.length + 1), entry + 32); // p_filesz
    file.write(`${interpreter}\0`, 0x200, "latin1");
  }
  return file;
}

function macho(cputype: number): Buffer {
  const file = Buffer.alloc(0x100);
  file.writeUInt32LE(0xfeedfacf, 0);
  file.writeUInt32LE(cputype, 4);
  file.writeUInt32LE(3, 8);
  file.writeUInt32LE(2, 12); // MH_EXECUTE
  return file;
}

const GOOD: Record<string, Buffer> = {
  "linux-x64": elf(0x3e, "/lib64/ld-linux-x86-64.so.2"),
  "linux-x64-musl": elf(0x3e, "/lib/ld-musl-x86_64.so.1"),
  "linux-arm64": elf(0xb7, "/lib/ld-linux-aarch64.so.1"),
  "linux-arm64-musl": elf(0xb7, "/lib/ld-musl-aarch64.so.1"),
  "darwin-x64": macho(0x01000007),
  "darwin-arm64": macho(0x0100000c),
};

let scratch = "";
let good = "";
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "st44-check-release-"));
  good = join(scratch, "good");
  await writeRelease(good, GOOD);
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function writeRelease(dir: string, files: Record<string, Buffer>): Promise<void> {
  const { mkdirSync } = await import("node:fs");
  const { createHash } = await import("node:crypto");
  mkdirSync(dir, { recursive: true });
  const sums: string[] = [];
  for (const [suffix, bytes] of Object.entries(files)) {
    const name = `st44-migrate-${suffix}`;
    writeFileSync(join(dir, name), bytes, { mode: 0o755 });
    sums.push(`${createHash("sha256").update(bytes).digest("hex")}  ${name}`);
  }
  writeFileSync(join(dir, "SHA256SUMS"), `${sums.join("\n")}\n`);
}

/** A copy of the good release, changed by `change`. */
function variant(label: string, change: (dir: string) => void): string {
  const dir = join(scratch, label);
  cpSync(good, dir, { recursive: true });
  change(dir);
  return dir;
}

const failures = (results: CheckResult[]) => results.filter((result) => !result.ok).map((result) => `${result.name}: ${result.detail}`);
const check = (dir: string) => checkRelease(dir, { runHostBinary: false });

describe("check-release", () => {
  test("reads the format from the header", () => {
    expect(readBinaryFormat(join(good, "st44-migrate-linux-arm64-musl"))).toEqual({ format: "elf", machine: 0xb7, interpreter: "/lib/ld-musl-aarch64.so.1" });
    expect(readBinaryFormat(join(good, "st44-migrate-darwin-arm64"))).toEqual({ format: "macho", cputype: 0x0100000c, filetype: 2 });
  });

  test("a correct release passes every check", () => {
    const results = check(good);
    expect(failures(results)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(expectedTargets.length * 3);
  });

  test("an arm64 build under an x64 name", () => {
    const dir = variant("wrong-arch", (d) => writeFileSync(join(d, "st44-migrate-linux-x64"), GOOD["linux-arm64"] ?? ""));
    expect(failures(check(dir)).join("\n")).toContain("st44-migrate-linux-x64 format: ELF e_machine 0xB7, expected 0x3E (x64)");
  });

  test("a glibc build under a musl name", () => {
    const dir = variant("wrong-libc", (d) => writeFileSync(join(d, "st44-migrate-linux-x64-musl"), GOOD["linux-x64"] ?? ""));
    expect(failures(check(dir)).join("\n")).toContain("ELF interpreter /lib64/ld-linux-x86-64.so.2, expected /lib/ld-musl-x86_64.so.1 (musl)");
  });

  test("a static ELF, a Linux file under a darwin name, a Mach-O of the wrong CPU, a file that is no executable", () => {
    const dir = variant("wrong-formats", (d) => {
      writeFileSync(join(d, "st44-migrate-linux-arm64"), elf(0xb7, null));
      writeFileSync(join(d, "st44-migrate-darwin-x64"), GOOD["linux-x64"] ?? "");
      writeFileSync(join(d, "st44-migrate-darwin-arm64"), macho(0x01000007));
      writeFileSync(join(d, "st44-migrate-linux-arm64-musl"), "#!/bin/sh\necho not a binary\n");
    });
    const text = failures(check(dir)).join("\n");
    expect(text).toContain("st44-migrate-linux-arm64 format: ELF interpreter (none: static)");
    expect(text).toContain("st44-migrate-darwin-x64 format: is ELF, expected Mach-O");
    expect(text).toContain("st44-migrate-darwin-arm64 format: Mach-O cputype 0x1000007, expected 0x100000C (arm64)");
    expect(text).toContain("st44-migrate-linux-arm64-musl format: not a 64-bit ELF or Mach-O file");
  });

  test("SHA256SUMS: a wrong hash, a missing line, a file that is not released, a malformed line", () => {
    const dir = variant("bad-sums", (d) => {
      const lines = readFileSync(join(d, "SHA256SUMS"), "utf8").trim().split("\n");
      lines[0] = `${"0".repeat(64)}  st44-migrate-linux-x64`;
      lines.splice(lines.findIndex((line) => line.endsWith("darwin-x64")), 1);
      lines.push(`${"a".repeat(64)}  st44-migrate-windows-x64.exe`, "garbage");
      writeFileSync(join(d, "SHA256SUMS"), `${lines.join("\n")}\n`);
    });
    const text = failures(check(dir)).join("\n");
    expect(text).toContain(`SHA256SUMS st44-migrate-linux-x64: listed ${"0".repeat(64)}, file hashes to`);
    expect(text).toContain("SHA256SUMS st44-migrate-darwin-x64: not listed");
    expect(text).toContain("lists st44-migrate-windows-x64.exe, which is not in the release");
    expect(text).toContain("SHA256SUMS format: malformed: line");
  });

  test("a missing binary, a missing SHA256SUMS, a file not executable", () => {
    const dir = variant("missing", (d) => {
      unlinkSync(join(d, "st44-migrate-darwin-arm64"));
      unlinkSync(join(d, "SHA256SUMS"));
      writeFileSync(join(d, "st44-migrate-linux-x64"), GOOD["linux-x64"] ?? "", { mode: 0o644 });
      Bun.spawnSync(["chmod", "644", join(d, "st44-migrate-linux-x64")]);
    });
    const text = failures(check(dir)).join("\n");
    expect(text).toContain("st44-migrate-darwin-arm64: missing");
    expect(text).toContain("SHA256SUMS: missing");
    expect(text).toContain("st44-migrate-linux-x64 is an executable file: mode 644 is not executable");
  });

  test("the command prints one line per check, ends with N passed, N failed, and exits 1 on a failure", async () => {
    const bad = variant("cli-bad", (d) => writeFileSync(join(d, "st44-migrate-darwin-x64"), GOOD["darwin-arm64"] ?? ""));
    for (const [dir, expectedCode] of [
      [bad, 1],
      [join(scratch, "does-not-exist"), 1],
    ] as const) {
      const child = Bun.spawn([process.execPath, SCRIPT, dir], { stdout: "pipe", stderr: "pipe" });
      const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      expect(code, stdout).toBe(expectedCode);
      expect(stdout.trim().split("\n").at(-1)).toMatch(/^\d+ passed, [1-9]\d* failed$/);
    }
  });
});
