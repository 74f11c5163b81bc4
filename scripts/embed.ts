/**
 * Generates src/source/embedded-migrations.gen.ts from migrations/: each
 * file's text with what parsing and hashing it gave (one module of
 * constants, which Bun and Deno both embed). The files are validated with
 * the runner's own parser, so a broken migration fails the build. `--check` fails when the committed module is stale.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { type LintFinding, lintMigrations } from "../src/core/lint.ts";
import { parseFileName } from "../src/core/migration-name.ts";
import { type Migration, buildMigrationSet } from "../src/core/migration-set.ts";
import { MigrateError, isMigrateError } from "../src/core/errors.ts";
import { scanTableFacts, tablesCreatedBy } from "../src/core/expected-tables.ts";
import { directorySource } from "../src/source/directory.ts";
import { readExpectedSnapshot } from "../src/core/schema/snapshot-text.ts";
import { embeddedDataOf } from "../src/source/embedded-set.ts";

const root = join(import.meta.dir, "..");
const migrationsDir = join(root, "migrations");
const target = join(root, "src/source/embedded-migrations.gen.ts");
export const SCHEMA_MODULE = join(root, "src/source/embedded-schema.gen.ts");
export const SCHEMA_SNAPSHOT_NAME = "schema.snapshot";

/** Versions in migrations/ at the latest release tag, or null without git or tags. */
function releasedVersions(): string[] | null {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const tag = git("describe", "--tags", "--abbrev=0");
    return git("ls-tree", "--name-only", `${tag}:migrations`)
      .split("\n")
      .filter((name) => name.endsWith(".sql"))
      .map((name) => parseFileName(name).version);
  } catch {
    return null;
  }
}

/** The folder a build embeds: `given` as the user wrote it (what `version` reports), `dir` absolute. */
export interface MigrationsFolder {
  readonly given: string;
  readonly dir: string;
}

export const REPOSITORY_MIGRATIONS: MigrationsFolder = { given: "migrations", dir: migrationsDir };

/**
 * `--migrations PATH` (or `--migrations=PATH`), else ST44_BUILD_MIGRATIONS,
 * else this repository's migrations/. A relative PATH is taken from where
 * the user ran the command: npm runs scripts in the package's folder and
 * keeps the caller's in INIT_CWD (`npm --prefix tools/st44-migrate run build -- --migrations ...`).
 */
export function migrationsFolder(argv: readonly string[], env: Record<string, string | undefined>): MigrationsFolder {
  let given: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? "";
    if (arg === "--migrations") {
      given = argv[index + 1];
      if (given === undefined || given === "" || given.startsWith("--")) {
        throw new MigrateError("USAGE", "--migrations needs a folder: `bun run build -- --migrations PATH` embeds the .sql files in PATH instead of migrations/.");
      }
    } else if (arg.startsWith("--migrations=")) {
      given = arg.slice("--migrations=".length);
    }
  }
  given ??= env.ST44_BUILD_MIGRATIONS || undefined;
  if (given === undefined) return REPOSITORY_MIGRATIONS;
  if (given === "") throw new MigrateError("USAGE", "--migrations= is empty: give the folder whose .sql files the binary embeds.");
  // INIT_CWD only when npm put us in the package's folder: a stale one inherited by a process started elsewhere must not win.
  const base = env.INIT_CWD && resolve(process.cwd()) === root ? env.INIT_CWD : process.cwd();
  return { given, dir: resolve(base, given) };
}

/** A folder's migrations, read and validated with the runner's own parser (a broken file throws its MigrateError). */
export async function loadRepositoryMigrations(folder: MigrationsFolder = REPOSITORY_MIGRATIONS): Promise<Migration[]> {
  return buildMigrationSet(await directorySource(folder.dir).load());
}

/**
 * Lint warnings (risky but working migrations); printed by every build, fatal with --strict.
 * The released versions are those of this repository's migrations/ at its latest tag: they say nothing about another folder.
 */
export function lintEmbedded(migrations: readonly Migration[], folder: MigrationsFolder = REPOSITORY_MIGRATIONS): LintFinding[] {
  return lintMigrations(migrations, folder === REPOSITORY_MIGRATIONS ? releasedVersions() : null);
}

/**
 * The module holds what src/source/embedded-set.ts assembles: each file's
 * normalised text and checksum, the positions of its parts, its options and
 * its table facts, all computed here once, so a start neither parses,
 * checks nor hashes what the build already did. A few string constants and
 * one array of numbers: evaluating it allocates almost nothing, where one
 * text import per file cost a module each, and a literal per file its parse.
 */
