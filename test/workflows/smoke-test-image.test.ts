/**
 * .github/scripts/smoke-test-image.sh, the image check of ci.yml and
 * deploy.yml, run here without Docker: a stand-in `docker` on PATH maps
 * each docker command the script uses onto the compiled binary and the
 * example API (exactly what the image's ENTRYPOINT and CMD run), and
 * `/proc/1` of the "container" onto the started process. So the script's
 * logic (read the image's latest migration, start, wait for health, check the
 * start-up line, PID 1, the HEALTHCHECK command, a second start) is exercised
 * against real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestDatabase, createTestDatabase } from "../support/database.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { BINARY } from "../support/cli.ts";

const ROOT = join(import.meta.dir, "../..");
const SCRIPT = join(ROOT, ".github/scripts/smoke-test-image.sh");

// The docker commands smoke-test-image.sh uses, and nothing else (anything else fails loudly).
const FAKE_DOCKER = `#!/usr/bin/env bash
set -euo pipefail
state="$FAKE_DOCKER_STATE"
cmd="$1"; shift
case "$cmd" in
  run)
    detach=0; name=""; port=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --rm) shift ;;
        -d) detach=1; shift ;;
        --name) name="$2"; shift 2 ;;
        --network) shift 2 ;;
        --entrypoint) [ "$2" = st44-migrate ] || { echo "fake docker: entrypoint $2" >&2; exit 99; }; shift 2 ;;
        -e) case "$2" in PORT=*) port="\${2#PORT=}" ;; DATABASE_URL) ;; *) echo "fake docker: -e $2" >&2; exit 99 ;; esac; shift 2 ;;
        *) break ;;
      esac
    done
    shift # the image
    if [ "$detach" = 1 ]; then
      # The image: ENTRYPOINT ["st44-migrate", "run", "--"], CMD ["node", "examples/api/server.mjs"], LOG_FORMAT=json.
      (cd "$FAKE_DOCKER_ROOT" && PORT="$port" LOG_FORMAT=json exec "$ST44_BINARY" run -- node examples/api/server.mjs) > "$state/$name.log" 2>&1 &
      echo $! > "$state/$name.pid"
      echo "fake-container-$name"
    else
      exec "$ST44_BINARY" "$@"
    fi
    ;;
  logs) cat "$state/$1.log" ;;
  exec)
    name="$1"; shift
    pid="$(cat "$state/$name.pid")"
    if [ "$1" = sh ]; then exec sh -c "\${3//\\/proc\\/1\\//\\/proc\\/$pid\\/}"; fi
    if [ "$1" = st44-migrate ]; then shift; exec "$ST44_BINARY" "$@"; fi
    echo "fake docker: exec $*" >&2; exit 99
    ;;
  rm)
    [ "$1" = -f ] && shift
    if [ -f "$state/$1.pid" ]; then
      pid="$(cat "$state/$1.pid")"
      kill "$pid" 2> /dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
      rm -f "$state/$1.pid"
    fi
    ;;
  *) echo "fake docker: $cmd" >&2; exit 99 ;;
esac
`;

let scratch = "";
const databases: TestDatabase[] = [];
beforeAll(() => {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`bun run build\` first (npm test does).`);
  scratch = mkdtempSync(join(tmpdir(), "st44-smoke-"));
  writeFileSync(join(scratch, "docker"), FAKE_DOCKER);
  chmodSync(join(scratch, "docker"), 0o755);
});
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function smokeTest(databaseUrl: string, extraEnv: Record<string, string> = {}) {
  const work = mkdtempSync(join(scratch, "run-"));
  const child = Bun.spawn(["bash", SCRIPT, "st44-api:test"], {
    cwd: work,
    env: {
      PATH: `${scratch}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: process.env.HOME ?? "/tmp",
      NO_COLOR: "1",
      DATABASE_URL: databaseUrl,
      SMOKE_PORT: String(await freePort()),
      SMOKE_INTERVAL: "0.2",
      FAKE_DOCKER_STATE: work,
      FAKE_DOCKER_ROOT: ROOT,
      ST44_BINARY: BINARY,
      ...extraEnv,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: `${stdout}\n${stderr}` };
}

describe("smoke-test-image.sh (with a stand-in docker)", () => {
  test("an empty database: migrated at the first start, API as the container's process, healthy, HEALTHCHECK passes; the second start applies nothing", async () => {
    const db = await createTestDatabase("smoke");
    databases.push(db);
    const result = await smokeTest(db.url);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("carries migrations up to 016");
    expect(result.output).toMatch(/"event":"startup".*"applied_now":8/);
    expect(result.output).toMatch(/"event":"startup".*"applied_now":0/);
    expect(result.output).toContain("PID 1: node examples/api/server.mjs");
    expect(result.output).toContain("smoke test passed");
    expect(result.output).not.toContain(new URL(db.url).password);
  });

  test("a container that cannot migrate fails the smoke test and shows its log", async () => {
    const url = new URL(process.env.TEST_DATABASE_URL ?? "");
    url.pathname = "/no_such_database_for_smoke";
    const result = await smokeTest(url.toString(), { SMOKE_TIMEOUT: "2" });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("--- container log");
    expect(result.output).toContain("DB_NOT_FOUND");
    expect(result.output).not.toContain("smoke test passed");
  });
});
