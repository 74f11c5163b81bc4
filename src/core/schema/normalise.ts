/**
 * What the catalog's functions print, made independent of what does not
 * belong to the schema: layout (pg_get_viewdef's line breaks and indentation),
 * and names the snapshot already says elsewhere (an index's name and table,
 * which are its key, in its definition).
 */

/** One line, single spaces outside string literals and quoted names, no trailing semicolon. */
export function normaliseDefinition(text: string): string {
  let result = "";
  let quote: "'" | '"' | null = null;
  let pendingSpace = false;
  for (const char of text.trim()) {
    if (quote === null && /\s/.test(char)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace) {
      // No space where pg_get_viewdef's indentation followed an opening or preceded a closing parenthesis.
      if (result !== "" && !result.endsWith("(") && char !== ")") result += " ";
      pendingSpace = false;
    }
    if (quote === null && (char === "'" || char === '"')) quote = char;
    else if (char === quote) quote = null;
    result += char;
  }
  return result.endsWith(";") ? result.slice(0, -1).trimEnd() : result;
}

/**
 * `CREATE UNIQUE INDEX name ON public.users USING btree (email)` becomes
 * `UNIQUE btree (email)`. `quotedName` and `quotedTable` are as the server
 * quotes them (quote_ident); anything else is kept whole rather than guessed at.
 */
export function normaliseIndexDefinition(definition: string, quotedName: string, quotedTable: string): string {
  const text = normaliseDefinition(definition);
  for (const unique of ["UNIQUE ", ""]) {
    for (const only of ["ONLY ", ""]) {
      const prefix = `CREATE ${unique}INDEX ${quotedName} ON ${only}${quotedTable} USING `;
      if (text.startsWith(prefix)) return `${unique}${only}${text.slice(prefix.length)}`;
    }
  }
  return text;
}

/** `CREATE TRIGGER name BEFORE UPDATE ON ...` becomes `BEFORE UPDATE ON ...` (likewise CONSTRAINT TRIGGER). */
export function normaliseTriggerDefinition(definition: string, quotedName: string): string {
  const text = normaliseDefinition(definition);
  for (const [prefix, kept] of [[`CREATE TRIGGER ${quotedName} `, ""], [`CREATE CONSTRAINT TRIGGER ${quotedName} `, "CONSTRAINT "]] as const) {
    if (text.startsWith(prefix)) return `${kept}${text.slice(prefix.length)}`;
  }
  return text;
}

const POLICY_COMMANDS: Readonly<Record<string, string>> = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" };

/** pg_policy.polcmd's letter as the command it stands for. */
export function policyCommand(letter: string): string {
  return POLICY_COMMANDS[letter] ?? letter;
}

const TRIGGER_FIRING: Readonly<Record<string, string>> = { O: "enabled", D: "disabled", R: "replica", A: "always" };

/** pg_trigger.tgenabled's letter as ALTER TABLE ... ENABLE/DISABLE TRIGGER says it. */
export function triggerFiring(letter: string): string {
  return TRIGGER_FIRING[letter] ?? letter;
}
