import { describe, expect, test } from "bun:test";
import { MAX_MIGRATION_FILE_BYTES, assertMigrationFileSize, decodeMigrationBytes, firstInvalidUtf8Offset } from "../../src/core/migration-bytes.ts";
import { expectMigrateError, mulberry32 } from "./helpers.ts";

const bytes = (...values: number[]) => new Uint8Array(values);
const utf8 = (text: string) => new TextEncoder().encode(text);

describe("decodeMigrationBytes", () => {
  test("valid UTF-8 (accents, emoji, a BOM) decodes as is", () => {
    expect(decodeMigrationBytes("001_a.sql", utf8("select 'café 😀';\n"))).toBe("select 'café 😀';\n");
    expect(decodeMigrationBytes("001_a.sql", bytes(0xef, 0xbb, 0xbf, 0x61)).endsWith("a")).toBe(true);
  });

  test("a Latin-1 byte => PARSE_NOT_UTF8 naming the file, the byte offset, the line and the byte", () => {
    const latin1 = new Uint8Array([...utf8("-- migrate:up\ninsert into t values ('caf"), 0xe9, ...utf8("');\n")]);
    const error = expectMigrateError(() => decodeMigrationBytes("017_latin1.sql", latin1), "PARSE_NOT_UTF8");
    const offset = utf8("-- migrate:up\ninsert into t values ('caf").length;
    expect(error.message).toContain("017_latin1.sql is not valid UTF-8");
    expect(error.message).toContain(`byte offset ${offset} (line 2) is 0xE9`);
    expect(error.message).toContain("iconv");
    expect(error.exitCode).toBe(2);
  });

  test("a file above the limit => MIGRATION_FILE_TOO_LARGE, before decoding", () => {
    const error = expectMigrateError(() => decodeMigrationBytes("018_big.sql", new Uint8Array(MAX_MIGRATION_FILE_BYTES + 1)), "MIGRATION_FILE_TOO_LARGE");
    expect(error.message).toContain("018_big.sql is 32.0 MiB");
    expect(error.message).toContain("at most 32 MiB");
  });
});

describe("assertMigrationFileSize", () => {
  test("exactly the limit is accepted, one byte more is refused", () => {
    assertMigrationFileSize("a.sql", MAX_MIGRATION_FILE_BYTES);
    expectMigrateError(() => assertMigrationFileSize("a.sql", MAX_MIGRATION_FILE_BYTES + 1), "MIGRATION_FILE_TOO_LARGE");
    expect(MAX_MIGRATION_FILE_BYTES).toBe(32 * 1024 * 1024);
  });
});

describe("firstInvalidUtf8Offset", () => {
  const cases: [string, Uint8Array, number | null][] = [
    ["ASCII", utf8("abc"), null],
    ["every sequence length", utf8("a\u00e9\u20ac\u{1f600}"), null],
    ["a lone continuation byte", bytes(0x61, 0x80), 1],
    ["an overlong two-byte form", bytes(0xc0, 0xaf), 0],
    ["an overlong three-byte form", bytes(0x61, 0xe0, 0x80, 0xaf), 1],
    ["a surrogate (U+D800)", bytes(0xed, 0xa0, 0x80), 0],
    ["above U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80), 0],
    ["a truncated sequence at the end", bytes(0x61, 0x62, 0xe2, 0x82), 2],
    ["a sequence cut by ASCII", bytes(0xe2, 0x61, 0x62), 0],
    ["0xFF", bytes(0x61, 0xff), 1],
  ];
  for (const [why, input, expected] of cases) {
    test(`${why} => ${expected}`, () => {
      expect(firstInvalidUtf8Offset(input)).toBe(expected);
    });
  }

  test("agrees with a fatal TextDecoder on random bytes, and the prefix before the offset is valid", () => {
    const random = mulberry32(0x5eed);
    const decoder = new TextDecoder("utf-8", { fatal: true });
    const alphabet = [0x61, 0x0a, 0x7f, 0x80, 0xbf, 0xc2, 0xc0, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90];
    let invalid = 0;
    for (let iteration = 0; iteration < 3000; iteration++) {
      const input = new Uint8Array(Math.floor(random() * 12)).map(() => alphabet[Math.floor(random() * alphabet.length)] ?? 0);
      let valid = true;
      try {
        decoder.decode(input);
      } catch {
        valid = false;
      }
      const offset = firstInvalidUtf8Offset(input);
      expect(offset === null).toBe(valid);
      if (offset !== null) {
        invalid++;
        expect(() => decoder.decode(input.slice(0, offset))).not.toThrow();
      }
    }
    expect(invalid).toBeGreaterThan(500);
  });
});
