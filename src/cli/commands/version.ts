import { defineCommand } from "citty";
import { buildInfo } from "../../build-info.ts";
import { stringSetting } from "../../config.ts";
import { jsonArg } from "../args.ts";
import { createContext, loadMigrations } from "../context.ts";
import { writeStdout } from "../../output.ts";

export default defineCommand({
  meta: { name: "version", description: "Print the version, commit, build time and the embedded migrations" },
  args: { ...jsonArg, dir: { type: "string", valueHint: "PATH", description: "Describe the migrations in PATH instead" } },
  async run({ args }) {
    const migrations = await loadMigrations(createContext(args));
    // The same rule as createContext: --dir, else MIGRATIONS_DIR, else what the build embedded.
    const dir = stringSetting(args, "dir", process.env, "MIGRATIONS_DIR");
    const document = {
      version: buildInfo.version,
      commit: buildInfo.commit,
      build_time: buildInfo.buildTime,
      migrations: {
        source: dir === undefined ? "embedded" : "directory",
        folder: dir ?? buildInfo.migrationsFolder,
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
        `migrations  ${migrations.length}, latest ${document.migrations.latest ?? "none"}, ${dir === undefined ? "embedded from" : "read from"} ${document.migrations.folder}`,
        "",
      ].join("\n"),
    );
  },
});
