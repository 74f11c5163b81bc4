import { describe, expect, test } from "bun:test";
import { compareVersions, isVersion, versionKey } from "../../src/core/version.ts";

describe("versionKey", () => {
  test("strips leading zeros", () => {
    expect(versionKey("046")).toBe("46");
    expect(versionKey("0046")).toBe("46");
    expect(versionKey("46")).toBe("46");
  });

  test("zero stays zero", () => {
    expect(versionKey("000")).toBe("0");
    expect(versionKey("0")).toBe("0");
  });

  test("keeps inner and trailing zeros", () => {
    expect(versionKey("100")).toBe("100");
    expect(versionKey("00100")).toBe("100");
  });

  test("ignores surrounding whitespace (e.g. char(n) padding from the database)", () => {
    expect(versionKey(" 046 ")).toBe("46");
  });

  test("very long versions are not converted to numbers (no precision loss)", () => {
    expect(versionKey("000123456789012345678901234567890")).toBe("123456789012345678901234567890");
  });
});

describe("compareVersions", () => {
  const sign = (value: number): number => Math.sign(value);

  test("numeric, not lexical", () => {
    expect(sign(compareVersions("2", "10"))).toBe(-1);
    expect(sign(compareVersions("10", "2"))).toBe(1);
    expect(sign(compareVersions("9", "10"))).toBe(-1);
  });

  test("padding does not matter", () => {
    expect(compareVersions("046", "46")).toBe(0);
    expect(compareVersions("0046", "046")).toBe(0);
    expect(compareVersions("000", "0")).toBe(0);
    expect(sign(compareVersions("011", "2"))).toBe(1);
    expect(sign(compareVersions("002", "11"))).toBe(-1);
  });

  test("equal versions compare as 0", () => {
    expect(compareVersions("7", "7")).toBe(0);
  });

  test("very long digit strings (beyond Number precision) compare exactly", () => {
    // These two differ only in the last digit, which a Number would lose.
    const a = "123456789012345678901234";
    const b = "123456789012345678901235";
    expect(Number(a)).toBe(Number(b));
    expect(sign(compareVersions(a, b))).toBe(-1);
    expect(sign(compareVersions(b, a))).toBe(1);
    expect(compareVersions(a, `0000${a}`)).toBe(0);
    expect(sign(compareVersions("99999999999999999999", "100000000000000000000"))).toBe(-1);
    // Padding makes the string longer but not the number bigger.
    expect(sign(compareVersions("000099999999999999999999", "100000000000000000000"))).toBe(-1);
    expect(sign(compareVersions("100000000000000000000", "000099999999999999999999"))).toBe(1);
  });

  test("sorting a shuffled list gives numeric order", () => {
    const versions = ["10", "002", "1", "000", "20240101000000", "011", "3", "99999999999999999999999"];
    expect([...versions].sort(compareVersions)).toEqual([
      "000",
      "1",
      "002",
      "3",
      "10",
      "011",
      "20240101000000",
      "99999999999999999999999",
    ]);
  });

  test("is antisymmetric on a sample", () => {
    const sample = ["0", "00", "1", "01", "9", "10", "046", "46", "100", "123456789012345678901234"];
    for (const a of sample) {
      for (const b of sample) {
        expect(sign(compareVersions(a, b))).toBe(-sign(compareVersions(b, a)) || 0);
      }
    }
  });
});

describe("isVersion", () => {
  test("digits only", () => {
    expect(isVersion("046")).toBe(true);
    expect(isVersion(" 46 ")).toBe(true);
    expect(isVersion("")).toBe(false);
    expect(isVersion("4a")).toBe(false);
    expect(isVersion("-1")).toBe(false);
    expect(isVersion("1.5")).toBe(false);
  });
});
