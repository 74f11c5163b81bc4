import { type ArgsDef, type CommandDef, defineCommand, renderUsage } from "citty";
import { buildInfo } from "../build-info.ts";
import { ExitCode, MigrateError } from "../core/errors.ts";
import { type Logger, createLogger } from "../log.ts";
import { resolveLogFormat } from "../config.ts";
import { stderrIsTerminal, writeStderr, writeStdout } from "../output.ts";
import { reportError } from "./report-error.ts";

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
  health: load(() => import("./commands/health.ts")),
  create: load(() => import("./commands/create.ts")),
  import: load(() => import("./commands/import.ts")),
  version: load(() => import("./commands/version.ts")),
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

async function resolveCommand(own: readonly string[]): Promise<{ name: string | null; command: CommandDef<ArgsDef> }> {
  const name = own.find((arg) => !arg.startsWith("-")) ?? null;
  if (name === null) return { name, command: rootCommand as CommandDef<ArgsDef> };
  const load = Object.hasOwn(subCommands, name) ? subCommands[name as keyof typeof subCommands] : undefined;
  if (!load) {
    throw new MigrateError("USAGE", `Unknown command "${name}". Commands: ${Object.keys(subCommands).join(", ")}. See st44-migrate --help.`);
  }
  return { name, command: await load() };
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
  const definitions: ArgsDef = (typeof command.args === "function" ? await command.args() : await command.args) ?? {};
  const parsed: ParsedFlags = {};
  const positionals: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? "";
    if (!arg.startsWith("-") || arg === "-") {
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
    const hint = name === "run" ? ` The command to start goes after "--": st44-migrate run -- ${positionals.join(" ")}.` : "";
    throw new MigrateError("USAGE", `Unexpected argument "${positionals[0]}" for "st44-migrate ${name}".${hint} See st44-migrate ${name} --help.`);
  }
  return parsed;
}

/** Runs the CLI and returns the exit code; the caller exits. */
export async function main(argv: readonly string[]): Promise<number> {
  const { own, passthrough } = splitAtDoubleDash(argv);
  let log: Logger;
  try {
    log = createLogger(resolveLogFormat(parseLogFormatFlag(own), process.env, stderrIsTerminal()));
  } catch (error) {
    log = createLogger("plain");
    return reportError(error, log);
  }
  try {
    if (own.length === 1 && (own[0] === "--version" || own[0] === "-v")) {
      writeStdout(`${buildInfo.version}\n`);
      return ExitCode.ok;
    }
    const { name, command } = await resolveCommand(own);
    if (own.includes("--help") || own.includes("-h") || name === null) {
      const usage = await renderUsage(command, name === null ? undefined : (rootCommand as CommandDef<ArgsDef>));
      (name === null && !own.includes("--help") && !own.includes("-h") ? writeStderr : writeStdout)(`${usage}\n`);
      return name === null && !own.includes("--help") && !own.includes("-h") ? ExitCode.usage : ExitCode.ok;
    }
    const rest = own.slice(own.indexOf(name) + 1);
    const args = await parseFlags(name, command, rest);
    const result: unknown = await command.run?.({ rawArgs: rest, args: args as never, cmd: command, data: { passthrough } });
    // A command returns its exit code when it is not an error (health: 1 = unhealthy).
    return typeof result === "number" ? result : ExitCode.ok;
  } catch (error) {
    return reportError(error, log);
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

