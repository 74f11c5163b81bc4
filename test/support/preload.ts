/**
 * Runs once before any test file (bunfig.toml [test] preload). Unless
 * TEST_DATABASE_URL names another server, starts one embedded PostgreSQL for
 * the whole run; each test file then creates its own database in it
 * (test/support/database.ts). Also isolates the environment: no stray
 * DATABASE_URL or DB_* of the developer's shell can reach a test.
 */
import { afterAll, setDefaultTimeout } from "bun:test";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";

for (const name of Object.keys(process.env)) {
  if (name === "DATABASE_URL" || name.startsWith("DB_") || name.startsWith("MIGRATE") || name === "LOG_FORMAT") {
    delete process.env[name];
  }
}
process.env.NO_COLOR = "1";
// Database tests spawn processes and wait on locks; 5 s (the default) is too tight on a loaded 2-core CI.
// Bun 1.4.5 applies this to the first test file only, so `npm test` also passes --timeout 60000.
setDefaultTimeout(60_000);

if (!process.env.TEST_DATABASE_URL) {
  const server = await startEmbeddedPostgres({ password: "test-secret-pw" });
  process.env.TEST_DATABASE_URL = server.url;
  process.env.ST44_TEST_SERVER_STARTED = "1";
  afterAll(async () => {
    await server.stop();
  });
}
