/**
 * Checks what `bun run build:release` wrote to dist/release before it is
 * published: every target is there, each file is the executable format and
 * architecture its name promises (read from the file's own header, not from
 * the name), SHA256SUMS lists exactly those files with their real hashes, and
 * the binary that can run on this machine reports the package version and a
 * real commit.
 *
 *   bun scripts/check-release.ts [DIR]      (default dist/release)
 *
 * Prints one line per check, then "N passed, N failed"; exits 1 on any failure.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");

const ELF_MACHINE = { x64: 0x3e, arm64: 0xb7 } as const;
const MACHO_CPU = { x64: 0x01000007, arm64: 0x0100000c } as const;
const GLIBC_INTERPRETER = { x64: "/lib64/ld-linux-x86-64.so.2", arm64: "/lib/ld-linux-aarch64.so.1" } as const;
const MUSL_INTERPRETER = { x64: "/lib/ld-musl-x86_64.so.1", arm64: "/lib/ld-musl-aarch64.so.1" } as const;

type Arch = keyof typeof ELF_MACHINE;

export interface ReleaseTarget {
  readonly suffix: string;
  readonly os: "linux" | "darwin";
  readonly arch: Arch;
  readonly libc: "glibc" | "musl" | null;
}

/** The six files a release carries (scripts/build.ts releaseTargets). */
export const expectedTargets: readonly ReleaseTarget[] = [
  { suffix: "linux-x64", os: "linux", arch: "x64", libc: "glibc" },
  { suffix: "linux-x64-musl", os: "linux", arch: "x64", libc: "musl" },
  { suffix: "linux-arm64", os: "linux", arch: "arm64", libc: "glibc" },
  { suffix: "linux-arm64-musl", os: "linux", arch: "arm64", libc: "musl" },
  { suffix: "darwin-x64", os: "darwin", arch: "x64", libc: null },
  { suffix: "darwin-arm64", os: "darwin", arch: "arm64", libc: null },
];

export type BinaryFormat =
  | { readonly format: "elf"; readonly machine: number; readonly interpreter: string | null }
  | { readonly format: "macho"; readonly cputype: number; readonly filetype: number }
  | { readonly format: "unknown"; readonly reason: string };

/** Reads `length` bytes at `position` (fewer at the end of the file). */
function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, read);
}

const PT_INTERP = 3;
const MH_MAGIC_64 = 0xfeedfacf;

/**
 * Identifies an executable from its header: a 64-bit little-endian ELF (its
 * e_machine and the PT_INTERP program header, which names the C library's
 * loader) or a 64-bit Mach-O (its cputype).
 */
export function readBinaryFormat(path: string): BinaryFormat {
  const fd = openSync(path, "r");
  try {
    const header = readAt(fd, 0, 64);
    if (header.length >= 4 && header.readUInt32BE(0) === 0x7f454c46) {
      if (header.length < 64) return { format: "unknown", reason: "truncated ELF header" };
      if (header[4] !== 2) return { format: "unknown", reason: `ELF class ${header[4]} (expected 2, 64-bit)` };
      if (header[5] !== 1) return { format: "unknown", reason: `ELF data encoding ${header[5]} (expected 1, little-endian)` };
      const machine = header.readUInt16LE(0x12);
      const programHeaderOffset = Number(header.readBigUInt64LE(0x20));
      const programHeaderSize = header.readUInt16LE(0x36);
      const programHeaderCount = header.readUInt16LE(0x38);
      let interpreter: string | null = null;
      for (let index = 0; index < programHeaderCount; index++) {
        const entry = readAt(fd, programHeaderOffset + index * programHeaderSize, programHeaderSize);
        if (entry.length < 40) break;
        if (entry.readUInt32LE(0) !== PT_INTERP) continue;
        const offset = Number(entry.readBigUInt64LE(8));
        const size = Number(entry.readBigUInt64LE(32));
        const text = readAt(fd, offset, Math.min(size, 4096)).toString("latin1");
        interpreter = text.split("\0")[0] ?? "";
        break;
      }
      return { format: "elf", machine, interpreter };
    }
    if (header.length >= 16 && header.readUInt32LE(0) === MH_MAGIC_64) {
      return { format: "macho", cputype: header.readUInt32LE(4), filetype: header.readUInt32LE(12) };
    }
    const magic = header.subarray(0, 4).toString("hex");
    return { format: "unknown", reason: `not a 64-bit ELF or Mach-O file (magic bytes ${magic || "none"})` };
  } finally {
    closeSync(fd);
  }
}

