/** Small helpers shared by the unit tests (pure: no database, no filesystem). */
import { expect } from "bun:test";
import { type ErrorCode, MigrateError } from "../../src/core/errors.ts";

/** Runs `fn`, asserts it throws a MigrateError with `code`, and returns the error for further checks. */
export function expectMigrateError(fn: () => unknown, code: ErrorCode): MigrateError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MigrateError);
  const error = caught as MigrateError;
  expect(error.code).toBe(code);
  return error;
}

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random string of `length` pieces drawn from `alphabet`. */
export function randomText(random: () => number, alphabet: readonly string[], length: number): string {
  let text = "";
  for (let index = 0; index < length; index++) {
    text += alphabet[Math.floor(random() * alphabet.length)] ?? "";
  }
  return text;
}
