/**
 * `check`'s rules from the text of one migration: parse its up part with
 * PostgreSQL's parser (loaded on first use), then apply the pure rules.
 */
import type { CheckFinding } from "../core/check/finding.ts";
import { type TextRuleContext, tablesAfterFromParse, textRuleFindingsFromParse } from "../core/check/text-rules.ts";
import type { Migration } from "../core/migration-set.ts";
import { loadSqlParser } from "./parser.ts";

export type { TextRuleContext };

/**
 * The text findings of `migration`, given the tables (schema-qualified,
 * `public.users`) that exist before it. Throws CHECK_PARSER_UNAVAILABLE when
 * the parser cannot be loaded.
 */
export async function textRuleFindings(migration: Migration, context: TextRuleContext): Promise<CheckFinding[]> {
  const parse = await loadSqlParser();
  return textRuleFindingsFromParse(migration, parse(migration.up), context);
}

/** The tables after `migration` (its creations, renames and drops applied to context.existingTables): the next migration's existingTables when no database says. */
export async function tablesAfter(migration: Migration, context: TextRuleContext): Promise<ReadonlySet<string>> {
  const parse = await loadSqlParser();
  return tablesAfterFromParse(migration, parse(migration.up), context);
}
