/**
 * One timed run of one command: wall time measured here around a blocking
 * spawn, peak RSS from GNU time (`%M`, the child's ru_maxrss from wait4).
 *
 * Bun's own spawnSync().resourceUsage.maxRSS is not used: on this machine it
 * reported 23 MiB for `psql --version` where GNU time reports 8 MiB (the
 * high-water mark of the forked Bun image leaks into the child's figure).
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface Sample {
  readonly ms: number;
  /** Peak resident set size in KiB, null when GNU time is not available. */
  readonly rssKiB: number | null;
}

export interface RunOptions {
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** Kill the command after this many ms (a hung tool must not hang the bench). */
  readonly timeoutMs?: number;
}

export class CommandFailed extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(`${argv.join(" ")} exited ${exitCode ?? "by a signal"}: ${output.trim().split("\n").slice(-6).join(" | ")}`);
  }
}

export interface Measurer {
  /** GNU time's path, or null (then RSS is not measured). */
  readonly timeBin: string | null;
  run(argv: readonly string[], options: RunOptions): Sample;
}

export function createMeasurer(timeBin: string | null, scratchDir: string): Measurer {
  const rssFile = join(scratchDir, "rss.txt");
  return {
    timeBin,
    run(argv, options) {
      rmSync(rssFile, { force: true });
      const command = timeBin === null ? [...argv] : [timeBin, "-f", "%M", "-o", rssFile, ...argv];
      const started = performance.now();
      const result = Bun.spawnSync(command, {
        env: options.env,
        cwd: options.cwd,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        timeout: options.timeoutMs ?? 600_000,
      });
      const ms = performance.now() - started;
      if (result.exitCode !== 0) {
        const output = `${result.stdout?.toString() ?? ""}\n${result.stderr?.toString() ?? ""}`;
        throw new CommandFailed(argv, result.exitCode, output);
      }
      let rssKiB: number | null = null;
      if (timeBin !== null) {
        const lines = readFileSync(rssFile, "utf8").trim().split("\n");
        const value = Number(lines.at(-1));
        rssKiB = Number.isFinite(value) ? value : null;
      }
      return { ms, rssKiB };
    },
  };
}

export interface Summary {
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Median of the peak RSS of each run, MiB. */
  readonly medianRssMiB: number | null;
  readonly maxRssMiB: number | null;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function summarize(samples: readonly Sample[]): Summary {
  const times = samples.map((sample) => sample.ms);
  const rss = samples.flatMap((sample) => (sample.rssKiB === null ? [] : [sample.rssKiB / 1024]));
  return {
    runs: samples.length,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    medianRssMiB: rss.length === 0 ? null : median(rss),
    maxRssMiB: rss.length === 0 ? null : Math.max(...rss),
  };
}
