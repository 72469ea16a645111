/**
 * COCO's run-length encoded masks (`pycocotools.mask`): counts over the COLUMN-major flattened mask,
 * alternating runs of 0s and 1s starting with 0s, either as a list of numbers (uncompressed RLE) or as
 * pycocotools' compressed string (`rleToString`: each count as 5-bit groups in ASCII from 48, bit 0x20 for
 * "more groups", sign from bit 0x10 of the last group, and counts after the second stored as differences
 * to the count two places earlier).
 * @module
 */

/** A COCO RLE `segmentation`. */
export interface CocoRle {
  /** `[height, width]`. */
  size: [number, number];
  /** Run lengths, or pycocotools' compressed string of them. */
  counts: number[] | string;
}

/**
 * pycocotools' `rleFrString`: the run lengths of a compressed RLE string.
 *
 * @param s The compressed counts.
 * @returns The run lengths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cocoCountsFromString } from "./coco_rle.ts";
 * assert.deepEqual(cocoCountsFromString("52203"), [5, 2, 2, 2, 5]);
 * ```
 */
export function cocoCountsFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) throw new SyntaxError(`Cannot read RLE counts "${s}": it ends inside a number`);
      const c = s.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++, k++;
      if (!more && (c & 0x10)) x -= 2 ** (5 * k); // sign-extend: x |= -1 << 5k
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * Decodes a COCO RLE into a row-major 0/1 mask.
 *
 * @param rle The RLE (compressed or not).
 * @returns `height * width` bytes, row-major.
 * @throws {RangeError} When the runs do not add up to the mask size or a run is negative.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCocoRle } from "./coco_rle.ts";
 * // a 2x2 square in a 4x4 mask: columns 1 and 2 hold 0,1,1,0
 * const mask = decodeCocoRle({ size: [4, 4], counts: [5, 2, 2, 2, 5] });
 * assert.deepEqual([...mask], [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
 * ```
 */
export function decodeCocoRle(rle: CocoRle): Uint8Array {
  const [h, w] = rle.size;
  const counts = typeof rle.counts === "string" ? cocoCountsFromString(rle.counts) : rle.counts;
  const mask = new Uint8Array(h * w);
  let pos = 0, value = 0;
  for (const n of counts) {
    if (!(n >= 0) || pos + n > h * w) {
      throw new RangeError(`Cannot decode RLE: runs exceed the ${h}x${w} mask`);
    }
    if (value) {
      for (let i = pos; i < pos + n; i++) mask[(i % h) * w + Math.floor(i / h)] = 1; // column-major
    }
    pos += n;
    value ^= 1;
  }
  if (pos !== h * w) {
    throw new RangeError(`Cannot decode RLE: runs cover ${pos} of the ${h}x${w} mask's pixels`);
  }
  return mask;
}

/**
 * Checks that a JSON value is a COCO RLE: `size` two positive integers, `counts` a string or numbers.
 *
 * @param value The `segmentation` value.
 * @returns It, typed.
 * @throws {TypeError} Naming what is missing.
 */
export function asCocoRle(value: unknown): CocoRle {
  const v = value as { size?: unknown; counts?: unknown } | null;
  const size = v?.size;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((n) => Number.isInteger(n) && n > 0)) {
    throw new TypeError("RLE segmentation needs size [height, width]");
  }
  const counts = v?.counts;
  if (typeof counts !== "string" && !(Array.isArray(counts) && counts.every((n) => typeof n === "number"))) {
    throw new TypeError("RLE segmentation needs counts (a string or a list of numbers)");
  }
  return { size: [size[0], size[1]], counts };
}
