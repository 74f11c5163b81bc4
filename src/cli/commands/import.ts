import { defineCommand } from "citty";
import { resolveLogFormat } from "../../config.ts";
import { MigrateError } from "../../core/errors.ts";
import { planImport } from "../../core/import/convert.ts";
import { type Renumbering, parseRenumbering } from "../../core/import/renumber.ts";
import { formatImportReport, importReportDocument } from "../../core/import/report.ts";
import { checkImportedFolder } from "../../import/check.ts";
import { readLegacyFolder, writeImportedFolder } from "../../import/folder.ts";
import { createLogger } from "../../log.ts";
import { stderrIsTerminal, writeStdout } from "../../output.ts";

export default defineCommand({
  meta: { name: "import", description: "Turn a legacy migrations folder into this tool's format in --out, with a report (and --check: apply it to an empty PostgreSQL)" },
  args: {
    source: { type: "positional", description: "The legacy folder (omit it with --check to check an --out folder again)", required: false },
    out: { type: "string", valueHint: "DIR", description: "Where to write the imported migrations (a new or empty folder)" },
    renumber: { type: "string", valueHint: "FILE=VERSION", description: "Give a legacy file another version (repeatable); it records its old identity as formerly:VERSION_NAME" },
    check: { type: "boolean", description: "Apply the result to an empty PostgreSQL and report the first file that fails, with its line" },
    "check-url": { type: "string", valueHint: "postgres://user@host:5432/empty_db", description: "The empty database --check uses (default: a throwaway embedded PostgreSQL, development checkouts only)" },
    json: { type: "boolean", description: "Print the report as JSON on stdout" },
    "log-format": { type: "string", valueHint: "pretty|plain|json", description: "Log format on stderr" },
  },
  async run({ args, rawArgs }) {
    const out = typeof args.out === "string" ? args.out : undefined;
    if (out === undefined) throw new MigrateError("USAGE", "import needs --out DIR, the folder to write: st44-migrate import docker/postgres/migrations --out migrations.");
    const checkUrl = typeof args["check-url"] === "string" ? args["check-url"] : undefined;
    if (checkUrl !== undefined && !args.check) throw new MigrateError("USAGE", "--check-url is the database of --check: add --check, or leave --check-url out.");
    const log = createLogger(resolveLogFormat(args, process.env, stderrIsTerminal()));
    const source = typeof args.source === "string" ? args.source : undefined;
    if (source !== undefined) {
      const report = planImport(await readLegacyFolder(source), { renumber: renumberings(rawArgs) });
      await writeImportedFolder(out, report.written);
      writeStdout(args.json ? `${JSON.stringify(importReportDocument(report, source, out), null, 2)}\n` : formatImportReport(report, source, out));
    } else if (!args.check) {
      throw new MigrateError("USAGE", "import needs the legacy folder: st44-migrate import docker/postgres/migrations --out migrations (only --check may run on an --out folder alone).");
    }
    if (!args.check) return;
    const result = await checkImportedFolder(out, { checkUrl, log });
    log.success(`check: all ${result.applied} migrations of ${out} apply to an empty database (${result.where})`);
  },
});

/** Every --renumber, in order: the flag repeats, which the shared flag parser (last one wins) does not keep. */
function renumberings(rawArgs: readonly string[]): Renumbering[] {
  const values: string[] = [];
  for (let index = 0; index < rawArgs.length; index++) {
    const arg = rawArgs[index] ?? "";
    if (arg === "--renumber") values.push(rawArgs[++index] ?? "");
    else if (arg.startsWith("--renumber=")) values.push(arg.slice("--renumber=".length));
  }
  return values.map(parseRenumbering);
}
