import { defineCommand } from "citty";
import { buildInfo } from "../../build-info.ts";
import { jsonArg } from "../args.ts";
import { createContext, loadMigrations } from "../context.ts";
import { writeStdout } from "../../output.ts";

export default defineCommand({
  meta: { name: "version", description: "Print the version, commit, build time and the embedded migrations" },
  args: { ...jsonArg, dir: { type: "string", valueHint: "PATH", description: "Describe the migrations in PATH instead" } },
  async run({ args }) {
    const migrations = await loadMigrations(createContext(args));
    const document = {
      version: buildInfo.version,
      commit: buildInfo.commit,
      build_time: buildInfo.buildTime,
      migrations: {
        count: migrations.length,
        latest: migrations.at(-1)?.version ?? null,
        checksums: Object.fromEntries(migrations.map((migration) => [migration.fileName, migration.checksum])),
      },
    };
    if (args.json) {
      writeStdout(`${JSON.stringify(document, null, 2)}\n`);
      return;
    }
    writeStdout(
      [
        `st44-migrate ${buildInfo.version}`,
        `commit      ${buildInfo.commit}`,
        `built       ${buildInfo.buildTime ?? "not built (running from source)"}`,
        `migrations  ${migrations.length}, latest ${document.migrations.latest ?? "none"}`,
        "",
      ].join("\n"),
    );
  },
});
