import Fastify from "fastify";
import type { Pool } from "pg";
import { bundledMigrations, healthPlugin } from "st44-migrate";

// The API's own node-postgres pool: the health check needs no second driver.
export function buildApp(pool: Pool) {
  const app = Fastify();
  app.register(healthPlugin, { pool, migrations: bundledMigrations(), timeoutMs: 2000 });
  return app;
}
