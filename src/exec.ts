/**
 * Replaces this process with the application (execve), so the application
 * keeps our PID (PID 1 in a container), receives SIGTERM from the runtime
 * directly, and its exit status is the container's. Where execve cannot be
 * reached (no FFI), spawns it instead and forwards signals.
 */
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { MigrateError } from "./core/errors.ts";
import type { Logger } from "./log.ts";

const FORWARDED_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const;
/** SIGPIPE and SIGXFSZ (13 and 25 on Linux and macOS), which Bun and Deno ignore; ignored dispositions survive execve. */
const SIGNALS_TO_RESET = [13, 25];

/** execve does not search PATH: find the executable as a shell would. */
export function resolveExecutable(command: string, pathVariable: string | undefined, cwd = process.cwd()): string {
  const isRunnable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/")) {
    const file = isAbsolute(command) ? command : resolve(cwd, command);
    if (isRunnable(file)) return file;
    throw new MigrateError("COMMAND_NOT_FOUND", `Cannot start ${command}: no executable file at ${file}. Check the path after "--" (and that the file is executable).`);
  }
  for (const directory of (pathVariable ?? "").split(delimiter)) {
    if (directory === "") continue;
    const file = join(directory, command);
    if (isRunnable(file)) return file;
  }
  throw new MigrateError(
    "COMMAND_NOT_FOUND",
    `Cannot start ${command}: not found on PATH (${pathVariable ?? "PATH is not set"}). Give its absolute path after "--", or add its directory to PATH.`,
  );
}

function cString(text: string | Uint8Array): Uint8Array {
  if (typeof text === "string") return new TextEncoder().encode(`${text}\0`);
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return bytes;
}

/**
 * A NULL-terminated array of pointers to C strings (argv, envp). The strings
 * are kept reachable from the returned array's `strings` so the garbage
 * collector cannot free them before execve reads them.
 */
function pointerArray(values: readonly (string | Uint8Array)[], pointerOf: (bytes: Uint8Array) => bigint): BigUint64Array & { strings: Uint8Array[] } {
  const strings = values.map(cString);
  const array = Object.assign(new BigUint64Array(values.length + 1), { strings });
  strings.forEach((bytes, index) => {
    array[index] = pointerOf(bytes);
  });
  return array;
}

