/**
 * Issue 14 wants st44-migrate faster "while still verifying every checksum":
 * a no-op start that stopped hashing would win the bench by cheating. So
 * after the timed rounds, untimed, every measured st44-migrate build is shown
 * one changed migration on the databases the workloads used, and must refuse
 * it (`up`: exit 4, CHECKSUM_MISMATCH) or report it (`status --json`:
 * listed under `changed`):
 *
 * - read with --dir: the last file gets one more comment line;
 * - embedded (the seed set, W6): the last tracking row's checksum is changed,
 *   since the file inside the binary cannot be.
 *
 * Everything is put back afterwards, whatever happens.
 */
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";

export interface GuardCase {
  /** Which build and how it reads the set, for the report. */
  readonly label: string;
  readonly binary: string;
  /** The database whose tracking table holds the set, applied. */
  readonly url: string;
  /** The folder read with --dir, or null when the set is embedded in the binary. */
  readonly dir: string | null;
}

export interface GuardResult {
  readonly label: string;
  readonly change: string;
  readonly command: string;
  readonly ok: boolean;
  /** What the command did, in a few words (exit code and the code or field seen). */
  readonly seen: string;
}

function runQuietly(argv: readonly string[], env: Record<string, string>, cwd: string): { exitCode: number | null; stdout: string; stderr: string } {
  const result = Bun.spawnSync([...argv], { env, cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 120_000 });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function changedVersions(stdout: string): string[] | null {
  try {
    const parsed = JSON.parse(stdout) as { changed?: unknown };
    if (!Array.isArray(parsed.changed)) return null;
    return parsed.changed.map((entry) => (typeof entry === "object" && entry !== null && "version" in entry ? String((entry as { version: unknown }).version) : String(entry)));
  } catch {
    return null;
  }
}

/** Runs `up` and `status --json` of one case with one migration changed; the change is undone before returning. */
async function checkCase(guard: GuardCase, env: (url: string) => Record<string, string>, cwd: string): Promise<GuardResult[]> {
  const sql = postgres(guard.url, { max: 1, onnotice: () => {}, fetch_types: false });
  let undo: () => Promise<void> = async () => {};
  let version = "";
  let change = "";
  try {
    if (guard.dir !== null) {
      const last = readdirSync(guard.dir).filter((name) => name.endsWith(".sql")).sort().at(-1);
      if (last === undefined) throw new Error(`${guard.dir} has no .sql file`);
      const path = join(guard.dir, last);
      const original = readFileSync(path);
      appendFileSync(path, "-- edited after it was applied\n");
      undo = async () => writeFileSync(path, original);
      version = /^(\d+)_/.exec(last)?.[1] ?? last;
      change = `${last} edited (one comment line more)`;
    } else {
      const [row] = await sql.unsafe<{ version: string; checksum: string }[]>("select version::text as version, checksum::text as checksum from schema_migrations order by version desc limit 1");
      if (!row) throw new Error("schema_migrations is empty");
      await sql.unsafe("update schema_migrations set checksum = $1 where version = $2", ["0".repeat(64), row.version]);
      undo = async () => void (await sql.unsafe("update schema_migrations set checksum = $1 where version = $2", [row.checksum, row.version]));
      version = row.version;
      change = `tracking row ${row.version}: another checksum`;
    }
    const dirArgs = guard.dir === null ? [] : ["--dir", guard.dir];
    const up = runQuietly([guard.binary, "up", ...dirArgs], env(guard.url), cwd);
    const upOk = up.exitCode === 4 && up.stderr.includes("CHECKSUM_MISMATCH");
    const status = runQuietly([guard.binary, "status", "--json", ...dirArgs], env(guard.url), cwd);
    const changed = changedVersions(status.stdout);
    const statusOk = status.exitCode === 0 && changed !== null && changed.some((entry) => entry === version || Number(entry) === Number(version));
    return [
      { label: guard.label, change, command: "up", ok: upOk, seen: `exit ${up.exitCode}${up.stderr.includes("CHECKSUM_MISMATCH") ? ", CHECKSUM_MISMATCH" : ""}` },
      { label: guard.label, change, command: "status --json", ok: statusOk, seen: `exit ${status.exitCode}, changed: ${changed === null ? "not in the output" : JSON.stringify(changed)}` },
    ];
  } finally {
    try {
      await undo();
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
}

export async function checkChecksums(cases: readonly GuardCase[], env: (url: string) => Record<string, string>, cwd: string): Promise<GuardResult[]> {
  const results: GuardResult[] = [];
  for (const guard of cases) {
    try {
      results.push(...(await checkCase(guard, env, cwd)));
    } catch (error) {
      results.push({ label: guard.label, change: "could not be made", command: "-", ok: false, seen: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}