export function generateEmbeddedModule(migrations: readonly Migration[], folder: MigrationsFolder = REPOSITORY_MIGRATIONS): string {
  const data = embeddedDataOf(migrations, (migration) => scanTableFacts(migration.up), tablesCreatedBy(migrations));
  const layout: string[] = [];
  for (let index = 0; index < data.layout.length; index += 5) layout.push(`    ${data.layout.slice(index, index + 5).join(", ")},`);
  return [
    folder === REPOSITORY_MIGRATIONS
      ? "// Generated by scripts/embed.ts from migrations/. Do not edit: run `bun run embed`."
      : `// Generated by scripts/build.ts from ${folder.given} for one build; restored to migrations/ after it.`,
    'import { embeddedSet } from "./embedded-set.ts";',
    "",
    "export const embeddedMigrations = embeddedSet({",
    `  fileNames: ${JSON.stringify(data.fileNames)},`,
    `  checksums: ${JSON.stringify(data.checksums)},`,
    `  texts: ${JSON.stringify(data.texts)},`,
    "  // textStart, upOffset, upEnd, downOffset (-1: no down part), transactions (1: up, 2: down), per migration",
    "  layout: [",
    ...layout,
    "  ],",
    `  formerly: ${JSON.stringify(data.formerly)},`,
    `  allow: ${JSON.stringify(data.allow)},`,
    `  tableFacts: ${JSON.stringify(data.tableFacts)},`,
    `  tablesCreated: ${JSON.stringify(data.tablesCreated)},`,
    "});",
    "",
  ].join("\n");
}

/**
 * The expected schema the build carries: FOLDER/schema.snapshot as one string
 * literal (null when the folder has none: drift is then not judged). It is
 * read with the runner's own parser first, so a damaged snapshot fails the
 * build rather than every verify.
 */
export function generateSchemaModule(folder: MigrationsFolder = REPOSITORY_MIGRATIONS): string {
  const path = join(folder.dir, SCHEMA_SNAPSHOT_NAME);
  let snapshot: string | null = null;
  try {
    snapshot = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  // Named as the user gave the folder: a path relative to this repository means nothing to an app's build.
  if (snapshot !== null) readExpectedSnapshot(snapshot, folder === REPOSITORY_MIGRATIONS ? "migrations/schema.snapshot" : `${folder.given}/${SCHEMA_SNAPSHOT_NAME}`);
  return [
    folder === REPOSITORY_MIGRATIONS
      ? "// Generated by scripts/embed.ts from migrations/schema.snapshot. Do not edit: run `bun run embed`."
      : `// Generated by scripts/build.ts from ${folder.given}/${SCHEMA_SNAPSHOT_NAME} for one build; restored to migrations/'s after it.`,
    "",
    "/** The schema the embedded migrations leave (the text `st44-migrate dump` writes), or null when the build had no snapshot. */",
    `export const embeddedSchemaSnapshot: string | null = ${JSON.stringify(snapshot)};`,
    "",
  ].join("\n");
}

/** Writes (or with `check`, compares) one generated module; false when `check` finds it stale. */
export function writeOrCheckModule(path: string, generated: string, check: boolean): boolean {
  if (!check) {
    writeFileSync(path, generated);
    console.error(`wrote ${relative(root, path)}`);
    return true;
  }
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {}
  if (current !== generated) {
    console.error(`${relative(root, path)} is out of date with migrations/. Run \`bun run embed\` and commit the result.`);
    return false;
  }
  console.error(`${relative(root, path)} is up to date.`);
  return true;
}

export function reportLint(findings: readonly LintFinding[], strict: boolean): boolean {
  for (const finding of findings) console.error(`${strict ? "error" : "warning"} [lint:${finding.rule}] ${finding.message}`);
  return strict && findings.length > 0;
}

/**
 * Runs a build script's body; a MigrateError (a broken migration file) is
 * printed as its one-paragraph message and exits with its code, never as a
 * stack trace.
 */
export async function runBuildStep(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (!isMigrateError(error)) throw error;
    console.error([`error [${error.code}] ${error.message}`, ...error.details].join("\n"));
    process.exit(error.exitCode);
  }
}

if (import.meta.main) {
  await runBuildStep(async () => {
    if (process.argv.some((arg) => arg === "--migrations" || arg.startsWith("--migrations="))) {
      throw new MigrateError(
        "USAGE",
        "embed writes the committed module, which is always the one for migrations/: to embed another folder, build with `bun run build -- --migrations PATH` (the module is restored after the build).",
      );
    }
    const migrations = await loadRepositoryMigrations();
    if (reportLint(lintEmbedded(migrations), process.argv.includes("--strict"))) process.exit(1);
    const check = process.argv.includes("--check");
    const migrationsFresh = writeOrCheckModule(target, generateEmbeddedModule(migrations), check);
    const schemaFresh = writeOrCheckModule(SCHEMA_MODULE, generateSchemaModule(), check);
    if (!migrationsFresh || !schemaFresh) process.exit(1);
  });
}
