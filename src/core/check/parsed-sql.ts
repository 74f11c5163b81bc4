/**
 * PostgreSQL's parse tree of a migration's up part (libpg-query's JSON, the
 * server's own grammar), turned into what the text rules read: each
 * statement's node and its line in the file. Pure: src/check/parser.ts
 * loads the parser and hands its result here.
 */
import type { Node, ParseResult, RangeVar } from "libpg-query";

export type { Node, ParseResult, RangeVar };

/** What the parser made of the text: a tree, or the syntax error it stopped at. */
export type ParseOutcome =
  | { readonly ok: true; readonly tree: ParseResult }
  /** cursorPosition: 0-based, in code points of the text parsed (as libpg-query reports it). */
  | { readonly ok: false; readonly message: string; readonly cursorPosition: number };

export interface LocatedStatement {
  readonly node: Node;
  /** UTF-16 index of the statement's first token in the file text (stmt_location skips the comments and blank lines before it). */
  readonly index: number;
  /** 1-based line of that token in the file. */
  readonly line: number;
}

const utf8Length = (code: number): number => (code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4);

/**
 * The parser counts UTF-8 bytes (stmt_location); JavaScript strings count
 * UTF-16 units. Offsets must be ascending; one walk over the text serves all.
 */
export function utf8OffsetsToIndexes(text: string, byteOffsets: readonly number[]): number[] {
  const indexes: number[] = [];
  let bytes = 0;
  let index = 0;
  for (const offset of byteOffsets) {
    while (bytes < offset && index < text.length) {
      const code = text.codePointAt(index) ?? 0;
      bytes += utf8Length(code);
      index += code > 0xffff ? 2 : 1;
    }
    indexes.push(index);
  }
  return indexes;
}

/** 1-based line of a UTF-16 index, by binary search over the line starts. */
export function lineFinder(text: string): (index: number) => number {
  const starts = [0];
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) starts.push(at + 1);
  return (index) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((starts[middle] ?? 0) <= index) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
}

/** The statements of the up part (which starts at `upOffset` in `fileText`), each with its line in the file. */
export function locateStatements(fileText: string, up: string, upOffset: number, tree: ParseResult): LocatedStatement[] {
  const stmts = (tree.stmts ?? []).filter((raw) => raw.stmt !== undefined);
  const indexes = utf8OffsetsToIndexes(up, stmts.map((raw) => raw.stmt_location ?? 0));
  const lineOf = lineFinder(fileText);
  return stmts.map((raw, position) => {
    const index = upOffset + (indexes[position] ?? 0);
    return { node: raw.stmt as Node, index, line: lineOf(index) };
  });
}

/** The 0-based code-point offset of a syntax error as a UTF-16 index into `text`. */
export function codePointOffsetToIndex(text: string, codePoints: number): number {
  let index = 0;
  for (let remaining = codePoints; remaining > 0 && index < text.length; remaining--) index += (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
  return index;
}

/** A table's key as existingTables holds it: schema-qualified, public when the SQL does not say. */
export function tableKey(relation: RangeVar | undefined): string | null {
  if (!relation?.relname) return null;
  return `${relation.schemaname ?? "public"}.${relation.relname}`;
}

/** The name as the migration wrote it (quoted where the parser kept case or odd characters), for messages. */
export function displayName(relation: RangeVar | undefined): string {
  const quote = (name: string): string => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);
  if (!relation?.relname) return "?";
  return relation.schemaname ? `${quote(relation.schemaname)}.${quote(relation.relname)}` : quote(relation.relname);
}

/** The String items of a name list (["public", "users"]) as a RangeVar, for DROP TABLE's objects. */
export function rangeVarOfNames(names: readonly Node[] | undefined): RangeVar | undefined {
  const parts = (names ?? []).flatMap((item) => ("String" in item && item.String.sval !== undefined ? [item.String.sval] : []));
  if (parts.length === 0) return undefined;
  const relname = parts.at(-1);
  return parts.length >= 2 ? { schemaname: parts.at(-2), relname } : { relname };
}
