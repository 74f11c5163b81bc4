/**
 * Builds the single executable: regenerates the embedded migrations module
 * (validating every file; a bad migration fails the build), then compiles
 * src/bin.ts with Bun for one or more targets, stamping version, commit and
 * build time. The binary ignores any bunfig.toml or .env where it runs.
 *
 *   bun run build [--strict]           -> dist/st44-migrate (this machine); --strict fails on lint warnings
 *   bun scripts/build.ts --target T    -> dist/st44-migrate for Bun target T (the Dockerfile's musl build)
 *   bun run build:release              -> dist/release/st44-migrate-<target> + SHA256SUMS
 */
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { generateEmbeddedModule, lintEmbedded, loadRepositoryMigrations, reportLint, runBuildStep } from "./embed.ts";

const root = join(import.meta.dir, "..");

export const releaseTargets = [
  { target: "bun-linux-x64", suffix: "linux-x64" },
  { target: "bun-linux-x64-musl", suffix: "linux-x64-musl" },
  { target: "bun-linux-arm64", suffix: "linux-arm64" },
  { target: "bun-linux-arm64-musl", suffix: "linux-arm64-musl" },
  { target: "bun-darwin-x64", suffix: "darwin-x64" },
  { target: "bun-darwin-arm64", suffix: "darwin-arm64" },
] as const;

function gitCommit(): string {
  if (process.env.ST44_BUILD_COMMIT) return process.env.ST44_BUILD_COMMIT;
  try {
    const commit = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return "unknown";
  }
}

let stamp: Record<string, string> | null = null;
/** Commit and build time, computed once per build so every artefact of it carries the same stamp. */
function buildStamp(): Record<string, string> {
  stamp ??= { ST44_BUILD_COMMIT: JSON.stringify(gitCommit()), ST44_BUILD_TIME: JSON.stringify(new Date().toISOString()) };
  return stamp;
}

export async function compile(options: { target?: string; outfile: string }): Promise<void> {
  const result = await Bun.build({
    entrypoints: [join(root, "src/bin.ts")],
    // --bytecode needs ESM; it roughly halves start-up, which every container boot pays.
    format: "esm",
    bytecode: true,
    minify: true,
    sourcemap: "none",
    define: buildStamp(),
    compile: {
      ...(options.target === undefined ? {} : { target: options.target as never }),
      outfile: options.outfile,
      autoloadBunfig: false,
      autoloadDotenv: false,
    },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error(`compiling ${options.outfile} failed`);
  }
  // "Failed to generate bytecode" is only a warning but the binary then crashes: treat any warning as fatal.
  const warnings = result.logs.filter((log) => log.level === "warning" || log.level === "error");
  if (warnings.length > 0) {
    for (const log of warnings) console.error(log);
    throw new Error(`compiling ${options.outfile} produced warnings`);
  }
}

/**
 * The library for Node applications (the st44 API runs on Node): one ESM
 * file with the migrations inlined, postgres.js left to the application.
 */
export async function buildLibrary(): Promise<void> {
  const result = await Bun.build({
    entrypoints: [join(root, "src/index.ts")],
    outdir: join(root, "dist/lib"),
    target: "node",
    format: "esm",
    external: ["postgres"],
    define: buildStamp(),
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error("building dist/lib failed");
  }
}

if (import.meta.main) {
  await runBuildStep(async () => {
    const migrations = await loadRepositoryMigrations();
    if (reportLint(lintEmbedded(migrations), process.argv.includes("--strict"))) {
      console.error("build stopped: lint findings are errors with --strict");
      process.exit(1);
    }
    writeFileSync(join(root, "src/source/embedded-migrations.gen.ts"), generateEmbeddedModule(migrations));
    mkdirSync(join(root, "dist"), { recursive: true });
    if (process.argv.includes("--release")) {
      const { createHash } = await import("node:crypto");
      const { readFileSync } = await import("node:fs");
      const outDir = join(root, "dist/release");
      mkdirSync(outDir, { recursive: true });
      const sums: string[] = [];
      for (const { target, suffix } of releaseTargets) {
        const name = `st44-migrate-${suffix}`;
        await compile({ target, outfile: join(outDir, name) });
        sums.push(`${createHash("sha256").update(readFileSync(join(outDir, name))).digest("hex")}  ${name}`);
        console.error(`built dist/release/${name}`);
      }
      writeFileSync(join(outDir, "SHA256SUMS"), `${sums.join("\n")}\n`);
      console.error("wrote dist/release/SHA256SUMS");
    } else {
      const outfile = join(root, "dist/st44-migrate");
      const targetIndex = process.argv.indexOf("--target");
      await compile({ outfile, target: targetIndex === -1 ? undefined : process.argv[targetIndex + 1] });
      await buildLibrary();
      console.error("built dist/st44-migrate and dist/lib/index.js");
    }
  });
}