const hex = (value: number) => `0x${value.toString(16).toUpperCase()}`;

/** Why the file does not match its target, or null when it does. */
export function formatProblem(target: ReleaseTarget, found: BinaryFormat): string | null {
  if (found.format === "unknown") return found.reason;
  if (target.os === "darwin") {
    if (found.format !== "macho") return `is ELF, expected Mach-O (${target.suffix})`;
    if (found.cputype !== MACHO_CPU[target.arch]) return `Mach-O cputype ${hex(found.cputype)}, expected ${hex(MACHO_CPU[target.arch])} (${target.arch})`;
    if (found.filetype !== 2) return `Mach-O filetype ${found.filetype}, expected 2 (MH_EXECUTE)`;
    return null;
  }
  if (found.format !== "elf") return `is Mach-O, expected ELF (${target.suffix})`;
  if (found.machine !== ELF_MACHINE[target.arch]) return `ELF e_machine ${hex(found.machine)}, expected ${hex(ELF_MACHINE[target.arch])} (${target.arch})`;
  const expected = target.libc === "musl" ? MUSL_INTERPRETER[target.arch] : GLIBC_INTERPRETER[target.arch];
  if (found.interpreter !== expected) return `ELF interpreter ${found.interpreter ?? "(none: static)"}, expected ${expected} (${target.libc})`;
  return null;
}

export function describeFormat(found: BinaryFormat): string {
  switch (found.format) {
    case "elf":
      return `ELF ${found.machine === 0x3e ? "x86-64" : found.machine === 0xb7 ? "aarch64" : hex(found.machine)}, interpreter ${found.interpreter ?? "none"}`;
    case "macho":
      return `Mach-O ${found.cputype === MACHO_CPU.x64 ? "x86_64" : found.cputype === MACHO_CPU.arm64 ? "arm64" : hex(found.cputype)}`;
    default:
      return found.reason;
  }
}

