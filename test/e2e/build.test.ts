/** The build validates migrations/: a broken file fails it with the file's error, not a stack trace. */
import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MigrateError } from "../../src/core/errors.ts";
import { REPOSITORY_MIGRATIONS, migrationsFolder } from "../../scripts/embed.ts";

const ROOT = join(import.meta.dir, "../..");

/** A copy of the repository's build inputs, so a broken migration can be added without touching the real one. */
function scratchRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), "st44-build-"));
  for (const entry of ["scripts", "src", "migrations", "package.json", "tsconfig.json"]) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

async function build(dir: string, args: string[] = []) {
  const child = Bun.spawn([process.execPath, "scripts/build.ts", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  return { code, stderr };
}

describe("bun run build", () => {
  test("a migration with its down part first fails the build with exit 2 and the file's one-paragraph error", async () => {
    const dir = scratchRepository();
    writeFileSync(join(dir, "migrations/017_broken.sql"), "-- migrate:down\ndrop table x;\n-- migrate:up\ncreate table x (id int);\n");
    const result = await build(dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error [PARSE_DOWN_BEFORE_UP] 017_broken.sql: "-- migrate:down" comes before "-- migrate:up"');
    expect(result.stderr).not.toContain("at parseMigrationText");
  });

  test("a misspelt marker, SQL above the up marker and a Latin-1 file each fail the build with exit 2, as --dir runs do", async () => {
    const broken: [string, string | Uint8Array, string][] = [
      ["017_typo.sql", "-- migrate:up\ncreate table x (id int);\n-- migrate:DOWN\ndrop table x;\n", "error [PARSE_MARKER_MALFORMED] 017_typo.sql line 3"],
      ["017_seed.sql", "insert into x values (1);\n-- migrate:up\ncreate table x (id int);\n", "error [PARSE_SQL_BEFORE_UP] 017_seed.sql line 1"],
      ["017_latin1.sql", new Uint8Array([0x2d, 0x2d, 0x20, 0xe9, 0x0a]), "error [PARSE_NOT_UTF8] 017_latin1.sql is not valid UTF-8: byte offset 3 (line 1)"],
    ];
    for (const [fileName, content, expected] of broken) {
      const dir = scratchRepository();
      writeFileSync(join(dir, "migrations", fileName), content);
      const result = await build(dir);
      expect(result.code, fileName).toBe(2);
      expect(result.stderr).toContain(expected);
    }
  });

  test("a damaged schema.snapshot fails the build with SNAPSHOT_INVALID (exit 2), naming the file and the line", async () => {
    const dir = scratchRepository();
    writeFileSync(join(dir, "migrations/schema.snapshot"), readFileSync(join(ROOT, "migrations/schema.snapshot"), "utf8").replace("\n-- end of snapshot", "tabel public.typo\n\n-- end of snapshot"));
    const result = await build(dir, ["--target", "not-a-target"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error \[SNAPSHOT_INVALID\] migrations\/schema\.snapshot is not a schema snapshot: line \d+ does not start with a kind of object: "tabel public.typo"/m);
  });

  test("the build embeds migrations/schema.snapshot as it is, and embed --check sees a stale one", () => {
    const dir = scratchRepository();
    const embedded = readFileSync(join(dir, "src/source/embedded-schema.gen.ts"), "utf8");
    expect(embedded).toContain(JSON.stringify(readFileSync(join(ROOT, "migrations/schema.snapshot"), "utf8")));
    writeFileSync(join(dir, "migrations/schema.snapshot"), readFileSync(join(ROOT, "migrations/schema.snapshot"), "utf8").replace(/-- end of snapshot: (\d+) objects/, (_line, count) => `table public.later\n\n-- end of snapshot: ${Number(count) + 1} objects`));
    const check = Bun.spawnSync([process.execPath, "scripts/embed.ts", "--check"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    expect(check.exitCode).toBe(1);
    expect(check.stderr.toString()).toContain("src/source/embedded-schema.gen.ts is out of date with migrations/. Run `bun run embed`");
  });

  test("--strict turns lint warnings into a failed build", async () => {
    const dir = scratchRepository();
    writeFileSync(join(dir, "migrations/017_no_down.sql"), "create table x (id int);\n");
    // Without --strict the warnings print and the build goes on (a bogus target stops it right after, saving a compile).
    const lenient = await build(dir, ["--target", "not-a-target"]);
    expect(lenient.stderr).toContain("warning [lint:no-down] 017_no_down.sql has no");
    const strict = await build(dir, ["--strict"]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain("error [lint:no-down]");
    expect(strict.stderr).toContain("build stopped: lint findings are errors with --strict");
  });
});

describe("bun run build -- --migrations PATH (the folder a build embeds)", () => {
  test("--migrations PATH, --migrations=PATH, then ST44_BUILD_MIGRATIONS, then migrations/; relative to the caller's folder (INIT_CWD)", () => {
    const env = { INIT_CWD: "/srv/st44" };
    expect(migrationsFolder([], {})).toBe(REPOSITORY_MIGRATIONS);
    expect(migrationsFolder(["--migrations", "docker/postgres/migrations"], env)).toEqual({ given: "docker/postgres/migrations", dir: "/srv/st44/docker/postgres/migrations" });
    expect(migrationsFolder(["--migrations=/abs/m"], env)).toEqual({ given: "/abs/m", dir: "/abs/m" });
    expect(migrationsFolder([], { ST44_BUILD_MIGRATIONS: "db/m" })).toEqual({ given: "db/m", dir: resolve(process.cwd(), "db/m") });
    // The flag wins over the variable.
    expect(migrationsFolder(["--migrations", "a"], { ...env, ST44_BUILD_MIGRATIONS: "b" }).given).toBe("a");
  });

  test("--migrations without a folder is a usage error saying what to give", () => {
    for (const argv of [["--migrations"], ["--migrations", "--strict"], ["--migrations="]]) {
      let error: unknown;
      try {
        migrationsFolder(argv, {});
      } catch (caught) {
        error = caught;
      }
      expect(error, argv.join(" ")).toBeInstanceOf(MigrateError);
      expect((error as MigrateError).code).toBe("USAGE");
      expect((error as MigrateError).message).toContain("--migrations");
    }
  });

  test("a folder that does not exist fails the build with its one-paragraph error (exit 2), and the committed module is untouched", async () => {
    const dir = scratchRepository();
    const before = readFileSync(join(dir, "src/source/embedded-migrations.gen.ts"), "utf8");
    const result = await build(dir, ["--migrations", "no/such/folder"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error \[SOURCE_UNREADABLE\] .*no\/such\/folder/m);
    expect(readFileSync(join(dir, "src/source/embedded-migrations.gen.ts"), "utf8")).toBe(before);
  });

  test("a folder's schema.snapshot is embedded for that build only; without one the build embeds none", async () => {
    const dir = scratchRepository();
    const committed = readFileSync(join(dir, "src/source/embedded-schema.gen.ts"), "utf8");
    const app = mkdtempSync(join(tmpdir(), "st44-app-migrations-"));
    cpSync(join(ROOT, "migrations/001_create_users_table.sql"), join(app, "001_create_users_table.sql"));
    // A bogus target stops the build after the modules are generated, then the committed ones must be back.
    const result = await build(dir, ["--migrations", app, "--target", "not-a-target"]);
    expect(result.code).not.toBe(0);
    expect(readFileSync(join(dir, "src/source/embedded-schema.gen.ts"), "utf8")).toBe(committed);
    const { generateSchemaModule } = await import("../../scripts/embed.ts");
    expect(generateSchemaModule({ given: "app", dir: app })).toContain("export const embeddedSchemaSnapshot: string | null = null;");
    const snapshot = "-- Schema snapshot (st44-migrate dump, format 1): x\n\ntable public.users\n\n-- end of snapshot: 1 objects\n";
    writeFileSync(join(app, "schema.snapshot"), snapshot);
    expect(generateSchemaModule({ given: "app", dir: app })).toContain(JSON.stringify(snapshot));
  });

  test("a folder with a damaged schema.snapshot fails the build naming the folder as given, and neither module is switched", async () => {
    const dir = scratchRepository();
    const modules = ["src/source/embedded-migrations.gen.ts", "src/source/embedded-schema.gen.ts"].map((path) => [path, readFileSync(join(dir, path), "utf8")] as const);
    const app = mkdtempSync(join(tmpdir(), "st44-app-bad-"));
    cpSync(join(ROOT, "migrations/001_create_users_table.sql"), join(app, "001_create_users_table.sql"));
    writeFileSync(join(app, "schema.snapshot"), "not a snapshot\n");
    const result = await build(dir, ["--migrations", app]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error [SNAPSHOT_INVALID] ${app}/schema.snapshot is not a schema snapshot`);
    for (const [path, before] of modules) expect(readFileSync(join(dir, path), "utf8"), path).toBe(before);
  });

  test("embed refuses --migrations: the committed module is always migrations/'s", async () => {
    const dir = scratchRepository();
    const child = Bun.spawn([process.execPath, "scripts/embed.ts", "--migrations", "x"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(2);
    expect(stderr).toContain("error [USAGE] embed writes the committed module");
  });
});
