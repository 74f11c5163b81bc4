/** Between the file and the finish: ends the file's last statement, even after a line comment. */
const FILE_END = "\n;\n";

/** A migration sent in one simple-protocol query with what comes before and after it. */
export interface OneQuery {
  readonly text: string;
  /**
   * Maps the server's error position in the whole query to the file's up
   * part: null when it points into what came before or after. An unfinished
   * last statement makes the server stop at the separator after the file:
   * that points just past the file's last character that is not white space.
   */
  positionInFile(position: number | null): number | null;
  /** Whether the server's position points into what comes after the file (the runner's own statements). */
  pointsPastFile(position: number | null): boolean;
}

export function composeOneQuery(prefix: string, fileText: string, suffix: string): OneQuery {
  // The server counts characters (code points), as Array.from does.
  const prefixLength = Array.from(prefix).length;
  return {
    text: `${prefix}${fileText}${FILE_END}${suffix}`,
    positionInFile(raw) {
      if (raw === null || raw <= prefixLength) return null;
      const position = raw - prefixLength;
      const contentLength = Array.from(fileText.trimEnd()).length;
      if (position <= contentLength) return position;
      return position <= Array.from(fileText).length + FILE_END.length ? contentLength + 1 : null;
    },
    pointsPastFile(raw) {
      return raw !== null && raw > prefixLength + Array.from(fileText).length + FILE_END.length;
    },
  };
}
