/**
 * What the bench runs: the runners (the tools and the floors, each a way to
 * turn one step of a workload into an argv) and the workloads W1-W8 and
 * SCRAM (which set, which command, which rows, which floor).
 */
import { join } from "node:path";
import type { WorkloadId } from "./flags.ts";
import type { MigrationSetFiles, SetId } from "./sets.ts";

export type Action = "up" | "status";

/** One step of a workload as a runner sees it. */
export interface Step {
  readonly action: Action;
  /** `status --json` where the tool has it (W8). */
  readonly json: boolean;
  /** st44-migrate runs the binary with the set built in instead of reading it with --dir (W6). */
  readonly embedded: boolean;
}

export const PREPARE_STEP: Step = { action: "up", json: false, embedded: false };

export interface Context {
  readonly set: MigrationSetFiles;
  readonly url: string;
}

export interface Runner {
  readonly id: string;
  readonly label: string;
  readonly kind: "tool" | "floor";
  /** The runner whose prepared database this one uses (a second way to run st44-migrate, a floor reading its table); default: a tool its own, a floor the empty floor database. */
  readonly databaseOf?: string;
  /** At most this many runs in a heavy workload (W3), where one run of this runner takes as long as a round of all the others. */
  readonly heavyRuns?: number;
  /** The argv for one run, or null when this runner has no such command. */
  command(step: Step, context: Context): string[] | null;
}

export interface RunnerPaths {
  readonly root: string;
  readonly st44: string;
  /** st44-migrate built with the large set embedded (W6), or null when W6 does not run. */
  readonly st44Embedded: string | null;
  readonly candidates: readonly string[];
  readonly dbmate: string | null;
  readonly node: string | null;
  readonly psql: string | null;
  readonly floor: string | null;
  readonly floorPlain: string | null;
  readonly loopScript: string;
}

function st44Arguments(step: Step): string[] {
  return step.action === "status" && step.json ? ["status", "--json"] : [step.action];
}

