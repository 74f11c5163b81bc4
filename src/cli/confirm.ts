import { MigrateError } from "../core/errors.ts";

/**
 * Destructive commands ask on a terminal, and without one insist on --yes.
 * `terminalOnly`: the question must be answered by a person (--force), so
 * --yes does not answer it.
 */
export function confirmation(options: { readonly yes: boolean; readonly terminalOnly?: boolean }): (question: string) => Promise<void> {
  return async (question) => {
    if (options.yes && !options.terminalOnly) return;
    if (!process.stdin.isTTY) {
      throw new MigrateError(
        "CONFIRMATION_REQUIRED",
        options.terminalOnly
          ? `${question} This needs a person to confirm on a terminal; nothing was done.`
          : `${question} Nothing was done; pass --yes to confirm without a terminal.`,
      );
    }
    // Loaded here: a static node: import is loaded on every start of the executable, whatever the command.
    const { createInterface } = await import("node:readline/promises");
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await prompt.question(`${question}\nType "yes" to go on: `);
      if (answer.trim().toLowerCase() !== "yes") throw new MigrateError("CONFIRMATION_REQUIRED", "Not confirmed; nothing was done.");
    } finally {
      prompt.close();
    }
  };
}
