import { type ArgsDef, type CommandDef, defineCommand } from "citty";
import { buildInfo } from "../build-info.ts";
import { ExitCode, MigrateError } from "../core/errors.ts";
import { type Logger, createLogger } from "../log.ts";
import { resolveLogFormat } from "../config.ts";
import { stderrIsTerminal, writeStderr, writeStdout } from "../output.ts";
import { reportError } from "./report-error.ts";
import { logFormatArg } from "./args.ts";
import { renderCommandHelp, renderRootHelp } from "./help.ts";

/** Subcommands load lazily: `--help` and `version` never load the database driver. */
const load = (importer: () => Promise<{ default: unknown }>) => () => importer().then((module) => module.default as CommandDef<ArgsDef>);
const subCommands = {
  up: load(() => import("./commands/up.ts")),
  run: load(() => import("./commands/run.ts")),
  status: load(() => import("./commands/status.ts")),
  plan: load(() => import("./commands/plan.ts")),
  verify: load(() => import("./commands/verify.ts")),
  down: load(() => import("./commands/down.ts")),
  baseline: load(() => import("./commands/baseline.ts")),
  repair: load(() => import("./commands/repair.ts")),
  "mark-applied": load(() => import("./commands/mark-applied.ts")),
  forget: load(() => import("./commands/forget.ts")),
  health: load(() => import("./commands/health.ts")),
  create: load(() => import("./commands/create.ts")),
  import: load(() => import("./commands/import.ts")),
  version: load(() => import("./commands/version.ts")),
  dump: load(() => import("./commands/dump.ts")),
  check: load(() => import("./commands/check.ts")),
} satisfies Record<string, () => Promise<CommandDef<ArgsDef>>>;

export const rootCommand = defineCommand({
  meta: {
    name: "st44-migrate",
    version: buildInfo.version,
    description: "PostgreSQL migrations for st44: apply under a lock, report status, then start the API",
  },
  subCommands,
});

/** Arguments after `--` belong to the command `run` starts, never to us (citty would read --help there). */
export function splitAtDoubleDash(argv: readonly string[]): { own: string[]; passthrough: string[] | null } {
  const index = argv.indexOf("--");
  return index === -1 ? { own: [...argv], passthrough: null } : { own: argv.slice(0, index), passthrough: argv.slice(index + 1) };
}

const resolve = async <T>(value: T | (() => T | Promise<T>) | Promise<T> | undefined): Promise<T | undefined> =>
  typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;

async function argsOf(command: CommandDef<ArgsDef>): Promise<ArgsDef> {
  return (await resolve(command.args)) ?? {};
}

/** The flags of any command that take a value: only needed when flags come before the command. */
async function flagsTakingValues(): Promise<Set<string>> {
  const names = new Set(Object.keys(logFormatArg));
  for (const load of Object.values(subCommands)) {
    for (const [name, definition] of Object.entries(await argsOf(await load()))) {
      if (definition.type === "string" || definition.type === "enum") names.add(name);
    }
  }
  return names;
}

/** Where the command is: the first argument that is neither a flag nor a flag's value; -1 when there is none. */
async function commandIndex(own: readonly string[]): Promise<number> {
  const first = own[0];
  if (first === undefined) return -1;
  // The usual case, the command first, needs no command definitions loaded.
  if (!first.startsWith("-") || first === "-") return 0;
  const valueFlags = await flagsTakingValues();
  for (let index = 0; index < own.length; index++) {
    const arg = own[index] ?? "";
    if (!arg.startsWith("-") || arg === "-") return index;
    if (!arg.includes("=") && valueFlags.has(arg.replace(/^--?/, ""))) index++;
  }
  return -1;
}

interface Invocation {
  readonly name: string | null;
  readonly command: CommandDef<ArgsDef>;
  /** The command's own arguments: flags given before the command name, then those after it. */
  readonly args: string[];
}

async function resolveCommand(own: readonly string[]): Promise<Invocation> {
  const index = await commandIndex(own);
  if (index === -1) return { name: null, command: rootCommand as CommandDef<ArgsDef>, args: [] };
  const name = own[index] ?? "";
  const load = Object.hasOwn(subCommands, name) ? subCommands[name as keyof typeof subCommands] : undefined;
  if (!load) {
    throw new MigrateError("USAGE", `Unknown command "${name}". Commands: ${Object.keys(subCommands).join(", ")}. See st44-migrate --help.`);
  }
  const command = await load();
  const args = [...own.slice(0, index), ...own.slice(index + 1)];
  // --log-format is every command's (main reads it for the logger); a command that does not read it need not see it.
  return { name, command, args: Object.hasOwn(await argsOf(command), "log-format") ? args : withoutLogFormat(args) };
}

function withoutLogFormat(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? "";
    if (arg === "--log-format") index++;
    else if (!arg.startsWith("--log-format=")) kept.push(arg);
  }
  return kept;
}

async function renderHelp(invocation: Invocation): Promise<string> {
  if (invocation.name === null) {
    const commands = await Promise.all(
      Object.entries(subCommands).map(async ([name, load]) => ({ name, description: (await resolve((await load()).meta))?.description ?? "", args: {} })),
    );
    return renderRootHelp("st44-migrate", buildInfo.version, (await resolve(rootCommand.meta))?.description ?? "", commands, logFormatArg);
  }
  const meta = await resolve(invocation.command.meta);
  return renderCommandHelp("st44-migrate", { name: invocation.name, description: meta?.description ?? "", args: await argsOf(invocation.command) });
}