export function defineRunners(paths: RunnerPaths): Runner[] {
  // The seed set is the one built into the binary (a container start); the generated sets are read with --dir.
  const st44 =
    (binary: string, embedded: string | null) =>
    (step: Step, { set }: Context): string[] | null => {
      if (set.id === "seed") return [binary, ...st44Arguments(step)];
      if (step.embedded) return embedded === null ? null : [embedded, ...st44Arguments(step)];
      return [binary, ...st44Arguments(step), "--dir", set.dbmateDir];
    };
  const runners: Runner[] = [{ id: "st44-migrate", label: "st44-migrate", kind: "tool", command: st44(paths.st44, paths.st44Embedded) }];
  paths.candidates.forEach((binary, index) => {
    runners.push({ id: `st44-candidate-${index + 1}`, label: `st44-migrate candidate ${index + 1}`, kind: "tool", command: st44(binary, null) });
  });
  runners.push(
    {
      id: "st44-migrate-dir",
      label: "st44-migrate up --dir (the same files, read from disk)",
      kind: "tool",
      databaseOf: "st44-migrate",
      command: (step, { set }) => [paths.st44, ...st44Arguments(step), "--dir", set.dbmateDir],
    },
    {
      id: "st44-migrate-run",
      label: "st44-migrate run -- /bin/true",
      kind: "tool",
      databaseOf: "st44-migrate",
      command: (step, { set }) => (step.action === "up" ? [paths.st44, "run", ...(set.id === "seed" ? [] : ["--dir", set.dbmateDir]), "--", "/bin/true"] : null),
    },
  );
  if (paths.dbmate) {
    const dbmate = paths.dbmate;
    runners.push({
      id: "dbmate",
      label: "dbmate",
      kind: "tool",
      // dbmate has no JSON status: its plain `status` is the nearest equivalent of W8.
      command: (step, { set }) => [dbmate, "--migrations-dir", set.dbmateDir, "--migrations-table", "dbmate_migrations", "--no-dump-schema", step.action],
    });
  }
  if (paths.node) {
    const node = paths.node;
    const cli = join(paths.root, "node_modules/node-pg-migrate/bin/node-pg-migrate.js");
    runners.push({
      id: "node-pg-migrate",
      label: "node-pg-migrate",
      kind: "tool",
      command: (step, { set }) => (step.action === "up" && set.id !== "large" ? [node, cli, "up", "--migrations-dir", set.nodePgMigrateDir] : null),
    });
  }
  if (paths.psql) {
    const psql = paths.psql;
    runners.push({
      id: "psql-loop",
      label: "psql loop (before st44-migrate)",
      kind: "tool",
      // One psql per file: ~15 s for W3's 1,000 at rest (8x the floor), more than all the other rows of a round.
      heavyRuns: 1,
      command: (step, { set }) => (step.action === "up" && set.id !== "large" ? ["/bin/bash", paths.loopScript, psql, set.upOnlyDir] : null),
    });
  }
  if (paths.floor) {
    const floor = paths.floor;
    runners.push({ id: "bun-floor", label: "Bun floor: select 1 (--bytecode)", kind: "floor", command: () => [floor] });
  }
  if (paths.floorPlain) {
    const floorPlain = paths.floorPlain;
    runners.push({ id: "bun-floor-plain", label: "Bun floor: select 1 (compiled plain)", kind: "floor", command: () => [floorPlain] });
  }
  if (paths.psql) {
    const psql = paths.psql;
    runners.push(
      { id: "psql-select-1", label: "psql select 1", kind: "floor", command: (_, { url }) => [psql, "-X", "-q", "-tA", "-d", url, "-c", "select 1"] },
      {
        id: "psql-read-tracking",
        label: "psql reads st44-migrate's (version, checksum) rows",
        kind: "floor",
        databaseOf: "st44-migrate",
        command: (_, { url }) => [psql, "-X", "-q", "-tA", "-d", url, "-o", "/dev/null", "-c", "select version, checksum from schema_migrations"],
      },
      {
        id: "server-floor",
        label: "server floor: one psql -f, a transaction per migration",
        kind: "floor",
        command: (_, { set, url }) => [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", set.floorScript],
      },
      {
        id: "server-floor-tracked",
        label: "server floor + one tracking row per migration",
        kind: "floor",
        command: (_, { set, url }) => [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", set.floorTrackedScript],
      },
    );
  }
  runners.push(
    {
      id: "sha256sum-files",
      label: "sha256sum of every file (read and hash, in C)",
      kind: "floor",
      command: (_, { set }) => ["/bin/sh", "-c", 'exec sha256sum -- "$0"/*.sql >/dev/null', set.dbmateDir],
    },
    { id: "spawn-overhead", label: "/bin/true (the bench's spawn overhead)", kind: "floor", command: () => ["/bin/true"] },
  );
  return runners;
}

export interface Workload extends Step {
  readonly id: WorkloadId;
  readonly title: string;
  /** The one-line definition the report's header lists. */
  readonly definition: string;
  readonly set: SetId;
  /** A fresh database per run (W1, W3); otherwise one prepared database per tool. */
  readonly fresh: boolean;
  readonly heavy: boolean;
  /** The tools log in with SCRAM-SHA-256 instead of the clear password. */
  readonly scram: boolean;
  readonly runnerIds: readonly string[];
  readonly floorId: string;
  readonly notes: readonly string[];
}

export function defineWorkloads(options: { generated: number; large: number; candidateIds: readonly string[] }): Workload[] {
  const { generated, large } = options;
  const gen = generated.toLocaleString("en-US");
  const big = large.toLocaleString("en-US");
  const tools = ["st44-migrate", ...options.candidateIds, "dbmate", "node-pg-migrate", "psql-loop"];
  const startFloors = ["bun-floor", "psql-select-1", "spawn-overhead"];
  const largeFloors = ["bun-floor", "psql-select-1", "psql-read-tracking", "sha256sum-files", "spawn-overhead"];
  const plain = { json: false, embedded: false, scram: false };
  const largeNote = `node-pg-migrate and the psql loop are left out of the ${big}: at 10,000 applying the set for them takes minutes (the psql loop starts one psql per file), and at ${gen} they are already far behind (W3, W4).`;
  const list: (Omit<Workload, "notes"> & { notes?: readonly string[] })[] = [
    { ...plain, id: "W1", title: "apply the eight seed migrations to an empty database", definition: "`up` of the eight seed migrations (built into the binary) on an empty database, a fresh database per run", set: "seed", action: "up", fresh: true, heavy: false, runnerIds: [...tools, "server-floor", "server-floor-tracked"], floorId: "server-floor" },
    { ...plain, id: "W2", title: "no-op `up` with the eight applied (every container start)", definition: "no-op `up` with the eight seed migrations applied (what every container start pays)", set: "seed", action: "up", fresh: false, heavy: false, runnerIds: [...tools, "bun-floor", "bun-floor-plain", "psql-select-1", "spawn-overhead"], floorId: "bun-floor" },
    { ...plain, scram: true, id: "SCRAM", title: "W2 with SCRAM-SHA-256 logins", definition: "W2, with every tool and floor logging in as a role that the server authenticates with scram-sha-256 (PostgreSQL's default) instead of the clear password", set: "seed", action: "up", fresh: false, heavy: false, runnerIds: [...tools, "bun-floor", "psql-select-1"], floorId: "bun-floor" },
    { ...plain, id: "W3", title: `apply ${gen} generated trivial migrations`, definition: `\`up\` of ${gen} generated migrations \`create table t_N (id int primary key)\` read with \`--dir\`, a fresh database per run`, set: "gen", action: "up", fresh: true, heavy: true, runnerIds: [...tools, "server-floor", "server-floor-tracked"], floorId: "server-floor" },
    { ...plain, id: "W4", title: `no-op \`up --dir\` with ${gen} applied`, definition: `no-op \`up --dir\` with the ${gen} of W3 applied`, set: "gen", action: "up", fresh: false, heavy: false, runnerIds: [...tools, ...startFloors], floorId: "bun-floor" },
    { ...plain, id: "W5", title: `\`status\` with ${gen} applied`, definition: `\`status --dir\` with the ${gen} of W3 applied`, set: "gen", action: "status", fresh: false, heavy: false, runnerIds: [...tools, ...startFloors], floorId: "bun-floor" },
    { ...plain, embedded: true, id: "W6", title: `no-op \`up\` of a binary with ${big} embedded migrations`, definition: `no-op \`up\` of an st44-migrate built with ${big} generated migrations embedded (\`bun scripts/build.ts --migrations DIR\`), ${big} applied; next to it the same binary as W7 reading the same files with \`--dir\`, and dbmate reading them`, set: "large", action: "up", fresh: false, heavy: false, runnerIds: ["st44-migrate", "st44-migrate-dir", "dbmate", ...largeFloors], floorId: "bun-floor", notes: [largeNote] },
    { ...plain, id: "W7", title: `no-op \`up --dir\` with ${big} applied`, definition: `no-op \`up --dir\` with ${big} applied (and \`run --dir DIR -- /bin/true\`: the same, then exec)`, set: "large", action: "up", fresh: false, heavy: false, runnerIds: [...tools, "st44-migrate-run", ...largeFloors], floorId: "bun-floor", notes: [largeNote] },
    { ...plain, json: true, id: "W8", title: `\`status --json\` with ${big} applied`, definition: `\`status --json --dir\` with ${big} applied (dbmate: \`status\`, it has no JSON)`, set: "large", action: "status", fresh: false, heavy: false, runnerIds: [...tools, ...largeFloors], floorId: "bun-floor", notes: [largeNote] },
  ];
  return list.map((workload) => ({ ...workload, notes: workload.notes ?? [] }));
}
