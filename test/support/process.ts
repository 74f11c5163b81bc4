import type { Subprocess } from "bun";

/** A spawned process whose output is collected as it arrives, to wait for a line. */
export interface Watched {
  readonly child: Subprocess<"ignore", "pipe", "pipe">;
  stdout(): string;
  stderr(): string;
  /** Resolves with the output once `pattern` appears on stdout or stderr; rejects after timeoutMs or if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number>;
}

export function spawnWatched(argv: string[], options: { env: Record<string, string>; cwd?: string }): Watched {
  const child = Bun.spawn(argv, { env: options.env, cwd: options.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  let err = "";
  const pump = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  };
  const pumped = Promise.all([pump(child.stdout, (t) => (out += t)), pump(child.stderr, (t) => (err += t))]);
  const exited = pumped.then(() => child.exited);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let done = false;
      exited.then(() => (done = true));
      for (;;) {
        const match = (out + err).match(pattern);
        if (match) return match;
        if (done) throw new Error(`process exited before ${pattern} appeared.\nstdout:\n${out}\nstderr:\n${err}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}.\nstdout:\n${out}\nstderr:\n${err}`);
        await Bun.sleep(25);
      }
    },
  };
}