/** Shell-quotes an argument for a command line the user can paste. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** What a command's run() receives as args: each flag and positional by its name. */
export type ParsedFlags = Record<string, string | boolean | undefined>;

/**
 * Parses a command's arguments against its citty definitions. Not citty's
 * runCommand: that one ignores unknown flags and takes a missing value as
 * empty (both hide typos), and deriving camelCase aliases for every flag
 * costs it about a millisecond on each container start.
 */
export async function parseFlags(name: string, command: CommandDef<ArgsDef>, args: readonly string[]): Promise<ParsedFlags> {
  const definitions = await argsOf(command);
  const parsed: ParsedFlags = {};
  const positionals: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? "";
    if (!arg.startsWith("-") || arg === "-") {
      // run takes no argument of its own: what follows (flags of the application's included) is the command to start.
      if (name === "run") {
        const suggestion = ["st44-migrate", "run", ...args.slice(0, index), "--", ...args.slice(index)].map(shellQuote).join(" ");
        throw new MigrateError("USAGE", `Unexpected argument "${arg}" for "st44-migrate run". The command to start goes after "--": ${suggestion}. See st44-migrate run --help.`);
      }
      positionals.push(arg);
      continue;
    }
    const [flag = "", inlineValue] = arg.replace(/^--?/, "").split(/=(.*)/s, 2);
    const negated = flag.startsWith("no-") && definitions[flag.slice(3)]?.type === "boolean" && inlineValue === undefined;
    const key = negated ? flag.slice(3) : flag;
    const definition = Object.hasOwn(definitions, key) ? definitions[key] : undefined;
    if (!definition || definition.type === "positional") {
      throw new MigrateError("USAGE", `Unknown flag ${arg.split("=")[0]} for "st44-migrate ${name}". See st44-migrate ${name} --help for its flags.`);
    }
    if (definition.type === "boolean") {
      if (inlineValue !== undefined && inlineValue !== "true" && inlineValue !== "false") {
        throw new MigrateError("USAGE", `Flag --${flag} is a switch: give it alone (or as --${flag}=true / --${flag}=false), not --${flag}=${inlineValue}. See st44-migrate ${name} --help.`);
      }
      parsed[key] = negated ? false : inlineValue !== "false";
      continue;
    }
    const value = inlineValue ?? args[index + 1];
    if (value === undefined || value === "" || (inlineValue === undefined && value.startsWith("--"))) {
      throw new MigrateError("USAGE", `Flag --${flag} needs a value (${"valueHint" in definition ? definition.valueHint : "a value"}). See st44-migrate ${name} --help.`);
    }
    if (inlineValue === undefined) index++;
    parsed[key] = value;
  }
  for (const [key, definition] of Object.entries(definitions)) {
    if (definition.type === "positional" && positionals.length > 0) parsed[key] = positionals.shift();
  }
  if (positionals.length > 0) {
    throw new MigrateError("USAGE", `Unexpected argument "${positionals[0]}" for "st44-migrate ${name}". See st44-migrate ${name} --help.`);
  }
  return parsed;
}

/** Docker's HEALTHCHECK knows 0 and 1 (2 is reserved): every failure of health is "unhealthy". */
function exitCodeOf(name: string | null, code: number): number {
  return name === "health" && code !== ExitCode.ok ? ExitCode.migrationFailed : code;
}

/** Runs the CLI and returns the exit code; the caller exits. */
export async function main(argv: readonly string[]): Promise<number> {
  const { own, passthrough } = splitAtDoubleDash(argv);
  let log = createLogger("plain");
  // Reported once the command is known, so that health still exits 1.
  let logFormatError: unknown = null;
  try {
    log = createLogger(resolveLogFormat(parseLogFormatFlag(own), process.env, stderrIsTerminal()));
  } catch (error) {
    logFormatError = error;
  }
  let name: string | null = null;
  try {
    if (own.length === 1 && (own[0] === "--version" || own[0] === "-v")) {
      writeStdout(`${buildInfo.version}\n`);
      return ExitCode.ok;
    }
    const invocation = await resolveCommand(own);
    name = invocation.name;
    if (logFormatError !== null) throw logFormatError;
    const helpRequested = own.includes("--help") || own.includes("-h");
    if (helpRequested || name === null) {
      (helpRequested ? writeStdout : writeStderr)(await renderHelp(invocation));
      return helpRequested ? ExitCode.ok : ExitCode.usage;
    }
    const args = await parseFlags(name, invocation.command, invocation.args);
    const result: unknown = await invocation.command.run?.({ rawArgs: invocation.args, args: args as never, cmd: invocation.command, data: { passthrough } });
    // A command returns its exit code when it is not an error (health: 1 = unhealthy).
    return typeof result === "number" ? result : ExitCode.ok;
  } catch (error) {
    return exitCodeOf(name, reportError(error, log));
  }
}

function parseLogFormatFlag(own: readonly string[]): Record<string, unknown> {
  const index = own.findIndex((arg) => arg === "--log-format" || arg.startsWith("--log-format="));
  if (index === -1) return {};
  const arg = own[index] ?? "";
  return { "log-format": arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : own[index + 1] };
}

/** Last line of defence: an error nothing caught is printed like any other (redacted, with a code) and exits 10. */
export function exitOnUncaught(error: unknown): void {
  process.exit(reportError(error, createLogger("plain")));
}

/** Output is written synchronously (output.ts): when main returns, everything is out. */
export async function runCli(argv: readonly string[]): Promise<never> {
  process.exit(await main(argv));
}

