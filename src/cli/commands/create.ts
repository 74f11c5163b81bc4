import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { stringSetting } from "../../config.ts";
import { MigrateError } from "../../core/errors.ts";
import { nextMigrationFileName } from "../../core/migration-name.ts";
import { directorySource } from "../../source/directory.ts";
import { logFormatArg } from "../args.ts";
import { writeStdout } from "../../output.ts";

/**
 * The down part starts as a statement that fails: an empty down part is a
 * deliberate no-op to `down`, so a forgotten one would record a rollback
 * that undid nothing. Failing, the rollback stops with nothing undone.
 */
const TEMPLATE = (fileName: string, name: string) => `-- ${name.replace(/_/g, " ")}: say what this changes and why.
-- migrate:up


-- migrate:down
-- Replace this DO block with the SQL that undoes the up part; until then a rollback of this migration fails, undoing nothing.
DO $$ BEGIN RAISE EXCEPTION 'the down part of ${fileName} is not written yet: replace its DO block with the SQL that undoes the up part'; END $$;
`;

export default defineCommand({
  meta: { name: "create", description: "Write migrations/NNN_NAME.sql with the next free version and both markers" },
  args: {
    name: { type: "positional", valueHint: "NAME", description: "snake_case name, e.g. add_task_notes", required: true },
    dir: { type: "string", valueHint: "PATH", description: "Migrations directory (default: MIGRATIONS_DIR or ./migrations)" },
    // Read by main.ts: the format of an error's log line.
    ...logFormatArg,
  },
  async run({ args }) {
    if (typeof args.name !== "string" || args.name === "") {
      throw new MigrateError("USAGE", "create needs a name: st44-migrate create add_task_notes");
    }
    const dir = stringSetting(args, "dir", process.env, "MIGRATIONS_DIR") ?? "migrations";
    if (!existsSync(dir)) throw new MigrateError("SOURCE_UNREADABLE", `No migrations directory at ${dir}. Run from the repository root, or pass --dir.`);
    const fileName = nextMigrationFileName((await directorySource(dir).load()).map((file) => file.fileName), args.name);
    const path = join(dir, fileName);
    try {
      writeFileSync(path, TEMPLATE(fileName, args.name), { flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      throw new MigrateError("MIGRATION_FILE_EXISTS", `${path} already exists (another create ran at the same time?). Nothing was written; run create again.`);
    }
    writeStdout(`${path}\n`);
  },
});
