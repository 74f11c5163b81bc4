import { normaliseDefinition } from "./normalise.ts";

/**
 * A view's definition as PostgreSQL 16 and later print it, whatever the
 * server. Up to 15, pg_get_viewdef qualifies every column of a view that
 * reads one relation (`SELECT notes.owner_name FROM public.notes`); from 16
 * the top level of such a query is printed unqualified (`SELECT owner_name
 * FROM public.notes`), while subqueries keep their qualifiers. A snapshot
 * dumped on one major must compare equal on another, so the older form is
 * rewritten to the newer one. Only the plain shape is touched (one SELECT,
 * one named relation in FROM, no set operation): anything else is left as
 * printed rather than guessed at.
 */
export function normaliseViewDefinition(definition: string): string {
  const text = normaliseDefinition(definition);
  const tokens = tokenize(text);
  const alias = singleRelationAlias(tokens);
  if (alias === null) return text;
  let result = "";
  /** For each open parenthesis: whether it or one around it opens a subquery. */
  const nesting: boolean[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] ?? "";
    if (token === "(") nesting.push((nesting.at(-1) ?? false) || SUBQUERY_STARTS.has(upper(nextSignificant(tokens, index))));
    else if (token === ")") nesting.pop();
    const topLevel = !(nesting.at(-1) ?? false);
    const inFromItem = index >= alias.fromStart && index < alias.fromEnd;
    if (topLevel && !inFromItem && token === alias.name && tokens[index + 1] === "." && tokens[index - 1] !== ".") {
      index++;
      continue;
    }
    result += token;
  }
  return result;
}

const SUBQUERY_STARTS = new Set(["SELECT", "WITH", "VALUES"]);
const SET_OPERATIONS = new Set(["UNION", "INTERSECT", "EXCEPT"]);
/** What ends a FROM list at the top level. */
const AFTER_FROM = new Set(["WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET", "FETCH", "FOR"]);

const upper = (token: string | undefined) => (token ?? "").toUpperCase();
const isSpace = (token: string) => token === " ";
const isName = (token: string | undefined) => token !== undefined && (/^[A-Za-z_][A-Za-z0-9_$]*$/.test(token) || /^"(?:[^"]|"")+"$/.test(token));

function nextSignificant(tokens: readonly string[], index: number): string | undefined {
  for (let next = index + 1; next < tokens.length; next++) if (!isSpace(tokens[next] ?? "")) return tokens[next];
  return undefined;
}

/**
 * The name the top-level query's only relation goes by (its alias, else its
 * unqualified name) and where its FROM item is, or null when the query is
 * not `SELECT ... FROM [schema.]relation [alias] ...` at its top level.
 */
function singleRelationAlias(tokens: readonly string[]): { name: string; fromStart: number; fromEnd: number } | null {
  const significant = tokens.map((token, index) => ({ token, index })).filter(({ token }) => !isSpace(token));
  if (upper(significant[0]?.token) !== "SELECT") return null;
  let depth = 0;
  let from = -1;
  for (const [position, { token }] of significant.entries()) {
    if (token === "(") depth++;
    else if (token === ")") depth--;
    else if (depth === 0 && SET_OPERATIONS.has(upper(token))) return null;
    else if (depth === 0 && upper(token) === "FROM") {
      if (from !== -1) return null;
      from = position;
    }
  }
  if (from === -1) return null;
  // [schema .] relation [alias], then the end or a clause that ends the FROM list.
  const item: string[] = [];
  let position = from + 1;
  for (; position < significant.length; position++) {
    const token = significant[position]?.token ?? "";
    if (AFTER_FROM.has(upper(token))) break;
    item.push(token);
  }
  let relation: string | undefined;
  let rest: string[];
  if (item.length >= 3 && item[1] === "." && isName(item[0]) && isName(item[2])) [relation, rest] = [item[2], item.slice(3)];
  else if (isName(item[0])) [relation, rest] = [item[0], item.slice(1)];
  else return null;
  if (rest.length > 1 || (rest.length === 1 && !isName(rest[0]))) return null;
  const name = rest[0] ?? relation;
  if (name === undefined || upper(name) === "JOIN") return null;
  const start = significant[from]?.index ?? 0;
  const end = significant[position - 1]?.index ?? tokens.length;
  return { name, fromStart: start, fromEnd: end + 1 };
}

/** Names, quoted names, string literals, single spaces and single other characters: enough to find `alias.column` safely. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index] ?? "";
    let end = index + 1;
    if (char === "'" || char === '"') {
      // A doubled quote inside is the quote itself.
      while (end < text.length && !(text[end] === char && text[end + 1] !== char)) end += text[end] === char ? 2 : 1;
      end = Math.min(end + 1, text.length);
    } else if (/[A-Za-z_]/.test(char)) {
      while (end < text.length && /[A-Za-z0-9_$]/.test(text[end] ?? "")) end++;
    }
    tokens.push(text.slice(index, end));
    index = end;
  }
  return tokens;
}