export function sha256File(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (let position = 0; ; ) {
      const read = readSync(fd, buffer, 0, buffer.length, position);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
      position += read;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

export interface CheckResult {
  readonly ok: boolean;
  readonly name: string;
  readonly detail: string;
}

export interface CheckOptions {
  /** The package version the binaries must report (default: package.json's). */
  readonly version?: string;
  /** The commit the binaries must report; default ST44_BUILD_COMMIT when set, else any real commit. */
  readonly commit?: string;
  /** Run the binary built for this machine, if any (default true). */
  readonly runHostBinary?: boolean;
}

function hostTarget(): ReleaseTarget | undefined {
  if (process.platform !== "linux" && process.platform !== "darwin") return undefined;
  const arch = process.arch === "x64" || process.arch === "arm64" ? process.arch : undefined;
  if (arch === undefined) return undefined;
  // A glibc machine can carry a musl loader too (this one does): only the glibc build is run on Linux.
  return expectedTargets.find((target) => target.os === process.platform && target.arch === arch && target.libc !== "musl");
}

/** Every check on the release directory; never throws for a bad file. */
export function checkRelease(directory: string, options: CheckOptions = {}): CheckResult[] {
  const results: CheckResult[] = [];
  const check = (name: string, problem: string | null, detail = "") => results.push({ ok: problem === null, name, detail: problem ?? detail });

  if (!existsSync(directory)) {
    check(`release directory ${directory}`, "does not exist: run `bun run build:release` first");
    return results;
  }
  const files = new Map<string, string>();
  for (const target of expectedTargets) {
    const name = `st44-migrate-${target.suffix}`;
    const path = join(directory, name);
    if (!existsSync(path)) {
      check(name, "missing");
      continue;
    }
    files.set(name, path);
    const stat = statSync(path);
    check(`${name} is an executable file`, stat.isFile() && (stat.mode & 0o111) !== 0 ? null : `mode ${(stat.mode & 0o777).toString(8)} is not executable`, `${(stat.size / 2 ** 20).toFixed(1)} MiB`);
    const found = readBinaryFormat(path);
    check(`${name} format`, formatProblem(target, found), describeFormat(found));
  }

  const unexpected = readdirSync(directory).filter((name) => name !== "SHA256SUMS" && !files.has(name) && !expectedTargets.some((target) => `st44-migrate-${target.suffix}` === name));
  check("no unexpected files", unexpected.length === 0 ? null : `unexpected: ${unexpected.join(", ")}`, `${files.size} binaries + SHA256SUMS`);

  const sumsPath = join(directory, "SHA256SUMS");
  if (!existsSync(sumsPath)) {
    check("SHA256SUMS", "missing");
  } else {
    const listed = new Map<string, string>();
    const malformed: string[] = [];
    for (const [index, line] of readFileSync(sumsPath, "utf8").split("\n").entries()) {
      if (line === "") continue;
      // sha256sum's format: 64 hex digits, two spaces (or " *" for binary mode), the file name.
      const match = /^([0-9a-f]{64}) [ *](\S.*)$/.exec(line);
      if (!match?.[1] || !match[2]) {
        malformed.push(`line ${index + 1}`);
        continue;
      }
      if (listed.has(match[2])) malformed.push(`${match[2]} listed twice`);
      listed.set(match[2], match[1]);
    }
    check("SHA256SUMS format", malformed.length === 0 ? null : `malformed: ${malformed.join(", ")}`, `${listed.size} lines`);
    for (const target of expectedTargets) {
      const name = `st44-migrate-${target.suffix}`;
      const path = files.get(name);
      const sum = listed.get(name);
      if (sum === undefined) {
        check(`SHA256SUMS ${name}`, "not listed");
        continue;
      }
      if (path === undefined) continue;
      const actual = sha256File(path);
      check(`SHA256SUMS ${name}`, actual === sum ? null : `listed ${sum}, file hashes to ${actual}`, actual.slice(0, 16));
    }
    const extra = [...listed.keys()].filter((name) => !files.has(name));
    check("SHA256SUMS lists only released files", extra.length === 0 ? null : `lists ${extra.join(", ")}, which is not in the release`);
  }

  const host = options.runHostBinary === false ? undefined : hostTarget();
  const hostPath = host === undefined ? undefined : files.get(`st44-migrate-${host.suffix}`);
  if (host !== undefined && hostPath !== undefined) {
    const version = options.version ?? (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
    const expectedCommit = options.commit ?? (process.env.ST44_BUILD_COMMIT || undefined);
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1" };
    const plain = spawnSync(hostPath, ["--version"], { encoding: "utf8", env, timeout: 30_000 });
    const printed = (plain.stdout ?? "").trim();
    check(`st44-migrate-${host.suffix} --version`, plain.status === 0 && printed === version ? null : `exit ${plain.status}, printed "${printed}" ${plain.stderr ?? ""}; expected ${version}`, printed);
    const json = spawnSync(hostPath, ["version", "--json"], { encoding: "utf8", env, timeout: 30_000 });
    let document: { version?: string; commit?: string; build_time?: string | null; migrations?: { count?: number } } = {};
    try {
      document = JSON.parse(json.stdout ?? "");
    } catch {
      // reported below
    }
    const commit = document.commit ?? "";
    const stampProblem =
      json.status !== 0
        ? `exit ${json.status}: ${json.stderr ?? ""}`
        : document.version !== version
          ? `version ${document.version}, expected ${version}`
          : expectedCommit !== undefined
            ? commit === expectedCommit
              ? null
              : `commit ${commit}, expected ${expectedCommit}`
            : ["", "dev", "unknown"].includes(commit)
              ? `commit is "${commit}": the build was not stamped with a commit`
              : null;
    check(`st44-migrate-${host.suffix} version --json stamps`, stampProblem ?? (document.build_time ? null : "no build_time"), `${document.version} (${commit}), built ${document.build_time}, ${document.migrations?.count} migrations`);
  }
  return results;
}

if (import.meta.main) {
  const directory = process.argv[2] ?? join(root, "dist/release");
  const results = checkRelease(directory);
  for (const result of results) console.log(`${result.ok ? "ok  " : "FAIL"} ${result.name}${result.detail ? `: ${result.detail}` : ""}`);
  const failed = results.filter((result) => !result.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
