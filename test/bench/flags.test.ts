/**
 * The flags of bench/run.ts (bench/lib/flags.ts) and the targets the report
 * computes from a run (bench/lib/report.ts): pure functions, no database.
 */
import { describe, expect, test } from "bun:test";
import { FlagError, WORKLOAD_IDS, parseBenchFlags } from "../../bench/lib/flags.ts";
import { LIMITS, type WorkloadResult, targets } from "../../bench/lib/report.ts";

describe("parseBenchFlags", () => {
  test("no flags is a full run of every workload at the default sizes, written to the doc", () => {
    const flags = parseBenchFlags([]);
    expect({ reps: flags.reps, heavyReps: flags.heavyReps, generated: flags.generated, large: flags.large, fullRun: flags.fullRun, write: flags.write }).toEqual({
      reps: 9,
      heavyReps: 3,
      generated: 1000,
      large: 10_000,
      fullRun: true,
      write: true,
    });
    expect([...flags.workloads]).toEqual([...WORKLOAD_IDS]);
    expect(flags.tools).toBeNull();
  });

  test("--large sets the size of W6-W8 and makes the run partial (not written)", () => {
    const flags = parseBenchFlags(["--large", "2500"]);
    expect(flags.large).toBe(2500);
    expect(flags.fullRun).toBe(false);
    expect(flags.write).toBe(false);
    expect(parseBenchFlags(["--large=300", "--write"]).write).toBe(true);
  });

  test("--only takes the new workload ids, in any case", () => {
    expect([...parseBenchFlags(["--only", "w6,W7, w8,scram"]).workloads]).toEqual(["W6", "W7", "W8", "SCRAM"]);
  });

  test("--smoke is one run of W2 for st44-migrate and the Bun floor, nothing written", () => {
    const flags = parseBenchFlags(["--smoke"]);
    expect({ reps: flags.reps, workloads: [...flags.workloads], tools: [...(flags.tools ?? [])], build: flags.build, write: flags.write }).toEqual({
      reps: 1,
      workloads: ["W2"],
      tools: ["st44-migrate", "bun-floor"],
      build: "missing",
      write: false,
    });
  });

  test.each([
    [["--large", "0"], /--large needs a positive integer/],
    [["--large", "1e4"], /--large needs a positive integer/],
    [["--large=-5"], /--large needs a positive integer/],
    [["--reps", "two"], /--reps needs a positive integer/],
    [["--only", "W9"], /--only takes workload ids .*W1, W2, SCRAM, .*W8.* not "W9"/],
    [["--build", "sometimes"], /--build takes auto, missing, always, never/],
    [["--lagre", "10"], /--lagre.*bun bench\/run.ts --help/],
  ])("%p is refused with a message that says what to pass", (argv, message) => {
    expect(() => parseBenchFlags(argv)).toThrow(FlagError);
    expect(() => parseBenchFlags(argv)).toThrow(message);
  });
});

function workload(id: string, medians: Record<string, number>, maxRssMiB = 40): WorkloadResult {
  return {
    id,
    title: id,
    reps: 1,
    floorId: "bun-floor",
    floorLabel: "floor",
    notes: [],
    rows: Object.entries(medians).map(([runnerId, medianMs]) => ({
      runnerId,
      label: runnerId,
      kind: runnerId.includes("floor") ? "floor" : "tool",
      error: null,
      summary: { runs: 1, medianMs, minMs: medianMs, maxMs: medianMs, medianRssMiB: maxRssMiB, maxRssMiB },
    })),
  };
}

describe("targets of issue 14", () => {
  test("are computed from the run's medians against issue 14's limits", () => {
    const checked = targets(
      [
        workload("W2", { "st44-migrate": 21, dbmate: 30, "bun-floor": 20 }),
        workload("W6", { "st44-migrate": 120, "st44-migrate-dir": 100, dbmate: 90, "bun-floor": 20 }, 70),
        workload("W7", { "st44-migrate": 160, dbmate: 100, "bun-floor": 20 }),
        workload("W1", { "st44-migrate": 80, dbmate: 84, "server-floor": 60 }),
      ],
      { count: 10_000, seedBytes: 103, embeddedBytes: 120, bareBytes: 100, sqlBytes: 1 },
    );
    const byText = Object.fromEntries(checked.map((target) => [target.text.split(" (")[0], [target.value, target.met]]));
    expect(byText).toEqual({
      "W2 at or below 1.0× dbmate": ["0.70×", true],
      "W6 at or below 1.0× dbmate": ["1.33×", false],
      "W7 at or below 1.0× dbmate": ["1.60×", false],
      "W1 at or below 1.0× dbmate": ["0.95×", true],
      [`W2 at or below ${LIMITS.w2ToBunFloor}× the postgres.js Bun floor`]: ["1.05×", true],
      "W7 at or below 150 ms": ["160 ms", false],
      "W6 embedded no slower than `--dir`": ["1.20×", false],
      "W6 peak RSS below 64 MiB": ["70.0 MiB", false],
      "binary with 10,000 embedded within 10% of the bare runtime plus the SQL text": ["1.19×", false],
      "W1 at or below 1.3× the server floor": ["1.33×", false],
    });
  });

  test("a workload that did not run gives no target, one whose tool failed gives n/a", () => {
    const failed: WorkloadResult = { ...workload("W8", { dbmate: 50 }), rows: [{ runnerId: "st44-migrate", label: "st44-migrate", kind: "tool", error: "exited 1", summary: null }] };
    const checked = targets([failed], null);
    expect(checked.map((target) => [target.text, target.value, target.met])).toEqual([
      ["W8 at or below 1.0× dbmate", "n/a", null],
      ["W8 at or below 150 ms (median)", "n/a", null],
    ]);
  });
});
