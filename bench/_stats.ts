/**
 * Timing statistics for the benchmarks: median, percentiles and a warm-up-then-measure loop.
 *
 * @module
 */

/** Options of {@linkcode timeIt}. */
export interface TimeItOptions {
  /** Untimed calls before measuring (compilation, caches, lazy allocation). @default 1 */
  warmup?: number;
  /** Timed calls. @default 3 */
  iterations?: number;
}

/** What {@linkcode timeIt} measured: ms of each timed call, their median and 90th percentile. */
export interface Timing {
  ms: number[];
  median: number;
  p90: number;
}

/**
 * The `p`-th percentile (0..100) of `xs` by linear interpolation between closest ranks (numpy's default).
 *
 * @throws {RangeError} When `xs` is empty or `p` is outside 0..100.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(percentile([4, 1, 3, 2], 25), 1.75);
 * assert.equal(percentile([1, 2, 3, 4, 5], 50), 3);
 * ```
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new RangeError("Cannot take a percentile of no values");
  if (!(p >= 0 && p <= 100)) throw new RangeError(`Use a percentile in 0..100: got "${p}"`);
  const s = [...xs].sort((a, b) => a - b);
  const i = ((s.length - 1) * p) / 100;
  const lo = Math.floor(i);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}

/** The median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/**
 * Calls `fn` `warmup` times untimed, then `iterations` times, timing each awaited call with
 * `performance.now()`. `fn` must resolve only once its work is finished (for GPU work: after the readback).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const t = await timeIt(() => new Promise((r) => setTimeout(r, 5)), { warmup: 0, iterations: 2 });
 * assert.equal(t.ms.length, 2);
 * assert.ok(t.median >= 4);
 * ```
 */
export async function timeIt(fn: () => unknown, options: TimeItOptions = {}): Promise<Timing> {
  const { warmup = 1, iterations = 3 } = options;
  if (!(iterations >= 1)) throw new RangeError(`Use at least one iteration: got "${iterations}"`);
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { ms, median: median(ms), p90: percentile(ms, 90) };
}
