#!/usr/bin/env bun
// The executable's entry point (bun build --compile, bun run, deno run).
import { exitOnUncaught, runCli } from "./cli/main.ts";

// A failure outside the command's own error handling still goes through the redacting printer.
process.on("uncaughtException", exitOnUncaught);
process.on("unhandledRejection", exitOnUncaught);
await runCli(process.argv.slice(2));
