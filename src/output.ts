import { writeSync } from "node:fs";
import { isatty } from "node:tty";

/**
 * Standard output and error, written synchronously to the descriptors.
 *
 * Why not process.stdout/process.stderr: creating those streams loads
 * node:stream and the fs stream classes (~9 ms for an empty Bun program;
 * less where postgres.js has loaded the stream modules already), and a
 * stream write returns before the bytes are out, so a large output was cut
 * when the process exited in front of a slow reader. A synchronous write is
 * complete when it returns: nothing to flush before exit or execve.
 */

const STDOUT = 1;
const STDERR = 2;

/** A descriptor shared with a parent may be non-blocking: wait a moment on EAGAIN instead of dropping output. */
const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, text: string): void {
  if (text === "") return;
  const bytes = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "EAGAIN") {
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      // EPIPE and the like: the reader is gone (status | head); there is nobody to tell.
      return;
    }
  }
}

export function writeStdout(text: string): void {
  writeAll(STDOUT, text);
}

export function writeStderr(text: string): void {
  writeAll(STDERR, text);
}

/** Whether logs go to a terminal (pretty format by default); asks the descriptor, not the stream. */
export function stderrIsTerminal(): boolean {
  return isatty(STDERR);
}
