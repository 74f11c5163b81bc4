/**
 * Builds the single executable: regenerates the embedded migrations module
 * (validating every file; a bad migration fails the build), then compiles
 * src/bin.ts with Bun for one or more targets, stamping version, commit and
 * build time. The binary ignores any bunfig.toml or .env where it runs.
 *
 *   bun run build [--strict]           -> dist/st44-migrate (this machine); --strict fails on lint warnings
 *   bun scripts/build.ts --target T    -> dist/st44-migrate for Bun target T (the Dockerfile's musl build)
 *   bun run build:release              -> dist/release/st44-migrate-<target> + SHA256SUMS
 *   bun run build -- --migrations PATH -> embeds the app's folder PATH instead of migrations/
 *                                         (or ST44_BUILD_MIGRATIONS=PATH); binary and dist/lib alike
 *
 * With another folder the generated module is written for the compile only and
 * restored to migrations/ afterwards, so the committed one (and `embed --check`)
 * keeps describing migrations/.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  REPOSITORY_MIGRATIONS,
  type MigrationsFolder,
  generateEmbeddedModule,
  generateSchemaModule,
  SCHEMA_MODULE,
  lintEmbedded,
  loadRepositoryMigrations,
  migrationsFolder,
  reportLint,
  runBuildStep,
} from "./embed.ts";

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

let embeddedFolder: MigrationsFolder = REPOSITORY_MIGRATIONS;
let stamp: Record<string, string> | null = null;
/** Commit, build time and the embedded folder, computed once per build so every artefact of it carries the same stamp. */
function buildStamp(): Record<string, string> {
  stamp ??= {
    ST44_BUILD_COMMIT: JSON.stringify(gitCommit()),
    ST44_BUILD_TIME: JSON.stringify(new Date().toISOString()),
    ST44_BUILD_MIGRATIONS: JSON.stringify(embeddedFolder.given),
  };
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

/** dist/st44-migrate and dist/lib, or with --release every release target and SHA256SUMS. */
async function compileArtefacts(): Promise<void> {
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
}

/** Whether the build carries an expected schema: without one, verify and the health check do not judge drift, and the builder should know. */
function embeddedSnapshotLine(schemaModule: string, folder: MigrationsFolder): string {
  return schemaModule.includes("embeddedSchemaSnapshot: string | null = null;")
    ? `no ${folder.given}/schema.snapshot, so this binary does not judge schema drift (st44-migrate dump > ${folder.given}/schema.snapshot against a database these migrations built adds one)`
    : `the expected schema from ${folder.given}/schema.snapshot`;
}

if (import.meta.main) {
  await runBuildStep(async () => {
    embeddedFolder = migrationsFolder(process.argv.slice(2), process.env);
    const migrations = await loadRepositoryMigrations(embeddedFolder);
    if (reportLint(lintEmbedded(migrations, embeddedFolder), process.argv.includes("--strict"))) {
      console.error("build stopped: lint findings are errors with --strict");
      process.exit(1);
    }
    const generatedModule = join(root, "src/source/embedded-migrations.gen.ts");
    const repositoryModule = embeddedFolder === REPOSITORY_MIGRATIONS ? null : generateEmbeddedModule(await loadRepositoryMigrations());
    const repositorySchemaModule = embeddedFolder === REPOSITORY_MIGRATIONS ? null : generateSchemaModule();
    // Both generated (and so validated) before either is written: a bad snapshot must not leave the other module half-switched.
    const migrationsModule = generateEmbeddedModule(migrations, embeddedFolder);
    const schemaModule = generateSchemaModule(embeddedFolder);
    if (repositoryModule !== null) {
      const snapshot = embeddedSnapshotLine(schemaModule, embeddedFolder);
      console.error(`embedding ${migrations.length} migration(s) from ${embeddedFolder.given} (latest ${migrations.at(-1)?.version ?? "none"}); ${snapshot}`);
    }
    try {
      writeFileSync(generatedModule, migrationsModule);
      writeFileSync(SCHEMA_MODULE, schemaModule);
      await compileArtefacts();
    } finally {
      // However the compile ends, the working tree keeps migrations/'s module (the committed one).
      if (repositoryModule !== null) writeFileSync(generatedModule, repositoryModule);
      if (repositorySchemaModule !== null) writeFileSync(SCHEMA_MODULE, repositorySchemaModule);
    }
  });
}
