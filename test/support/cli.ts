import { existsSync } from "node:fs";
import { join } from "node:path";

export const BINARY = join(import.meta.dir, "../../dist/st44-migrate");

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, for "never appears anywhere" assertions. */
  readonly output: string;
  readonly ms: number;
}

/**
 * Runs the compiled binary as a user would: a separate process, plain
 * (non-TTY) output, only the environment given (plus PATH and HOME).
 */
export async function runBinary(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; binary?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const binary = options.binary ?? BINARY;
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`bun run build\` first (npm test does).`);
  const started = performance.now();
  const child = Bun.spawn([binary, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...options.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr, output: stdout + stderr, ms: performance.now() - started };
}
