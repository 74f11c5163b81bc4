#!/usr/bin/env bash
# Starts the API image the way production does (entrypoint
# `st44-migrate run --`, the API as CMD) against the PostgreSQL at
# DATABASE_URL, and checks what an operator relies on:
#   - /health/database becomes healthy with the image's own latest migration
#     (so the migrator ran before the API and the schema is complete);
#   - the start-up log line was written;
#   - the API is PID 1 (st44-migrate replaced itself, execve);
#   - the image's HEALTHCHECK command (st44-migrate health) passes;
#   - a second start applies nothing and starts the API again.
#
#   DATABASE_URL=postgres://... .github/scripts/smoke-test-image.sh IMAGE
#   (SMOKE_PORT: the API port, default 3000; SMOKE_TIMEOUT: seconds to become
#   healthy, default 120; SMOKE_INTERVAL: seconds between checks, default 2)
#
# Needs docker and node; the database must be reachable from the host
# network (a GitHub Actions service container with its port published).
set -euo pipefail

image="${1:?usage: smoke-test-image.sh IMAGE}"
: "${DATABASE_URL:?set DATABASE_URL to an empty PostgreSQL database}"
port="${SMOKE_PORT:-3000}"
here="$(cd "$(dirname "$0")" && pwd)"
name="st44-smoke-$$"

latest="$(docker run --rm --entrypoint st44-migrate "$image" version --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).migrations.latest))')"
echo "image ${image} carries migrations up to ${latest}"

cleanup() {
  docker rm -f "$name" > /dev/null 2>&1 || true
}
trap cleanup EXIT

start_and_check() {
  local round="$1"
  echo "--- start ${round}"
  docker run -d --name "$name" --network host -e DATABASE_URL -e PORT="$port" "$image" > /dev/null
  if ! node "$here/wait-for-health.mjs" --url "http://127.0.0.1:${port}/health/database" --expect-latest "$latest" --timeout "${SMOKE_TIMEOUT:-120}" --interval "${SMOKE_INTERVAL:-2}"; then
    echo "--- container log"
    docker logs "$name" 2>&1 || true
    exit 1
  fi
  docker logs "$name" > "smoke-${round}.log" 2>&1
  grep '"event":"startup"' "smoke-${round}.log"
  pid1="$(docker exec "$name" sh -c 'tr "\0" " " < /proc/1/cmdline')"
  echo "PID 1: ${pid1}"
  case "$pid1" in
    node*) ;;
    *) echo "::error::PID 1 in the container is '${pid1}', not the API: st44-migrate did not replace itself"; exit 1 ;;
  esac
  docker exec "$name" st44-migrate health > /dev/null
  docker rm -f "$name" > /dev/null
}

start_and_check first
grep -q '"applied_now":0' smoke-first.log && { echo "::error::the first start applied nothing on an empty database"; exit 1; }
start_and_check second
grep -q '"applied_now":0' smoke-second.log || { echo "::error::the second start applied migrations again"; exit 1; }
echo "smoke test passed"
