#!/usr/bin/env bun
// The executable's entry point (bun build --compile, bun run, deno run).
import { runCli } from "./cli/main.ts";

await runCli(process.argv.slice(2));
