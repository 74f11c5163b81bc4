import { checkDatabaseHealth } from "./check.ts";
import { expectedSchemaOf } from "./expected.ts";
import { HEALTH_HEADERS, httpStatusOf } from "./handler.ts";
import { type HealthOptions, healthSessionOpener } from "./source.ts";

/** The part of Fastify's reply the route uses: typed by shape, so the library needs no fastify at run time. */
export interface HealthRouteReply {
  code(statusCode: number): HealthRouteReply;
  header(name: string, value: string): HealthRouteReply;
  send(payload: string): unknown;
}

/** The part of a Fastify instance the plugin uses. */
export interface HealthRouteHost {
  get(path: string, handler: (request: unknown, reply: HealthRouteReply) => Promise<unknown>): unknown;
}

export type HealthPluginOptions = HealthOptions & {
  /** Where the route is mounted; default /health/database (under the register's prefix, if any). */
  readonly path?: string;
};

/**
 * `fastify.register(healthPlugin, { pool, migrations })` mounts GET
 * /health/database: the document, 200 when healthy or degraded, 503 when not.
 */
export async function healthPlugin(fastify: HealthRouteHost, options: HealthPluginOptions): Promise<void> {
  healthSessionOpener(options); // no database given: register fails at start-up, not at the first probe
  expectedSchemaOf(options); // so is a schema option that is no snapshot (SNAPSHOT_INVALID)
  fastify.get(options.path ?? "/health/database", async (_request, reply) => {
    const report = await checkDatabaseHealth(options);
    let answer = reply.code(httpStatusOf(report));
    for (const [name, value] of Object.entries(HEALTH_HEADERS)) answer = answer.header(name, value);
    return answer.send(JSON.stringify(report));
  });
}
