/**
 * Seeded randomness for tests: the same seed gives the same numbers on every run and machine.
 *
 * @module
 */

/**
 * A seeded uniform generator in [0, 1) (mulberry32).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rand } from "./_rand.ts";
 * const a = rand(7), b = rand(7);
 * assert.equal(a(), b());
 * ```
 */
export function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` seeded uniform values in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = rand(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
  return out;
}

/** A seeded integer in [lo, hi]. */
export function randomInt(next: () => number, lo: number, hi: number): number {
  return lo + Math.floor(next() * (hi - lo + 1));
}