function environmentStrings(): string[] {
  return Object.entries(process.env).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${value}`]));
}

/** A NUL-separated /proc file as its entries, byte for byte; null where there is no such file (not Linux). */
function procEntries(path: string): Uint8Array[] | null {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  const entries: Uint8Array[] = [];
  let start = 0;
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] === 0) {
      entries.push(bytes.subarray(start, index));
      start = index + 1;
    }
  }
  if (start < bytes.length) entries.push(bytes.subarray(start));
  return entries;
}

const lossy = new TextDecoder();
const sameText = (raw: readonly Uint8Array[], text: readonly string[]) => raw.length === text.length && raw.every((bytes, index) => lossy.decode(bytes) === text[index]);

/**
 * The command and environment to exec, byte for byte as this process got
 * them: the runtime decodes argv and the environment as UTF-8, turning
 * bytes that are not into U+FFFD, so on Linux the raw bytes are read back
 * from /proc. Used only when they decode to exactly what the runtime holds
 * (nothing was changed since start); otherwise the strings are passed.
 */
export function rawExecInputs(argv: readonly string[], env: readonly string[]): { argv: readonly (string | Uint8Array)[]; env: readonly (string | Uint8Array)[] } {
  const cmdline = procEntries("/proc/self/cmdline");
  const dash = cmdline?.findIndex((bytes) => bytes.length === 2 && bytes[0] === 0x2d && bytes[1] === 0x2d) ?? -1;
  const rawArgv = cmdline && dash !== -1 ? cmdline.slice(dash + 1) : null;
  const rawEnv = procEntries("/proc/self/environ");
  // The runtime may list the environment in another order: compare both sorted by their decoded text, decoded once.
  const byText = <T extends { text: string }>(entries: T[]): T[] => entries.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const decodedRaw = byText((rawEnv ?? []).map((bytes) => ({ bytes, text: lossy.decode(bytes) })));
  const runtime = byText(env.map((text) => ({ text })));
  const envMatches = rawEnv !== null && decodedRaw.length === runtime.length && decodedRaw.every((entry, index) => entry.text === runtime[index]?.text);
  return {
    argv: rawArgv !== null && sameText(rawArgv, argv) ? rawArgv : argv,
    env: envMatches ? decodedRaw.map((entry) => entry.bytes) : env,
  };
}

function libcCandidates(): string[] {
  if (process.platform === "darwin") return ["/usr/lib/libSystem.B.dylib"];
  // glibc first: a Debian machine can carry a musl loader too, so its presence proves nothing.
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  return ["libc.so.6", `libc.musl-${arch}.so.1`, `/lib/ld-musl-${arch}.so.1`, "libc.so"];
}

const errnoSymbol = process.platform === "darwin" ? "__error" : "__errno_location";

type Exec = (file: string, argv: readonly (string | Uint8Array)[], env: readonly (string | Uint8Array)[]) => number;

/** execve through bun:ffi; returns null when FFI is unavailable. */
async function bunExec(): Promise<Exec | null> {
  // A variable specifier keeps other runtimes from trying to resolve "bun:ffi".
  const specifier = "bun:ffi";
  const ffi = (await import(specifier)) as typeof import("bun:ffi");
  for (const name of libcCandidates()) {
    let lib;
    try {
      lib = ffi.dlopen(name, {
        execve: { args: [ffi.FFIType.ptr, ffi.FFIType.ptr, ffi.FFIType.ptr], returns: ffi.FFIType.i32 },
        signal: { args: [ffi.FFIType.i32, ffi.FFIType.ptr], returns: ffi.FFIType.ptr },
        [errnoSymbol]: { args: [], returns: ffi.FFIType.ptr },
      });
    } catch {
      continue;
    }
    const symbols = lib.symbols as Record<string, (...args: unknown[]) => unknown>;
    return (file, argv, env) => {
      const pointerOf = (bytes: Uint8Array) => BigInt(ffi.ptr(bytes));
      for (const signal of SIGNALS_TO_RESET) symbols.signal?.(signal, null);
      const fileBytes = cString(file);
      const argvArray = pointerArray(argv, pointerOf);
      const envArray = pointerArray(env, pointerOf);
      symbols.execve?.(ffi.ptr(fileBytes), ffi.ptr(argvArray), ffi.ptr(envArray));
      // Only reached when execve failed.
      const errnoPointer = symbols[errnoSymbol]?.() as number | null;
      return errnoPointer ? ffi.read.i32(errnoPointer as never, 0) : -1;
    };
  }
  return null;
}

interface DenoFfi {
  dlopen(name: string, symbols: Record<string, { parameters: string[]; result: string }>): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointer: { of(value: Uint8Array | BigUint64Array): unknown; value(pointer: unknown): bigint };
  UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number };
}

/** execve through Deno.dlopen (needs --allow-ffi); null when not permitted. */
function denoExec(deno: DenoFfi): Exec | null {
  for (const name of libcCandidates()) {
    let lib;
    try {
      lib = deno.dlopen(name, {
        execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
        signal: { parameters: ["i32", "pointer"], result: "pointer" },
        [errnoSymbol]: { parameters: [], result: "pointer" },
      });
    } catch (error) {
      if ((error as Error).name === "NotCapable" || (error as Error).name === "PermissionDenied") return null;
      continue;
    }
    const { symbols } = lib;
    return (file, argv, env) => {
      const pointerOf = (bytes: Uint8Array) => deno.UnsafePointer.value(deno.UnsafePointer.of(bytes));
      for (const signal of SIGNALS_TO_RESET) symbols.signal?.(signal, null);
      symbols.execve?.(cString(file), pointerArray(argv, pointerOf), pointerArray(env, pointerOf));
      const errnoPointer = symbols[errnoSymbol]?.();
      return errnoPointer ? new deno.UnsafePointerView(errnoPointer).getInt32() : -1;
    };
  }
  return null;
}

async function findExec(): Promise<Exec | null> {
  const globals = globalThis as { Bun?: unknown; Deno?: DenoFfi };
  try {
    if (globals.Bun !== undefined) return await bunExec();
    if (globals.Deno !== undefined) return denoExec(globals.Deno);
  } catch {
    return null;
  }
  return null;
}

/** Runs the command as a child, forwarding signals, and exits with its status (128+signal when killed). */
async function spawnAndWait(file: string, argv: readonly string[]): Promise<never> {
  const globals = globalThis as { Deno?: { Command: new (file: string, options: unknown) => { spawn(): { pid: number; status: Promise<{ code: number; signal: string | null }>; kill(signal: string): void } }; addSignalListener(signal: string, handler: () => void): void } };
  const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15, SIGKILL: 9 };
  if (globals.Deno !== undefined) {
    // node:child_process under Deno misreports a child that handled SIGTERM and exited with a code.
    const child = new globals.Deno.Command(file, { args: argv.slice(1), stdin: "inherit", stdout: "inherit", stderr: "inherit" }).spawn();
    for (const signal of FORWARDED_SIGNALS) globals.Deno.addSignalListener(signal, () => child.kill(signal));
    const status = await child.status;
    process.exit(status.signal ? 128 + (signalNumbers[status.signal] ?? 0) : status.code);
  }
  const { spawn } = await import("node:child_process");
  const { constants: osConstants } = await import("node:os");
  const child = spawn(file, argv.slice(1), { stdio: "inherit", argv0: argv[0] });
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => child.kill(signal));
  return new Promise<never>((_, reject) => {
    child.on("error", (error) => reject(new MigrateError("EXEC_FAILED", `Cannot start ${file}: ${error.message}.`, { cause: error })));
    child.on("exit", (code, signal) => {
      process.exit(signal ? 128 + (osConstants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}

const ERRNO_NAMES: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 7: "E2BIG", 8: "ENOEXEC", 12: "ENOMEM", 13: "EACCES", 20: "ENOTDIR", 26: "ETXTBSY" };

/**
 * Replaces the process with `argv`, running `file` (resolveExecutable's
 * answer for argv[0]). Never returns: on success another program runs in
 * this process; with the spawn fallback the process exits with the child's
 * status.
 */
export async function execApplication(file: string, argv: readonly string[], log: Logger, mode: "auto" | "spawn" = "auto"): Promise<never> {
  const command = argv[0] ?? file;
  const exec = mode === "spawn" ? null : await findExec();
  if (exec === null) {
    log.warn(`execve is not available here (${mode === "spawn" ? "ST44_EXEC=spawn" : "no FFI"}); starting ${command} as a child process and forwarding signals`, {
      event: "exec_fallback",
    });
    return spawnAndWait(file, argv);
  }
  // The start-up lines are already out: output.ts writes synchronously, so nothing is lost with this process image.
  const inputs = rawExecInputs(argv, environmentStrings());
  const errno = exec(file, inputs.argv, inputs.env);
  const name = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  throw new MigrateError(
    "EXEC_FAILED",
    `Cannot start ${file}: execve failed with ${name}. ${errno === 8 ? "It is not a binary nor a script with a #! line." : errno === 13 ? "It is not executable by this user (chmod +x, or check the mount is not noexec)." : "Check the command after --."}`,
  );
}
