import { scanSql } from "./sql-lexer.ts";
import { isCopyToStdout } from "./statement-rules.ts";

/** A part of a migration's text sent as one query: [start, end) offsets into that text. */
export interface QueryPiece {
  readonly start: number;
  readonly end: number;
}

/**
 * Cuts a migration's text so that each COPY ... TO STDOUT is a query of its
 * own. postgres.js answers a query that streams COPY data with the stream,
 * as soon as the copy starts, and never reports what the statements after it
 * in the same query did (an error among them is lost). Alone in its query, a
 * COPY's stream ends with that query, and an error after it fails the next
 * query. A text without such a COPY is one piece.
 */
export function piecesAroundCopyOut(text: string): QueryPiece[] {
  const copies = scanSql(text).statements.filter((statement) => isCopyToStdout(text, statement));
  const pieces: QueryPiece[] = [];
  let from = 0;
  for (const copy of copies) {
    if (text.slice(from, copy.start).trim() !== "") pieces.push({ start: from, end: copy.start });
    pieces.push({ start: copy.start, end: copy.endWithTerminator });
    from = copy.endWithTerminator;
  }
  if (pieces.length === 0 || text.slice(from).trim() !== "") pieces.push({ start: from, end: text.length });
  return pieces;
}
