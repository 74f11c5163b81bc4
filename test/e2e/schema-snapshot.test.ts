/**
 * `dump` as an operator runs it, and the committed migrations/schema.snapshot:
 * the binary's `up` on a fresh database of the test server, then its `dump`,
 * must give the committed file byte for byte, or the suite fails naming the
 * command that refreshes it.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../support/embedded-postgres.ts";
import { freshDatabases } from "../support/database.ts";
import { runBinary } from "../support/cli.ts";
import { REFRESH_COMMAND, SNAPSHOT_FILE, firstDifference } from "../../scripts/snapshot.ts";

const freshDatabase = freshDatabases("e2esnapshot");
const MIGRATIONS = join(import.meta.dir, "../../migrations");

describe("migrations/schema.snapshot", () => {
  test("is what the binary's up and dump give for migrations/ (else: run npm run snapshot)", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    const applied = await runBinary(["up", "--dir", MIGRATIONS], { env });
    expect(applied.code).toBe(0);
    const dump = await runBinary(["dump"], { env });
    expect(dump.code).toBe(0);
    const committed = readFileSync(SNAPSHOT_FILE, "utf8");
    if (dump.stdout !== committed) {
      throw new Error(`migrations/schema.snapshot is stale (${firstDifference(committed, dump.stdout)}): run \`${REFRESH_COMMAND}\` and commit the result.`);
    }
    expect(committed).toContain("table public.users");
  });
});

describe("st44-migrate dump", () => {
  test("--json prints the same objects as the text, keyed and sorted; stdout only holds the document", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    expect((await runBinary(["up"], { env })).code).toBe(0);
    const json = await runBinary(["dump", "--json"], { env });
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout) as { format: number; objects: { kind: string; name: string; table?: string }[] };
    expect(document.format).toBe(1);
    const text = (await runBinary(["dump"], { env })).stdout;
    const objectLines = text.split("\n").filter((line) => line !== "" && !line.startsWith("--"));
    expect(document.objects).toHaveLength(objectLines.length);
    expect(document.objects.find((object) => object.kind === "column" && object.table === "public.tasks" && object.name === "points")).toMatchObject({
      properties: { type: "integer", default: "10", not_null: false },
    });
    expect(json.output).not.toContain(new URL(db.url).password);
  });

  test("an unreachable server is DB_UNREACHABLE (exit 3) without the password; a flag it does not read is refused", async () => {
    const password = "Dump-Secret-9x";
    const unreachable = await runBinary(["dump", "--wait", "0"], { env: { DATABASE_URL: `postgres://u:${password}@127.0.0.1:${await freePort()}/d` } });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain("[DB_UNREACHABLE]");
    expect(unreachable.output).not.toContain(password);
    expect(unreachable.stdout).toBe("");
    const refused = await runBinary(["dump", "--dir", MIGRATIONS], { env: { DATABASE_URL: "postgres://u@127.0.0.1:1/d" } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("Unknown flag --dir");
  });
});
