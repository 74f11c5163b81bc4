import { createHash } from "node:crypto";
import { describe, expect, test } from "bun:test";
import { checksumOf } from "../../src/core/checksum.ts";
import { mulberry32, randomText } from "./helpers.ts";

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

describe("checksumOf", () => {
  test("is the SHA-256 hex of the text", () => {
    expect(checksumOf("select 1;\n")).toBe(sha256("select 1;\n"));
    // The same value, written out, so a change of algorithm or encoding is caught too.
    expect(checksumOf("select 1;\n")).toBe("4a45092ccf992ea92250053a80b931b787924ba61648f420555511b84f10ab6c");
  });

  test("of the empty text", () => {
    expect(checksumOf("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  test("is 64 lower-case hex characters", () => {
    expect(checksumOf("create table a (id int);")).toMatch(/^[0-9a-f]{64}$/);
  });

  test("hashes UTF-8, not UTF-16", () => {
    const text = "comment on table a is 'café 😀';\n";
    expect(checksumOf(text)).toBe(createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex"));
  });

  test("ignores CRLF versus LF", () => {
    expect(checksumOf("select 1;\r\nselect 2;\r\n")).toBe(checksumOf("select 1;\nselect 2;\n"));
  });

  test("ignores lone CR versus LF", () => {
    expect(checksumOf("select 1;\rselect 2;\r")).toBe(checksumOf("select 1;\nselect 2;\n"));
  });

  test("ignores a leading BOM", () => {
    expect(checksumOf("\uFEFFselect 1;\n")).toBe(checksumOf("select 1;\n"));
    expect(checksumOf("\uFEFFselect 1;\r\n")).toBe(sha256("select 1;\n"));
  });

  test("a content change changes it", () => {
    const base = checksumOf("select 1;\n");
    expect(checksumOf("select 2;\n")).not.toBe(base);
    expect(checksumOf("select 1; \n")).not.toBe(base);
    expect(checksumOf("select 1;")).not.toBe(base);
    expect(checksumOf("select 1;\n\n")).not.toBe(base);
    expect(checksumOf("SELECT 1;\n")).not.toBe(base);
  });
});

describe("checksumOf under Bun", () => {
  // Under Bun it hashes with Bun.SHA256; Node and Deno (the library in the API, `deno run`) use node:crypto. Both must give one checksum for a text.
  test("equals node:crypto's SHA-256 of the UTF-8 text, surrogates and all", () => {
    const random = mulberry32(256);
    const pieces = ["a", "\n", "é", "€", "🙂", "\ud800", "\udfff", "\u2028", "\0", " ", "'", "$$"];
    for (let round = 0; round < 2_000; round++) {
      const text = randomText(random, pieces, Math.floor(random() * 40));
      expect(checksumOf(text)).toBe(createHash("sha256").update(text, "utf8").digest("hex"));
    }
  });
});
