/**
 * Addressing of activation views shared by the CPU references: element (b, y, x, c) of a view
 * with base offset `base`, channel stride `stride` and channel offset `off` in a flat buffer.
 *
 * @module
 */

/** Index of (n, y, x, c) in an NHWC view: `base + ((n * h + y) * w + x) * stride + off + c`. */
export function nhwcIndex(
  base: number,
  stride: number,
  off: number,
  h: number,
  w: number,
  n: number,
  y: number,
  x: number,
  c: number,
): number {
  return base + ((n * h + y) * w + x) * stride + off + c;
}

/** Index of (n, y, x, c) in an NCHW view: `base + ((n * stride + off + c) * h + y) * w + x`. */
export function nchwIndex(
  base: number,
  stride: number,
  off: number,
  h: number,
  w: number,
  n: number,
  y: number,
  x: number,
  c: number,
): number {
  return base + ((n * stride + off + c) * h + y) * w + x;
}

/** `x * sigmoid(x)`. */
export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}
