/**
 * The binaries the bench measures and builds: dist/st44-migrate (built when
 * missing or stale), the Bun floors and the bare runtime (compiled like
 * st44-migrate), and st44-migrate with a generated set embedded (W6), built
 * by the project's own `scripts/build.ts --migrations DIR` in a copy of the
 * sources so that neither dist/ nor the working tree's generated module is
 * touched.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, statSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BuildMode } from "./flags.ts";

const bun = process.execPath;

function newestMtime(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** The inputs of `scripts/build.ts`: a build newer than all of them is current. */
const BUILD_INPUTS = ["src", "migrations", "scripts/build.ts", "scripts/embed.ts"];

export function ensureSt44Binary(options: { root: string; binary: string | undefined; build: BuildMode; log: (line: string) => void }): string {
  if (options.binary !== undefined) {
    if (!existsSync(options.binary)) throw new Error(`--binary ${options.binary}: no such file`);
    return resolve(options.binary);
  }
  const binary = join(options.root, "dist/st44-migrate");
  let reason: string | null = null;
  if (options.build === "always") reason = "--build always";
  else if (!existsSync(binary)) reason = "it is missing";
  else if (options.build === "auto") {
    const sources = BUILD_INPUTS.map((path) => newestMtime(join(options.root, path)));
    if (Math.max(...sources) > statSync(binary).mtimeMs) reason = "it is older than src/ or migrations/";
  }
  if (reason !== null && options.build !== "never") {
    options.log(`building dist/st44-migrate (${reason}): bun scripts/build.ts`);
    const result = spawnSync(bun, [join(options.root, "scripts/build.ts")], { cwd: options.root, stdio: ["ignore", "inherit", "inherit"] });
    if (result.status !== 0) throw new Error("bun scripts/build.ts failed");
  }
  if (!existsSync(binary)) throw new Error(`${binary} is missing (run bun scripts/build.ts, or drop --build never)`);
  return binary;
}

/** A program compiled as st44-migrate is: --compile --bytecode --format=esm --minify (or without --bytecode). */
export function compileLikeSt44(options: { root: string; entry: string; outfile: string; bytecode: boolean }): string {
  const args = [
    "build",
    "--compile",
    ...(options.bytecode ? ["--bytecode"] : []),
    "--format=esm",
    "--minify",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    options.entry,
    "--outfile",
    options.outfile,
  ];
  const result = spawnSync(bun, args, { cwd: options.root, encoding: "utf8" });
  if (result.status !== 0 || /failed to generate bytecode/i.test(result.stderr) || !existsSync(options.outfile)) {
    throw new Error(`bun ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
  }
  return options.outfile;
}

function sourceCommit(root: string): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const commit = git("rev-parse", "--short=12", "HEAD");
    return git("status", "--porcelain", "--untracked-files=no") === "" ? commit : `${commit}-dirty`;
  } catch {
    return "unknown";
  }
}

/**
 * st44-migrate with the files of `migrationsDir` embedded, from this checkout's
 * sources. The build writes dist/ and its generated module next to the
 * sources it compiles, so it runs in a copy (node_modules linked, not copied).
 */
export function buildEmbeddedBinary(options: { root: string; scratch: string; migrationsDir: string; log: (line: string) => void }): { path: string; seconds: number; commit: string } {
  const copy = join(options.scratch, "build-embedded");
  mkdirSync(copy, { recursive: true });
  // The whole checkout but what is large or built (2-3 MB): the build may read any file of it, now or later.
  for (const entry of readdirSync(options.root)) {
    if (entry === "node_modules" || entry === "dist" || entry === ".git") continue;
    cpSync(join(options.root, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(realpathSync(join(options.root, "node_modules")), join(copy, "node_modules"));
  options.log(`building st44-migrate with ${options.migrationsDir} embedded: bun scripts/build.ts --migrations DIR (in a copy of the sources)`);
  const started = performance.now();
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith("ST44_BUILD")) env[name] = value;
  env.ST44_BUILD_COMMIT = sourceCommit(options.root);
  const result = spawnSync(bun, ["scripts/build.ts", "--migrations", options.migrationsDir], { cwd: copy, env, encoding: "utf8" });
  const path = join(copy, "dist/st44-migrate");
  if (result.status !== 0 || !existsSync(path)) {
    throw new Error(`bun scripts/build.ts --migrations ${options.migrationsDir} failed:\n${result.stderr.split("\n").slice(-12).join("\n")}`);
  }
  return { path, seconds: (performance.now() - started) / 1000, commit: env.ST44_BUILD_COMMIT };
}
