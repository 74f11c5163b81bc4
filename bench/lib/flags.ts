/**
 * The flags of bench/run.ts, parsed without side effects so the test suite
 * can check them (test/bench/flags.test.ts). A bad flag is a FlagError: its
 * message says what is wrong and what to pass instead; run.ts prints it and
 * exits 2.
 */
import { parseArgs } from "node:util";

export const WORKLOAD_IDS = ["W1", "W2", "SCRAM", "W3", "W4", "W5", "W6", "W7", "W8"] as const;
export type WorkloadId = (typeof WORKLOAD_IDS)[number];

export const BUILD_MODES = ["auto", "missing", "always", "never"] as const;
export type BuildMode = (typeof BUILD_MODES)[number];

export class FlagError extends Error {}

export interface BenchFlags {
  readonly help: boolean;
  readonly smoke: boolean;
  readonly quick: boolean;
  /** Runs per row of every workload but W3. */
  readonly reps: number;
  /** Runs per row of W3 (each run applies the whole generated set). */
  readonly heavyReps: number;
  /** Size of the generated set of W3-W5. */
  readonly generated: number;
  /** Size of the large set of W6-W8 (and of the binary that embeds it). */
  readonly large: number;
  readonly workloads: ReadonlySet<WorkloadId>;
  /** Runner ids, or null for all of them. */
  readonly tools: ReadonlySet<string> | null;
  readonly url: string | undefined;
  readonly build: BuildMode;
  readonly binary: string | undefined;
  readonly candidates: readonly string[];
  /** Every workload and tool at the default sizes with 7 or more runs: the kind of run docs/benchmarks.md holds. */
  readonly fullRun: boolean;
  readonly write: boolean;
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new FlagError(`--${name} needs a positive integer (a count of runs or migrations), not "${value}"`);
  }
  return parsed;
}

export function parseBenchFlags(argv: readonly string[]): BenchFlags {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        reps: { type: "string" },
        "heavy-reps": { type: "string" },
        generated: { type: "string" },
        large: { type: "string" },
        only: { type: "string" },
        tools: { type: "string" },
        url: { type: "string" },
        build: { type: "string" },
        binary: { type: "string" },
        candidate: { type: "string", multiple: true },
        quick: { type: "boolean", default: false },
        smoke: { type: "boolean", default: false },
        write: { type: "boolean" },
        "no-write": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new FlagError(`${error instanceof Error ? error.message : String(error)} (bun bench/run.ts --help lists the flags)`);
  }
  const smoke = values.smoke ?? false;
  const quick = (values.quick ?? false) || smoke;
  const reps = positiveInt(values.reps, "reps", smoke ? 1 : quick ? 3 : 9);
  const heavyReps = positiveInt(values["heavy-reps"], "heavy-reps", quick ? 1 : 3);
  const generated = positiveInt(values.generated, "generated", 1000);
  const large = positiveInt(values.large, "large", 10_000);
  const workloads = new Set<WorkloadId>(
    (values.only ?? (smoke ? "W2" : WORKLOAD_IDS.join(","))).split(",").map((id) => {
      const upper = id.trim().toUpperCase();
      if (!(WORKLOAD_IDS as readonly string[]).includes(upper)) {
        throw new FlagError(`--only takes workload ids separated by commas (${WORKLOAD_IDS.join(", ")}), not "${id}"`);
      }
      return upper as WorkloadId;
    }),
  );
  const tools = values.tools ? new Set(values.tools.split(",").map((id) => id.trim())) : smoke ? new Set(["st44-migrate", "bun-floor"]) : null;
  const build = values.build ?? (smoke ? "missing" : "auto");
  if (!(BUILD_MODES as readonly string[]).includes(build)) {
    throw new FlagError(`--build takes ${BUILD_MODES.join(", ")}, not "${build}"`);
  }
  const candidates = values.candidate ?? [];
  const fullRun =
    !quick &&
    reps >= 7 &&
    values.only === undefined &&
    values.tools === undefined &&
    values.generated === undefined &&
    values.large === undefined &&
    values.binary === undefined &&
    candidates.length === 0;
  const write = values["no-write"] ? false : (values.write ?? fullRun);
  return {
    help: values.help ?? false,
    smoke,
    quick,
    reps,
    heavyReps,
    generated,
    large,
    workloads,
    tools,
    url: values.url,
    build: build as BuildMode,
    binary: values.binary,
    candidates,
    fullRun,
    write,
  };
}
