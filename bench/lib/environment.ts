/**
 * What the benchmark needs from the machine (psql, GNU time, node) and what
 * it reports about it (CPU, memory, versions, binary sizes).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, openSync, readFileSync, readSync, closeSync, readdirSync, realpathSync, statSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { dirname, join } from "node:path";

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function isElf(path: string): boolean {
  try {
    const fd = openSync(path, "r");
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    closeSync(fd);
    return head.toString("latin1") === "\x7fELF";
  } catch {
    return false;
  }
}

let aptUpdated = false;
function aptInstall(packages: string[], log: (line: string) => void): boolean {
  if (!isRoot() || !existsSync("/usr/bin/apt-get")) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    log("apt-get update");
    spawnSync("apt-get", ["update"], { stdio: ["ignore", "ignore", "inherit"], env });
    aptUpdated = true;
  }
  log(`apt-get install -y ${packages.join(" ")}`);
  return spawnSync("apt-get", ["install", "-y", ...packages], { stdio: ["ignore", "ignore", "inherit"], env }).status === 0;
}

/**
 * The real psql binary. On Debian /usr/bin/psql is a Perl wrapper
 * (pg_wrapper) that adds ~30 ms to every call, so the binary under
 * /usr/lib/postgresql/<major>/bin is preferred (the newest major).
 */
function findPsqlBinary(): string | null {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const majors = readdirSync(base)
      .filter((entry) => /^\d+$/.test(entry))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) {
      const candidate = join(base, major, "bin/psql");
      if (isElf(candidate)) return candidate;
    }
  }
  const onPath = Bun.which("psql");
  return onPath !== null && isElf(realpathSync(onPath)) ? realpathSync(onPath) : null;
}

export function ensurePsql(options: { install: boolean; log: (line: string) => void }): { path: string | null; note: string | null } {
  const found = findPsqlBinary();
  if (found) return { path: found, note: null };
  if (options.install && aptInstall(["postgresql-client"], options.log)) {
    const installed = findPsqlBinary();
    if (installed) return { path: installed, note: null };
  }
  return {
    path: null,
    note: isRoot()
      ? "no psql binary found and `apt-get install postgresql-client` failed: the psql rows (psql select 1, the psql loop, the server floor) are skipped"
      : "no psql binary found (install postgresql-client, or run as root to let the bench install it): the psql rows (psql select 1, the psql loop, the server floor) are skipped",
  };
}

/** GNU time (for peak RSS); installed with apt-get when running as root. */
export function ensureTime(options: { install: boolean; log: (line: string) => void }): { path: string | null; note: string | null } {
  const isGnuTime = (path: string) => existsSync(path) && spawnSync(path, ["-f", "%M", "true"], { stdio: "ignore" }).status === 0;
  if (isGnuTime("/usr/bin/time")) return { path: "/usr/bin/time", note: null };
  if (options.install && aptInstall(["time"], options.log) && isGnuTime("/usr/bin/time")) return { path: "/usr/bin/time", note: null };
  return { path: null, note: "GNU time (/usr/bin/time) is not installed: peak RSS is not measured (n/a)" };
}

/** Node.js for node-pg-migrate: the real node, not a `node` shim that runs Bun. */
export function findNode(): string | null {
  const path = Bun.which("node");
  if (path === null) return null;
  const result = spawnSync(path, ["-e", "process.stdout.write(process.versions.bun ? 'bun' : process.version)"], { encoding: "utf8" });
  return result.status === 0 && result.stdout.startsWith("v") ? realpathSync(path) : null;
}

export function commandOutput(argv: readonly string[]): string {
  try {
    const [command = "", ...args] = argv;
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch {
    return "unknown";
  }
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memory: string;
  readonly kernel: string;
  readonly os: string;
}

export function describeMachine(): Machine {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const meminfo = existsSync("/proc/meminfo") ? readFileSync("/proc/meminfo", "utf8") : "";
  const memKiB = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? Number.NaN);
  const osRelease = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
  return {
    cpu,
    cores: availableParallelism(),
    memory: Number.isFinite(memKiB) ? `${(memKiB / 1024 / 1024).toFixed(1)} GiB` : "unknown",
    kernel: `Linux ${release()}`,
    os: /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1] ?? "unknown",
  };
}

export function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** Bytes under a path (files only, symlinks not followed). */
export function diskBytes(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    total += diskBytes(join(path, entry.name));
  }
  return total;
}

/**
 * The installed closure of an npm package: the package and its dependencies
 * (and peer dependencies, e.g. pg for node-pg-migrate), recursively, as npm
 * laid them out in node_modules.
 */
export function packageClosure(root: string, name: string): string[] {
  const seen = new Map<string, string>();
  const visit = (packageName: string, fromDir: string) => {
    // Node's resolution: nearest node_modules up from the requiring package.
    let dir = fromDir;
    let found: string | null = null;
    for (;;) {
      const candidate = join(dir, "node_modules", packageName);
      if (existsSync(join(candidate, "package.json"))) {
        found = candidate;
        break;
      }
      if (dir === root || dirname(dir) === dir) break;
      dir = dirname(dir);
    }
    if (found === null || seen.has(found)) return;
    seen.set(found, packageName);
    const manifest = JSON.parse(readFileSync(join(found, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const peers = Object.keys(manifest.peerDependencies ?? {}).filter((peer) => !peer.startsWith("@types/"));
    for (const dependency of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {}), ...peers]) {
      visit(dependency, found);
    }
  };
  visit(name, root);
  return [...seen.keys()];
}

/** Shared libraries a binary loads (ldd), for psql's libpq. */
export function sharedLibrary(binary: string, pattern: RegExp): string | null {
  const output = commandOutput(["ldd", binary]);
  for (const line of output.split("\n")) {
    const match = /=>\s*(\S+)/.exec(line);
    if (match?.[1] && pattern.test(match[1])) return realpathSync(match[1]);
  }
  return null;
}

/**
 * A binary written a moment ago (the build, the floor) sits in the page cache
 * as large folios, and mapping them inflates its peak RSS by ~5 MiB compared
 * with the same file read from disk (seen here: 46 vs 41 MiB for one
 * st44-migrate, 40.7 vs 34.9 MiB for the floor). A container reads its
 * binary from the image, so every measured binary is written back and
 * dropped from the page cache (sync FILE; dd iflag=nocache count=0), then run
 * once untimed to read it in again like any installed program.
 */
export function settleBinaries(paths: readonly string[]): void {
  const files = [...new Set(paths)].filter((path) => existsSync(path));
  if (files.length === 0) return;
  spawnSync("sync", files, { stdio: "ignore" });
  for (const file of files) spawnSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"], { stdio: "ignore" });
  for (const file of files) spawnSync(file, ["--version"], { stdio: "ignore", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeout: 30_000 });
}
