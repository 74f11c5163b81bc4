import { defineCommand } from "citty";
import { renderSnapshotJson, renderSnapshotText } from "../../core/schema/render.ts";
import { readSchema } from "../../db/schema/read.ts";
import { waitForDatabase } from "../../db/wait.ts";
import { jsonArg, logFormatArg, urlArg, waitArg } from "../args.ts";
import { createContext, openDatabase } from "../context.ts";
import { writeStdout } from "../../output.ts";

export default defineCommand({
  meta: { name: "dump", description: "Print the database's schema (tables, columns, constraints, indexes, functions, policies...), sorted and without OIDs" },
  // No --dir: the dump reads only the database, and a flag it would ignore is refused.
  args: {
    ...urlArg,
    ...waitArg,
    ...logFormatArg,
    ...jsonArg,
    comments: { type: "boolean", description: "Include COMMENT ON texts" },
  },
  async run({ args }) {
    const context = createContext(args);
    const db = openDatabase(context, args);
    try {
      const snapshot = await waitForDatabase(() => readSchema(db.sql, { comments: args.comments === true }), db.connection, db.migrator.waitMs, context.log);
      writeStdout(args.json ? renderSnapshotJson(snapshot) : renderSnapshotText(snapshot));
    } finally {
      await db.close({ exiting: true });
    }
  },
});
