/**
 * Numeric comparison for tests, reporting where the worst mismatch is.
 *
 * @module
 */
import { AssertionError } from "node:assert/strict";

/** Tolerances: element `i` passes when `|a - e| <= atol + rtol * |e|`. */
export interface CloseOptions {
  /** Absolute tolerance. @default {1e-5} */
  atol?: number;
  /** Relative tolerance. @default {1e-5} */
  rtol?: number;
}

/**
 * Asserts two arrays have the same length and are element-wise close; the failure message gives
 * the count of bad elements, the max abs error, its index and both values there.
 *
 * @example
 * ```ts
 * import { assertClose } from "./_close.ts";
 * assertClose(new Float32Array([1, 2]), [1, 2.000001], { atol: 1e-5 }, "toy");
 * ```
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: CloseOptions = {},
  label = "values",
): void {
  const { atol = 1e-5, rtol = 1e-5 } = options;
  if (actual.length !== expected.length) {
    throw new AssertionError({ message: `${label}: length ${actual.length}, expected ${expected.length}` });
  }
  let bad = 0;
  let worst = -1;
  let worstErr = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    const ok = err <= atol + rtol * Math.abs(e) || (Number.isNaN(a) && Number.isNaN(e)) || a === e;
    if (!ok) bad++;
    if (!ok && !(err <= worstErr)) {
      worst = i;
      worstErr = Number.isNaN(err) ? Infinity : err;
    }
  }
  if (bad > 0) {
    throw new AssertionError({
      message: `${label}: ${bad} of ${actual.length} elements differ (atol ${atol}, rtol ${rtol}); ` +
        `max abs error ${worstErr} at index ${worst}: got ${actual[worst]}, expected ${expected[worst]}`,
    });
  }
}

/** The largest `|actual - expected|`. */
export function maxAbsError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < actual.length; i++) m = Math.max(m, Math.abs(actual[i] - expected[i]));
  return m;
}
