/**
 * .github/scripts/wait-for-health.mjs is the deploy's gate: it must pass only
 * when the NEW build answers healthy on the migrated schema, and fail (exit 1)
 * when the health check never gets there. Run with Node, as in the workflow,
 * against a stub /health/database on loopback.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";

const SCRIPT = join(import.meta.dir, "../../.github/scripts/wait-for-health.mjs");

interface Answer {
  status: number;
  body: unknown;
}

function document(status: "healthy" | "degraded" | "unhealthy", latest: string | null, expectedLatest: string, extra: Record<string, unknown> = {}) {
  return {
    status,
    database: "connected",
    migrations: { applied: [], latest, pending: [], changed: [], unknown: [], expected_latest: expectedLatest },
    tables: { expected: 8, missing: [] },
    duration_ms: 1,
    checked_at: new Date().toISOString(),
    reasons: [],
    ...extra,
  };
}

let server: ReturnType<typeof Bun.serve> | null = null;
afterEach(() => {
  server?.stop(true);
  server = null;
});

/** Serves the answers in order (the last one forever); returns the URL and the request count. */
function serve(answers: Answer[]) {
  let requests = 0;
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch() {
      const answer = answers[Math.min(requests, answers.length - 1)] ?? { status: 500, body: "" };
      requests++;
      return new Response(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body), { status: answer.status, headers: { "content-type": "application/json" } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/health/database`, requests: () => requests };
}

async function wait(args: string[]) {
  const child = Bun.spawn(["node", SCRIPT, "--interval", "0.05", ...args], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: stdout + stderr };
}

describe("wait-for-health.mjs", () => {
  test("healthy with the expected schema: exit 0 at the first attempt", async () => {
    const stub = serve([{ status: 200, body: document("healthy", "016", "016") }]);
    const result = await wait(["--url", stub.url, "--expect-latest", "016", "--timeout", "5"]);
    expect(result.code, result.output).toBe(0);
    expect(stub.requests()).toBe(1);
    expect(result.output).toContain("healthy, schema at 016");
  });

  test("waits while the old build still answers, and while the new one is migrating, then passes", async () => {
    const stub = serve([
      { status: 200, body: document("healthy", "015", "015") }, // the old container
      { status: 500, body: "starting" }, // not JSON yet
      { status: 503, body: document("unhealthy", "015", "016", { reasons: ["1 migration(s) pending: 016"] }) },
      { status: 200, body: document("healthy", "016", "016") },
    ]);
    const result = await wait(["--url", stub.url, "--expect-latest", "016", "--timeout", "10"]);
    expect(result.code, result.output).toBe(0);
    expect(stub.requests()).toBe(4);
    expect(result.output).toContain("the build answering expects 015, the deployed one 016");
    expect(result.output).toContain("not a health document");
    expect(result.output).toContain("1 migration(s) pending: 016");
  });

  test("versions compare as numbers (16 is 016)", async () => {
    const stub = serve([{ status: 200, body: document("healthy", "16", "016") }]);
    expect((await wait(["--url", stub.url, "--expect-latest", "16", "--timeout", "5"])).code).toBe(0);
  });

  test("never healthy: exit 1 after the timeout, with the reasons and the last document", async () => {
    const stub = serve([{ status: 503, body: document("unhealthy", "015", "016", { reasons: ["table users is missing"] }) }]);
    // 1.5 s at a 50 ms interval: room for more than one try even when a loaded machine makes one take half a second.
    const result = await wait(["--url", stub.url, "--expect-latest", "016", "--timeout", "1.5"]);
    expect(result.code, result.output).toBe(1);
    expect(stub.requests()).toBeGreaterThan(1);
    expect(result.output).toContain("::error::");
    expect(result.output).toContain("table users is missing");
    expect(result.output).toContain('"expected_latest": "016"');
  });

  test("healthy but the database is behind the expected version fails", async () => {
    const stub = serve([{ status: 200, body: document("healthy", "015", "016") }]);
    const result = await wait(["--url", stub.url, "--expect-latest", "016", "--timeout", "0.2"]);
    expect(result.code).toBe(1);
    expect(result.output).toContain("the database is at 015, expected 016");
  });

  test("degraded (an older build on a newer schema) passes only with --allow-degraded, as for a rollback", async () => {
    const stub = serve([{ status: 200, body: document("degraded", "017", "016") }]);
    const strict = await wait(["--url", stub.url, "--expect-latest", "016", "--timeout", "0.2"]);
    expect(strict.code).toBe(1);
    const rollback = await wait(["--url", stub.url, "--expect-latest", "016", "--timeout", "5", "--allow-degraded"]);
    expect(rollback.code, rollback.output).toBe(0);
  });

  test("nothing listening: exit 1", async () => {
    const stub = serve([{ status: 200, body: {} }]);
    const url = stub.url;
    server?.stop(true);
    server = null;
    const result = await wait(["--url", url, "--expect-latest", "016", "--timeout", "0.2"]);
    expect(result.code).toBe(1);
    expect(result.output).toContain("no answer");
  });

  test("bad arguments: exit 2 with the usage", async () => {
    const result = await wait(["--url", "http://127.0.0.1:1/", "--expect-latest", "latest"]);
    expect(result.code).toBe(2);
    expect(result.output).toContain("usage: wait-for-health.mjs");
  });
});
