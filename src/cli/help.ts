import type { ArgDef, ArgsDef } from "citty";

/**
 * Help text, rendered here rather than by citty: citty colours it even when
 * piped, pads every line to the longest flag plus the longest description
 * (~200 columns) and shows a required positional as optional. Plain text,
 * wrapped to fit an 80-column terminal, pastes into a ticket as it is.
 */
export const HELP_WIDTH = 80;

const FLAG_INDENT = "  ";
const DESCRIPTION_INDENT = "      ";

/** Greedy word wrap; a word longer than the line stays whole on its own line. */
export function wrap(text: string, width: number, indent = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}

/** What follows the flags in a usage line: `run` passes everything after "--" on. */
const TRAILING_USAGE: Readonly<Record<string, string>> = { run: "-- COMMAND [ARGS...]" };

function positionalName(name: string, definition: ArgDef): string {
  return "valueHint" in definition && definition.valueHint ? definition.valueHint : name.toUpperCase();
}

function flagLabel(name: string, definition: ArgDef): string {
  if (definition.type === "boolean") return `--${name}`;
  return `--${name} ${"valueHint" in definition && definition.valueHint ? definition.valueHint : "VALUE"}`;
}

function entry(label: string, description: string | undefined): string[] {
  return [FLAG_INDENT + label, ...wrap(description ?? "", HELP_WIDTH, DESCRIPTION_INDENT)];
}

export interface HelpSubject {
  readonly name: string;
  readonly description: string;
  readonly args: ArgsDef;
}

export function renderCommandHelp(program: string, command: HelpSubject): string {
  const positionals = Object.entries(command.args).filter(([, definition]) => definition.type === "positional");
  const flags = Object.entries(command.args).filter(([, definition]) => definition.type !== "positional");
  const usage = [
    `${program} ${command.name}`,
    ...positionals.map(([name, definition]) => (definition.required ? positionalName(name, definition) : `[${positionalName(name, definition)}]`)),
    "[FLAGS]",
    ...(TRAILING_USAGE[command.name] ? [TRAILING_USAGE[command.name]] : []),
  ].join(" ");
  const lines = [...wrap(`${program} ${command.name}: ${command.description}`, HELP_WIDTH), "", ...wrap(`Usage: ${usage}`, HELP_WIDTH), ""];
  if (positionals.length > 0) {
    lines.push("Arguments:");
    for (const [name, definition] of positionals) lines.push(...entry(positionalName(name, definition), definition.description));
    lines.push("");
  }
  lines.push("Flags:");
  for (const [name, definition] of flags) lines.push(...entry(flagLabel(name, definition), definition.description));
  lines.push(...entry("--help, -h", "Show this help"));
  return `${lines.join("\n")}\n`;
}

export function renderRootHelp(program: string, version: string, description: string, commands: readonly HelpSubject[], globalArgs: ArgsDef): string {
  const nameWidth = Math.max(...commands.map((command) => command.name.length)) + 2;
  const lines = [...wrap(`${program} ${version}: ${description}`, HELP_WIDTH), "", `Usage: ${program} COMMAND [FLAGS]`, "", "Commands:"];
  for (const command of commands) {
    const [first = "", ...rest] = wrap(command.description, HELP_WIDTH, " ".repeat(FLAG_INDENT.length + nameWidth));
    lines.push(FLAG_INDENT + command.name.padEnd(nameWidth) + first.trimStart(), ...rest);
  }
  lines.push("", "Flags of every command (before or after it):");
  for (const [name, definition] of Object.entries(globalArgs)) lines.push(...entry(flagLabel(name, definition), definition.description));
  lines.push(...entry("--help, -h", "Show the help of the command (or this help)"), ...entry("--version, -v", "Print the version alone"));
  lines.push("", ...wrap(`${program} COMMAND --help lists the flags of COMMAND. Exit codes and every error: see the README.`, HELP_WIDTH));
  return `${lines.join("\n")}\n`;
}
