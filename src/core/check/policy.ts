/**
 * Which findings count: migrations/check.json sets a rule's level (error,
 * warning or off) for the whole folder, and a migration's up marker allows
 * a rule for itself (`-- migrate:up allow:table-rewrite`), with the reason on
 * the comment line right below the marker. An allowed finding is still shown,
 * with its reason, but never fails the check.
 */
import { MigrateError } from "../errors.ts";
import type { Migration } from "../migration-set.ts";
import type { CheckFinding, CheckSeverity } from "./finding.ts";

export type RuleLevel = CheckSeverity | "off";

export interface CheckConfig {
  readonly rules: Readonly<Record<string, RuleLevel>>;
}

export const EMPTY_CONFIG: CheckConfig = { rules: {} };

export interface AllowedFinding {
  readonly finding: CheckFinding;
  readonly reason: string;
}

export interface PolicyResult {
  readonly findings: readonly CheckFinding[];
  readonly allowed: readonly AllowedFinding[];
}

const LEVELS: readonly RuleLevel[] = ["error", "warning", "off"];

/** Parses check.json's text; `shownPath` names the file in errors. Unknown keys are refused, as flags are. */
export function parseCheckConfig(text: string, shownPath: string): CheckConfig {
  const refuse = (what: string) =>
    new MigrateError(
      "CHECK_CONFIG_INVALID",
      `${shownPath} ${what}. It must be a JSON object {"rules": {"RULE": "error" | "warning" | "off"}}, e.g. {"rules": {"table-rewrite": "warning"}}; see docs/check.md for the rules.`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw refuse(`is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw refuse("is not a JSON object");
  const unknown = Object.keys(parsed).filter((key) => key !== "rules");
  if (unknown.length > 0) throw refuse(`has an unknown key "${unknown[0]}"`);
  const rules = (parsed as { rules?: unknown }).rules ?? {};
  if (typeof rules !== "object" || rules === null || Array.isArray(rules)) throw refuse(`has "rules" that is not an object`);
  const levels: Record<string, RuleLevel> = {};
  for (const [rule, level] of Object.entries(rules)) {
    if (!LEVELS.includes(level as RuleLevel)) throw refuse(`sets rule "${rule}" to ${JSON.stringify(level)}`);
    levels[rule] = level as RuleLevel;
  }
  return { rules: levels };
}

/** The comment right under the up marker, the reason an allow: needs; null when that line is not a comment. */
export function allowReason(migration: Migration): string | null {
  const lines = migration.text.split("\n");
  const marker = lines.findIndex((line) => /^--\s*migrate:up\b/.test(line));
  const below = marker === -1 ? undefined : lines[marker + 1];
  const match = below === undefined ? null : /^\s*--\s*(\S.*)$/.exec(below);
  return match?.[1]?.trim() ?? null;
}

/** Applies the folder's levels, then each migration's allows; an allow: without a reason is itself an error finding. */
export function applyPolicy(findings: readonly CheckFinding[], migrations: ReadonlyMap<string, Migration>, config: CheckConfig): PolicyResult {
  const kept: CheckFinding[] = [];
  const allowed: AllowedFinding[] = [];
  for (const finding of findings) {
    const level = config.rules[finding.rule];
    if (level === "off") continue;
    const adjusted = level === undefined ? finding : { ...finding, severity: level };
    const migration = migrations.get(finding.fileName);
    if (migration?.options.allow?.includes(finding.rule)) {
      const reason = allowReason(migration);
      if (reason !== null) {
        allowed.push({ finding: adjusted, reason });
        continue;
      }
    }
    kept.push(adjusted);
  }
  for (const migration of migrations.values()) {
    if (migration.options.allow && allowReason(migration) === null) {
      kept.push({
        rule: "allow-without-reason",
        severity: "error",
        fileName: migration.fileName,
        line: lineOfUpMarker(migration),
        message: `The up marker allows ${migration.options.allow.join(", ")} but gives no reason: a reviewer cannot tell a deliberate exception from a silenced warning.`,
        fix: `Put the reason on the line right below the marker as a comment, e.g. "-- allowed: users has 40 rows, the rewrite takes milliseconds".`,
      });
    }
  }
  return { findings: kept, allowed };
}

function lineOfUpMarker(migration: Migration): number | null {
  const index = migration.text.split("\n").findIndex((line) => /^--\s*migrate:up\b/.test(line));
  return index === -1 ? null : index + 1;
}
