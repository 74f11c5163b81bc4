/** ci.yml's migrations-check job: on pull requests, with the base branch's history, it runs check against it in the github format. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface Job {
  if?: string;
  steps?: { uses?: string; with?: Record<string, unknown>; run?: string; env?: Record<string, string> }[];
}

const ci = Bun.YAML.parse(readFileSync(join(import.meta.dir, "../../.github/workflows/ci.yml"), "utf8")) as { jobs: Record<string, Job> };

describe("ci.yml migrations-check", () => {
  const job = ci.jobs["migrations-check"];

  test("runs on pull requests only, with the whole history so --base finds the base branch", () => {
    expect(job?.if).toBe("github.event_name == 'pull_request'");
    const checkout = job?.steps?.find((step) => step.uses?.startsWith("actions/checkout@"));
    expect(checkout?.with?.["fetch-depth"]).toBe(0);
  });

  test("installs from the lock and runs check against the base branch in the github format", () => {
    const runs = (job?.steps ?? []).map((step) => step.run ?? "").join("\n");
    expect(runs).toContain("npm ci --no-audit --no-fund");
    expect(runs).toContain('bun src/bin.ts check --base "origin/${BASE_REF}" --format github');
    expect(job?.steps?.find((step) => step.run?.includes("check --base"))?.env?.BASE_REF).toBe("${{ github.base_ref }}");
  });
});
