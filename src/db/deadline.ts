/**
 * Races a promise against a timer that rejects with `timeoutError()`: a
 * query that never returns (a stalled connection) must not hold the caller
 * past its bound. A late failure of the promise, once cut off, is nobody's
 * concern.
 */
export async function withinMs<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  promise.catch(() => {});
  const cutOff = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), Math.max(ms, 1));
  });
  try {
    return await Promise.race([promise, cutOff]);
  } finally {
    clearTimeout(timer);
  }
}
