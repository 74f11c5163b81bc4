/** Where a server error points inside a migration file. */
export interface SourcePosition {
  /** 1-based line in the file. */
  readonly line: number;
  /** 1-based column, in characters. */
  readonly column: number;
  /** The text of that line. */
  readonly lineText: string;
}

/**
 * Maps PostgreSQL's error position (1-based, counted in characters of the
 * query text sent) to a line and column of the file, given where that query
 * text starts in the file. Code points, not UTF-16 units, are counted, as the
 * server does.
 */
export function locateInFile(fileText: string, queryOffset: number, serverPosition: number): SourcePosition | null {
  if (!Number.isInteger(serverPosition) || serverPosition < 1 || queryOffset > fileText.length) return null;
  // Walk code points from the query start to find the UTF-16 index of the position.
  let index = queryOffset;
  let remaining = serverPosition - 1;
  for (; remaining > 0 && index < fileText.length; remaining--) {
    const code = fileText.codePointAt(index) ?? 0;
    index += code > 0xffff ? 2 : 1;
  }
  // Position length+1 is "at end of input"; anything further is not in this file.
  if (remaining > 0) return null;
  const lineStart = index === 0 ? 0 : fileText.lastIndexOf("\n", index - 1) + 1;
  const lineEndIndex = fileText.indexOf("\n", index);
  const lineEnd = lineEndIndex === -1 ? fileText.length : lineEndIndex;
  let line = 1;
  for (let cursor = fileText.indexOf("\n"); cursor !== -1 && cursor < lineStart; cursor = fileText.indexOf("\n", cursor + 1)) {
    line++;
  }
  const column = Array.from(fileText.slice(lineStart, index)).length + 1;
  return { line, column, lineText: fileText.slice(lineStart, lineEnd) };
}
