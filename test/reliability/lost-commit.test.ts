/**
 * 12.4: the connection breaks after the query holding the migration and our
 * COMMIT reached the server. Whether it was committed is unknown to the
 * runner until it looks: it must never claim "rolled back" while the row
 * exists. A TCP proxy in the test forwards the apply query and then cuts the
 * runner's side, after the server answered (committed) or at once (the
 * server is still running it).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type Server, type Socket, connect, createServer } from "node:net";
import { freshDatabases, tablesOf } from "../support/database.ts";
import { migrationsFrom, rejection, up } from "../support/migrator.ts";

const freshDatabase = freshDatabases("lost");
const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

type Cut = "after the server answered" | "at once";

/** A proxy to the test server that cuts the first connection carrying the apply query (its tracking-row insert). */
async function cuttingProxy(cut: Cut): Promise<{ port: number; cuts: () => number }> {
  const target = new URL(process.env.TEST_DATABASE_URL ?? "");
  let cuts = 0;
  const server = createServer((client: Socket) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    let cutting = false;
    client.on("error", () => {});
    upstream.on("error", () => {});
    upstream.on("data", (chunk) => {
      if (!cutting) {
        client.write(chunk);
        return;
      }
      // The server answered the apply query: it is committed. The runner never hears of it.
      client.destroy();
      upstream.destroy();
    });
    client.on("data", (chunk) => {
      upstream.write(chunk);
      if (cuts === 0 && chunk.includes("insert into schema_migrations (version, name, applied_at, checksum")) {
        cuts++;
        cutting = true;
        if (cut === "at once") client.destroy();
      }
    });
    client.on("close", () => {
      if (!cutting) upstream.destroy();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, cuts: () => cuts };
}

function throughProxy(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = "127.0.0.1";
  parsed.port = String(port);
  parsed.search = "?sslmode=disable";
  return parsed.toString();
}


describe("the connection breaks after the apply query was sent", () => {
  test("committed before the cut: reported as applied and recorded, never as rolled back", async () => {
    const db = await freshDatabase();
    const proxy = await cuttingProxy("after the server answered");
    const migrations = migrationsFrom({ "001_t.sql": "create table t (id int);", "002_u.sql": "create table u (id int);" });
    const error = await rejection(up(throughProxy(db.url, proxy.port), migrations, { lockMode: "session" }));
    expect(proxy.cuts()).toBe(1);
    expect(error.code).toBe("MIGRATION_FAILED");
    expect(error.message).toContain("001_t.sql WAS applied and recorded");
    expect(error.message).not.toContain("rolled back");
    expect(error.message).toContain("1 after it were not run");
    expect([...(await db.sql`select version, checksum from schema_migrations`)]).toEqual([{ version: "001", checksum: migrations[0]!.checksum }]);
    // The next run goes on from there.
    const next = await up(db.url, migrations);
    expect(next.applied.map((applied) => applied.version)).toEqual(["002"]);
  });

  test("cut while the server still runs it: the old session is ended, and reported as not applied", async () => {
    const db = await freshDatabase();
    const proxy = await cuttingProxy("at once");
    const migrations = migrationsFrom({ "001_slow.sql": "create table slow (id int);\nselect pg_sleep(30);" });
    const started = Date.now();
    const error = await rejection(up(throughProxy(db.url, proxy.port), migrations, { lockMode: "session" }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error.message).toContain("the migration's session has ended and 001_slow.sql has no tracking row, so nothing of it was applied");
    expect(await tablesOf(db.sql)).toEqual(["schema_migrations"]);
    expect([...(await db.sql`select version from schema_migrations`)]).toEqual([]);
    const [sleeping] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`;
    expect(sleeping?.n).toBe(0);
  });
});
