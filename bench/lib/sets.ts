/**
 * The migration sets of the benchmark, written once per run into a scratch
 * directory in each tool's format:
 *
 * - `seed`: the eight files of migrations/ (dbmate's format already, so
 *   dbmate reads migrations/ itself and st44-migrate uses the copy built into
 *   its binary, as a container does);
 * - `gen`: N generated trivial migrations, `create table t_N (id int primary key)`
 *   (W3-W5, 1,000 by default);
 * - `large`: the same kind of set, larger (W6-W8, 10,000 by default); st44-migrate
 *   reads it with `--dir`, and a second binary is built with it embedded (W6).
 *
 * For each set: a dbmate-format directory (st44-migrate --dir and dbmate), a
 * node-pg-migrate directory (`-- Up Migration` / `-- Down Migration`), an
 * up-only directory for the psql loop, and the two server-floor scripts.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type SetId = "seed" | "gen" | "large";

export interface MigrationSetFiles {
  readonly id: SetId;
  readonly count: number;
  /** Bytes of SQL text in the dbmate-format files (what an embedding binary must carry at least). */
  readonly sqlBytes: number;
  /** dbmate format (`-- migrate:up` / `-- migrate:down`). */
  readonly dbmateDir: string;
  readonly nodePgMigrateDir: string;
  /** The up part only, one file per migration, for `psql -1 -f`. */
  readonly upOnlyDir: string;
  /** All migrations in one script, each in its own transaction (the server's own cost). */
  readonly floorScript: string;
  /** The same plus one tracking row per migration, in the same transaction. */
  readonly floorTrackedScript: string;
}

interface Migration {
  readonly fileName: string;
  readonly version: string;
  readonly name: string;
  readonly text: string;
}

const UP_MARKER = /^--\s*migrate:up\b.*$/m;
const DOWN_MARKER = /^--\s*migrate:down\b.*$/m;

function upPart(text: string): string {
  const up = UP_MARKER.exec(text);
  const down = DOWN_MARKER.exec(text);
  const start = up ? up.index + up[0].length : 0;
  const end = down && down.index >= start ? down.index : text.length;
  return `${text.slice(start, end).trim()}\n`;
}

function parseName(fileName: string): { version: string; name: string } {
  const match = /^(\d+)_(.*)\.sql$/.exec(fileName);
  if (!match) throw new Error(`unexpected migration file name ${fileName}`);
  return { version: match[1] ?? "", name: match[2] ?? "" };
}

function seedMigrations(migrationsDir: string): Migration[] {
  return readdirSync(migrationsDir)
    .filter((fileName) => fileName.endsWith(".sql"))
    .sort()
    .map((fileName) => ({ fileName, ...parseName(fileName), text: readFileSync(join(migrationsDir, fileName), "utf8") }));
}

function generatedMigrations(count: number): Migration[] {
  const width = Math.max(4, String(count).length);
  return Array.from({ length: count }, (_, index) => {
    const n = index + 1;
    const version = String(n).padStart(width, "0");
    const name = `create_t_${n}`;
    return {
      fileName: `${version}_${name}.sql`,
      version,
      name,
      text: `-- migrate:up\ncreate table t_${n} (id int primary key);\n\n-- migrate:down\ndrop table t_${n};\n`,
    };
  });
}

function writeSet(id: SetId, migrations: readonly Migration[], scratch: string, dbmateDir: string | null): MigrationSetFiles {
  const base = join(scratch, `set-${id}`);
  const dirs = {
    dbmateDir: dbmateDir ?? join(base, "dbmate"),
    nodePgMigrateDir: join(base, "node-pg-migrate"),
    upOnlyDir: join(base, "up-only"),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const floor: string[] = [];
  const tracked: string[] = ["create table if not exists floor_migrations (version text primary key);"];
  let sqlBytes = 0;
  for (const migration of migrations) {
    sqlBytes += Buffer.byteLength(migration.text);
    if (dbmateDir === null) writeFileSync(join(dirs.dbmateDir, migration.fileName), migration.text);
    writeFileSync(
      join(dirs.nodePgMigrateDir, migration.fileName),
      migration.text.replace(UP_MARKER, "-- Up Migration").replace(DOWN_MARKER, "-- Down Migration"),
    );
    const up = upPart(migration.text);
    writeFileSync(join(dirs.upOnlyDir, migration.fileName), up);
    floor.push(`begin;\n${up}commit;\n`);
    tracked.push(`begin;\n${up}insert into floor_migrations (version) values ('${migration.version}');\ncommit;\n`);
  }
  const floorScript = join(base, "floor.sql");
  const floorTrackedScript = join(base, "floor-tracked.sql");
  writeFileSync(floorScript, floor.join(""));
  writeFileSync(floorTrackedScript, tracked.join(""));
  return { id, count: migrations.length, sqlBytes, ...dirs, floorScript, floorTrackedScript };
}

/** The large set is written only when a workload uses it (10,000 files in four formats take a while). */
export function writeSets(options: { migrationsDir: string; scratch: string; generated: number; large: number | null }): Record<SetId, MigrationSetFiles | null> {
  return {
    seed: writeSet("seed", seedMigrations(options.migrationsDir), options.scratch, options.migrationsDir),
    gen: writeSet("gen", generatedMigrations(options.generated), options.scratch, null),
    large: options.large === null ? null : writeSet("large", generatedMigrations(options.large), options.scratch, null),
  };
}

/**
 * The psql loop st44 used before the runner: one psql per pending file
 * (`-1`: the file and its tracking row in one transaction), the applied
 * versions read once. Pure shell otherwise (no grep or basename per file), so
 * the loop is measured at its best.
 */
export const PSQL_LOOP_SCRIPT = `#!/bin/bash
# usage: psql-loop.sh PSQL DIR   (DATABASE_URL in the environment)
set -euo pipefail
psql=$1
dir=$2
run() { "$psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"; }
# A command substitution (not < <(...)): bash waits for it, so GNU time counts psql's memory too.
versions=$(run -tA \\
  -c "create table if not exists schema_migrations (version varchar(255) primary key, name varchar(255) not null, applied_at timestamptz not null default now())" \\
  -c "select version from schema_migrations")
declare -A applied=()
while IFS= read -r version; do
  [[ -n $version ]] && applied[$version]=1
done <<<"$versions"
for file in "$dir"/*.sql; do
  base=\${file##*/}
  base=\${base%.sql}
  version=\${base%%_*}
  [[ -n \${applied[$version]:-} ]] && continue
  run -1 -f "$file" -c "insert into schema_migrations (version, name) values ('$version', '\${base#*_}')"
done
`;
