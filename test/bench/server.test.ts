/**
 * The SCRAM login of the bench (bench/lib/server.ts): on its own embedded
 * server the bench adds a role that must log in through scram-sha-256; on a
 * server given with --url it edits nothing and says why there is no row.
 */
import { expect, test } from "bun:test";
import postgres from "postgres";
import { openServer } from "../../bench/lib/server.ts";

test("the bench's own server gets a role that logs in with scram-sha-256, and only that role", async () => {
  const server = await openServer({ log: () => {} });
  try {
    const login = await server.enableScram();
    if (typeof login === "string") throw new Error(`no SCRAM login: ${login}`);
    const asScram = postgres(login.urlFor("postgres"), { max: 1, onnotice: () => {}, fetch_types: false });
    const asAdmin = postgres(server.urlFor("postgres"), { max: 1, onnotice: () => {}, fetch_types: false });
    try {
      const [scramRow] = await asScram.unsafe<{ system_user: string }[]>("select system_user");
      const [adminRow] = await asAdmin.unsafe<{ system_user: string }[]>("select system_user");
      expect([scramRow?.system_user, adminRow?.system_user]).toEqual(["scram-sha-256:bench_scram", "password:postgres"]);
    } finally {
      await asScram.end({ timeout: 1 });
      await asAdmin.end({ timeout: 1 });
    }
    expect(login.description).toContain("system_user = scram-sha-256:bench_scram");
    expect(login.description).not.toMatch(/bench_scram:[0-9a-f]{24}@/);
  } finally {
    await server.close();
  }
}, 60_000);

test("a --url server is left alone: no SCRAM row, and the reason", async () => {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the tests with `bun test` (the preload starts PostgreSQL)");
  const server = await openServer({ url, log: () => {} });
  try {
    expect(await server.enableScram()).toBe("the SCRAM row needs the embedded server (the bench edits its pg_hba.conf), not --url");
  } finally {
    await server.close();
  }
});
