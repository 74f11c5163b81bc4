/**
 * docs/deployment.md's app image, run as documented: in a scratch layout of
 * st44 (apps/backend, docker/postgres/migrations, this repository as
 * tools/st44-migrate), stage 1's build command embeds the app's folder, and
 * the runtime stage's ENTRYPOINT + CMD, run from its WORKDIR against a real
 * database, applies exactly those migrations and execs the API.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freshDatabases, tablesOf } from "../support/database.ts";

// The preload's setDefaultTimeout(60_000) reaches only the first file of a bun test run (Bun 1.4.5): set it here too.
setDefaultTimeout(300_000);

const ROOT = join(import.meta.dir, "../..");
const GENERATED = "src/source/embedded-migrations.gen.ts";
const newDatabase = freshDatabases("appimage");

/** The app's own migrations: a gap, a zero-padded and an unpadded-looking name, as real folders have. */
const APP_MIGRATIONS: Record<string, string> = {
  "001_create_families.sql": "-- migrate:up\ncreate table families (id serial primary key, name text not null);\n-- migrate:down\ndrop table families;\n",
  "002_create_members.sql":
    "-- migrate:up\ncreate table members (id serial primary key, family_id int not null references families (id), first_name text);\n-- migrate:down\ndrop table members;\n",
  "010_add_member_email.sql": "-- migrate:up\nalter table members add column email text;\n-- migrate:down\nalter table members drop column email;\n",
};

interface Stage {
  from: string;
  lines: string[];
}

