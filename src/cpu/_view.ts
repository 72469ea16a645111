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

/**
 * Writes `v`, the value at (n, y, x, c) of an `h` x `w` map, to its `scale` x `scale` block of the NHWC view
 * `(base, stride, off)` of the map `scale` times larger: what a nearest upsample copies it to (conv2d's `UP_R`).
 */
export function storeUpsampled(
  out: Float32Array,
  view: { base: number; stride: number; off: number },
  h: number,
  w: number,
  scale: number,
  at: { n: number; y: number; x: number; c: number },
  v: number,
): void {
  for (let dy = 0; dy < scale; dy++) {
    for (let dx = 0; dx < scale; dx++) {
      const { n, y, x, c } = at;
      out[
        nhwcIndex(
          view.base,
          view.stride,
          view.off,
          h * scale,
          w * scale,
          n,
          y * scale + dy,
          x * scale + dx,
          c,
        )
      ] = v;
    }
  }
}

/** `x * sigmoid(x)`. */
export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}
