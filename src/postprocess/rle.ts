/**
 * Run-length encoding of binary masks, the format of `../shared/refs` (`masks_format`): counts over the
 * row-major flattened mask, alternating runs of 0s and 1s, starting with a run of 0s (possibly 0 long).
 * Unlike COCO's RLE (column-major), the runs follow rows.
 * @module
 */

/** A run-length encoded binary mask. */
export interface Rle {
  /** `[height, width]` of the mask. */
  size: [number, number];
  /** Run lengths over the row-major mask: 0s, 1s, 0s, ... (the first run may be 0 long). */
  counts: number[];
}

/**
 * Encode a binary mask (any non-zero value counts as 1) as row-major runs.
 *
 * @param mask `height * width` values, row-major (a view into a mask stack works).
 * @param height Rows of the mask.
 * @param width Columns of the mask.
 * @returns The runs, starting with a run of 0s; a mask that ends in 1s ends with that run.
 * @throws {RangeError} When `mask` does not hold `height * width` values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRle } from "./rle.ts";
 * assert.deepEqual(encodeRle(new Uint8Array([1, 1, 0, 1]), 2, 2), { size: [2, 2], counts: [0, 2, 1, 1] });
 * ```
 */
export function encodeRle(mask: ArrayLike<number>, height: number, width: number): Rle {
  const n = height * width;
  if (mask.length !== n) {
    throw new RangeError(`Give a mask of ${n} values for size [${height}, ${width}]: got ${mask.length}`);
  }
  const counts: number[] = [];
  let value = 0;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const v = mask[i] !== 0 ? 1 : 0;
    if (v !== value) {
      counts.push(i - start);
      start = i;
      value = v;
    }
  }
  counts.push(n - start);
  return { size: [height, width], counts };
}

/**
 * Decode row-major runs into a binary mask.
 *
 * @param rle The encoded mask.
 * @returns `height * width` values of 0 or 1, row-major.
 * @throws {RangeError} When the counts do not add up to `height * width`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRle } from "./rle.ts";
 * assert.deepEqual(decodeRle({ size: [1, 4], counts: [1, 2, 1] }), new Uint8Array([0, 1, 1, 0]));
 * ```
 */
export function decodeRle(rle: Rle): Uint8Array {
  const [height, width] = rle.size;
  const n = height * width;
  const out = new Uint8Array(n);
  let pos = 0;
  for (let i = 0; i < rle.counts.length; i++) {
    const run = rle.counts[i];
    if (!(run >= 0) || pos + run > n) break;
    if (i & 1) out.fill(1, pos, pos + run);
    pos += run;
  }
  if (pos !== n || rle.counts.some((c) => !(c >= 0))) {
    throw new RangeError(`Give run lengths that add up to ${n} for size [${height}, ${width}]`);
  }
  return out;
}

/**
 * Intersection over union of two binary masks of the same size (non-zero counts as 1).
 *
 * @param a A mask, row-major.
 * @param b A mask of the same length.
 * @returns |a ∩ b| / |a ∪ b|, and 0 when both are empty.
 * @throws {RangeError} When the lengths differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskIoU } from "./rle.ts";
 * assert.equal(maskIoU(new Uint8Array([1, 1, 0, 0]), new Uint8Array([0, 1, 1, 0])), 1 / 3);
 * ```
 */
export function maskIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`Give masks of the same size: got ${a.length} and ${b.length} values`);
  }
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0;
    const y = b[i] !== 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/**
 * Intersection over union of two run-length encoded masks, computed on the runs (no decoding).
 *
 * @param a An encoded mask.
 * @param b An encoded mask of the same size.
 * @returns |a ∩ b| / |a ∪ b|, and 0 when both are empty.
 * @throws {RangeError} When the sizes differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rleIoU } from "./rle.ts";
 * assert.equal(rleIoU({ size: [1, 4], counts: [0, 2, 2] }, { size: [1, 4], counts: [1, 2, 1] }), 1 / 3);
 * ```
 */
export function rleIoU(a: Rle, b: Rle): number {
  if (a.size[0] !== b.size[0] || a.size[1] !== b.size[1]) {
    throw new RangeError(`Give masks of the same size: got [${a.size}] and [${b.size}]`);
  }
  let ia = 0, ib = 0; // run index
  let ra = a.counts[0] ?? 0, rb = b.counts[0] ?? 0; // what is left of the current runs
  let inter = 0, union = 0;
  while (ia < a.counts.length && ib < b.counts.length) {
    const step = Math.min(ra, rb);
    const va = ia & 1, vb = ib & 1;
    if (va & vb) inter += step;
    if (va | vb) union += step;
    ra -= step;
    rb -= step;
    while (ra === 0 && ia < a.counts.length) ra = a.counts[++ia] ?? 0;
    while (rb === 0 && ib < b.counts.length) rb = b.counts[++ib] ?? 0;
  }
  return union === 0 ? 0 : inter / union;
}
