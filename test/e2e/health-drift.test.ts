/**
 * `st44-migrate health` as Docker's HEALTHCHECK runs it, with drift (issue
 * 13): the compiled binary compares the live schema with the snapshot it
 * embeds, or with DIR/schema.snapshot under --dir.
 */
import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HealthReport } from "../../src/health.ts";
import { runBinary } from "../support/cli.ts";
import { freshDatabases } from "../support/database.ts";

const freshDatabase = freshDatabases("e2ehealthdrift");
const MIGRATIONS = join(import.meta.dir, "../../migrations");

async function health(env: Record<string, string>, ...args: string[]): Promise<{ code: number; report: HealthReport; output: string }> {
  const result = await runBinary(["health", ...args], { env });
  return { code: result.code, report: JSON.parse(result.stdout) as HealthReport, output: result.output };
}

describe("st44-migrate health and the embedded snapshot", () => {
  test("after up: exit 0, schema ok; a column dropped by hand: exit 1, unhealthy, naming it; the password nowhere", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    expect((await runBinary(["up"], { env })).code).toBe(0);
    const clean = await health(env);
    expect(clean.code).toBe(0);
    expect(clean.report).toMatchObject({ status: "healthy", schema: { status: "ok", missing: [], changed: [], extra: [] } });

    await db.sql`alter table users drop column created_at`;
    await db.sql`create table audit_log (id int)`;
    const drifted = await health(env);
    expect(drifted.code).toBe(1);
    expect(drifted.report.status).toBe("unhealthy");
    expect(drifted.report.schema).toEqual({ status: "drift", missing: ["missing column users.created_at"], changed: [], extra: ["extra table audit_log"] });
    expect(drifted.report.reasons).toEqual([
      "the schema is not the one the migrations leave: missing column users.created_at",
      "the database has objects the migrations do not create: extra table audit_log",
    ]);
    expect(drifted.output).not.toContain(new URL(db.url).password);
  });

  test("only an extra table: degraded, exit 0 (the API still works)", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    expect((await runBinary(["up"], { env })).code).toBe(0);
    await db.sql`create table audit_log (id int)`;
    const degraded = await health(env);
    expect(degraded.code).toBe(0);
    expect(degraded.report).toMatchObject({ status: "degraded", schema: { status: "drift", extra: ["extra table audit_log"] } });
  });

  test("an older build (ST44_EMBEDDED_UNTIL) does not judge against the newer snapshot: unknown", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url, ST44_EMBEDDED_UNTIL: "014" };
    expect((await runBinary(["up"], { env })).code).toBe(0);
    const older = await health(env);
    expect(older.code).toBe(0);
    expect(older.report).toMatchObject({ status: "healthy", schema: { status: "unknown", missing: null } });
  });
});

describe("st44-migrate health --dir", () => {
  test("DIR/schema.snapshot is the expected schema; a folder without one: unknown, saying so", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: db.url };
    expect((await runBinary(["up", "--dir", MIGRATIONS], { env })).code).toBe(0);
    const withSnapshot = await health(env, "--dir", MIGRATIONS);
    expect(withSnapshot.code).toBe(0);
    expect(withSnapshot.report.schema).toEqual({ status: "ok", missing: [], changed: [], extra: [] });

    const bare = mkdtempSync(join(tmpdir(), "st44-health-dir-"));
    try {
      cpSync(MIGRATIONS, bare, { recursive: true });
      rmSync(join(bare, "schema.snapshot"));
      const without = await health(env, "--dir", bare);
      expect(without.code).toBe(0);
      expect(without.report.schema).toMatchObject({ status: "unknown", reason: `${bare} has no schema.snapshot: write one with st44-migrate dump against a database its migrations alone built` });
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