/** The ```dockerfile block of a section, split into stages; continuation lines joined. */
function documentedDockerfile(markdown: string, heading: string): Stage[] {
  const section = markdown.slice(markdown.indexOf(`## ${heading}`));
  const block = /```dockerfile\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error(`no dockerfile block under "## ${heading}"`);
  const lines = block
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    if (line.startsWith("FROM ")) stages.push({ from: line, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

const instruction = (stage: Stage, name: string): string[] => stage.lines.filter((line) => line.startsWith(`${name} `)).map((line) => line.slice(name.length + 1));
const execForm = (stage: Stage, name: string): string[] => JSON.parse(instruction(stage, name).at(-1) ?? "null") as string[];

const stages = documentedDockerfile(readFileSync(join(ROOT, "docs/deployment.md"), "utf8"), "Building the app's image with its own migrations");
const [builder, runtime] = stages;

let app = "";
beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), "st44-app-"));
  // This repository as the submodule, with only what a build reads.
  const tool = join(app, "tools/st44-migrate");
  mkdirSync(tool, { recursive: true });
  for (const entry of ["scripts", "src", "migrations", "package.json", "tsconfig.json"]) cpSync(join(ROOT, entry), join(tool, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(tool, "node_modules"));
  mkdirSync(join(app, "docker/postgres/migrations"), { recursive: true });
  for (const [name, text] of Object.entries(APP_MIGRATIONS)) writeFileSync(join(app, "docker/postgres/migrations", name), text);
  // The API, as its own build leaves it: says it started, as which process.
  mkdirSync(join(app, "apps/backend/dist"), { recursive: true });
  writeFileSync(join(app, "apps/backend/dist/server.js"), 'console.log(`api started as pid ${process.pid} in ${process.cwd()}`);\n');
});
afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe("docs/deployment.md: the app image in st44's layout", () => {
  test("has a build stage and a runtime stage that copies the binary in and makes it the entrypoint", () => {
    expect(stages).toHaveLength(2);
    expect(builder?.from).toMatch(/ AS migrator$/);
    expect(instruction(builder!, "RUN").some((line) => line.includes("--migrations docker/postgres/migrations"))).toBe(true);
    expect(instruction(runtime!, "COPY")).toContain("--from=migrator /src/tools/st44-migrate/dist/st44-migrate /usr/local/bin/st44-migrate");
    expect(execForm(runtime!, "ENTRYPOINT")).toEqual(["st44-migrate", "run", "--"]);
    expect(execForm(runtime!, "CMD")).toEqual(["node", "dist/server.js"]);
  });

  test("stage 1's command embeds the app's folder; ENTRYPOINT + CMD apply exactly those migrations and exec the API", async () => {
    // Stage 1's build, run from its WORKDIR (the app's root), without the cross --target (a musl binary cannot run here).
    const build = instruction(builder!, "RUN").find((line) => line.includes("--migrations")) ?? "";
    const command = build.replace(/--target\s+("[^"]*"|\S+)\s*/, "");
    expect(command).toBe("npm --prefix tools/st44-migrate run build -- --migrations docker/postgres/migrations");
    const built = Bun.spawn(["sh", "-c", command], { cwd: app, stdout: "pipe", stderr: "pipe" });
    const [buildOut, buildErr, buildCode] = await Promise.all([new Response(built.stdout).text(), new Response(built.stderr).text(), built.exited]);
    expect(buildCode, `${buildOut}\n${buildErr}`).toBe(0);
    expect(buildErr).toContain("embedding 3 migration(s) from docker/postgres/migrations (latest 010)");

    // The committed module (migrations/) is back, so `embed --check` still checks migrations/.
    const tool = join(app, "tools/st44-migrate");
    expect(readFileSync(join(tool, GENERATED), "utf8")).toBe(readFileSync(join(ROOT, GENERATED), "utf8"));
    const check = Bun.spawnSync([process.execPath, "scripts/embed.ts", "--check"], { cwd: tool, stdout: "pipe", stderr: "pipe" });
    expect(check.exitCode, check.stderr.toString()).toBe(0);

    // COPY --from=migrator: the binary on PATH as st44-migrate, as in the image.
    const bin = join(app, "usr-local-bin");
    mkdirSync(bin);
    cpSync(join(tool, "dist/st44-migrate"), join(bin, "st44-migrate"));
    const env = { PATH: `${bin}:${process.env.PATH}`, NO_COLOR: "1", LOG_FORMAT: "plain" };

    const version = Bun.spawnSync(["st44-migrate", "version", "--json"], { env, stdout: "pipe", stderr: "pipe" });
    expect(version.exitCode, version.stderr.toString()).toBe(0);
    const document = JSON.parse(version.stdout.toString()) as { migrations: { source: string; folder: string; count: number; latest: string; checksums: Record<string, string> } };
    expect(document.migrations).toMatchObject({ source: "embedded", folder: "docker/postgres/migrations", count: 3, latest: "010" });
    expect(Object.keys(document.migrations.checksums)).toEqual(Object.keys(APP_MIGRATIONS));

    // The container start: ENTRYPOINT + CMD from the runtime stage's WORKDIR (/app holds apps/backend's files).
    expect(instruction(runtime!, "WORKDIR")).toEqual(["/app"]);
    expect(instruction(runtime!, "COPY")).toContain("apps/backend/dist ./dist");
    const database = await newDatabase();
    const argv = [...execForm(runtime!, "ENTRYPOINT"), ...execForm(runtime!, "CMD")];
    const started = Bun.spawn(argv, { cwd: join(app, "apps/backend"), env: { ...env, DATABASE_URL: database.url }, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(started.stdout).text(), new Response(started.stderr).text(), started.exited]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain(`api started as pid ${started.pid} in ${join(app, "apps/backend")}`);
    expect(stderr).toContain("schema at 010, 3 applied (3 now), 0 pending");
    expect(await tablesOf(database.sql)).toEqual(["families", "members", "schema_migrations"]);
    const rows = await database.sql<{ version: string }[]>`select version from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(["001", "002", "010"]);
    const columns = await database.sql<{ column_name: string }[]>`select column_name from information_schema.columns where table_name = 'members' order by ordinal_position`;
    expect(columns.map((column) => column.column_name)).toEqual(["id", "family_id", "first_name", "email"]);

    // A second start applies nothing.
    const again = Bun.spawn(argv, { cwd: join(app, "apps/backend"), env: { ...env, DATABASE_URL: database.url }, stdout: "pipe", stderr: "pipe" });
    const [, againErr, againCode] = await Promise.all([new Response(again.stdout).text(), new Response(again.stderr).text(), again.exited]);
    expect(againCode, againErr).toBe(0);
    expect(againErr).toContain("schema at 010, 3 applied (0 now), 0 pending");
  });
});
