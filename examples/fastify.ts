import Fastify from "fastify";
import type postgres from "postgres";
import { bundledMigrations, createHealthHandler } from "st44-migrate";

export function buildApp(sql: postgres.Sql) {
  const app = Fastify();
  const checkDatabase = createHealthHandler({ sql, migrations: bundledMigrations(), timeoutMs: 2000 });
  app.get("/health/database", async (_request, reply) => {
    const response = await checkDatabase();
    return reply.code(response.status).type("application/json").send(await response.text());
  });
  return app;
}
