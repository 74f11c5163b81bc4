import type { Plan } from "../plan.ts";
import { printable } from "../printable.ts";
import type { SchemaDifference, SchemaDrift } from "./compare.ts";

/**
 * Whether the live schema is the one the migrations leave, as verify, status
 * and the health check say it: `ok`, `drift`, or `unknown` when it cannot be
 * judged (no snapshot, or a database that is not at this build's migrations).
 */
export type SchemaStatus = "ok" | "drift" | "unknown";

export type SchemaVerdict =
  | { readonly status: "ok" | "drift"; readonly origin: string; readonly drift: SchemaDrift; readonly reason: null }
  | { readonly status: "unknown"; readonly origin: null; readonly drift: null; readonly reason: string };

export function judgedVerdict(origin: string, drift: SchemaDrift): SchemaVerdict {
  const none = drift.missing.length === 0 && drift.changed.length === 0 && drift.extra.length === 0;
  return { status: none ? "ok" : "drift", origin, drift, reason: null };
}

export function unjudgedVerdict(reason: string): SchemaVerdict {
  return { status: "unknown", origin: null, drift: null, reason };
}

/** A few versions, not ten thousand: the reason is one line of status. */
function versions(list: readonly { readonly version: string }[]): string {
  const shown = list.slice(0, 5).map((item) => printable(item.version));
  return list.length > shown.length ? `${shown.join(", ")}, … ${list.length - shown.length} more` : shown.join(", ");
}

/**
 * Why the schema cannot be compared with this build's snapshot, or null when
 * it can: the snapshot describes the schema once every migration of this
 * build, and nothing else, is applied as written.
 */
export function reasonNotJudged(plan: Plan): string | null {
  if (plan.pending.length > 0) {
    return `${plan.pending.length} migration(s) pending (${versions(plan.pending)}): the snapshot describes the schema once every migration is applied; run st44-migrate up first`;
  }
  const differing = [...plan.changed, ...plan.mismatched];
  if (differing.length > 0) {
    return `applied migration(s) differ from this build's files (${versions(differing)}): the schema they made is not the one the snapshot describes; sort the migrations out first`;
  }
  if (plan.unknown.length > 0) {
    return `the database has migration(s) this build does not know (${versions(plan.unknown)}): it is ahead of this build's snapshot`;
  }
  return null;
}

const described = (difference: SchemaDifference) => ({ kind: difference.objectKind, name: difference.name, detail: difference.detail, line: difference.line });

/** The `schema` part of verify --json and status --json. */
export function schemaDocument(verdict: SchemaVerdict) {
  return {
    status: verdict.status,
    ...(verdict.origin === null ? {} : { expected: verdict.origin }),
    missing: verdict.drift?.missing.map(described) ?? [],
    changed: verdict.drift?.changed.map(described) ?? [],
    extra: verdict.drift?.extra.map(described) ?? [],
    ...(verdict.reason === null ? {} : { reason: verdict.reason }),
  };
}

/** In a few words: `matches the snapshot`, `2 missing, 1 changed, 3 extra`, `not judged (why)`. */
export function schemaSummary(verdict: SchemaVerdict): string {
  if (verdict.status === "unknown") return `not judged (${verdict.reason})`;
  if (verdict.status === "ok") return "matches the snapshot";
  const { missing, changed, extra } = verdict.drift;
  return `${missing.length} missing, ${changed.length} changed, ${extra.length} extra`;
}

/** status's one line; verify lists the differences. */
export function schemaStatusLine(verdict: SchemaVerdict): string {
  return `schema: ${schemaSummary(verdict)}${verdict.status === "drift" ? " (st44-migrate verify lists them)" : ""}`;
}
