/**
 * IoU matrices as Ultralytics' `metrics.box_iou` and `metrics.mask_iou` compute them on float32 tensors.
 * @module
 */

const f32 = Math.fround;

/**
 * `box_iou(box1, box2, eps=1e-7)`: pairwise IoU of xyxy boxes, in float32.
 *
 * @param a `[m, 4]` xyxy boxes, flat.
 * @param b `[n, 4]` xyxy boxes, flat.
 * @returns `[m, n]` IoUs, row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boxIoU } from "./iou.ts";
 * const iou = boxIoU([0, 0, 2, 2], [1, 0, 3, 2, 5, 5, 6, 6]);
 * assert.ok(Math.abs(iou[0] - 1 / 3) < 1e-6);
 * assert.equal(iou[1], 0);
 * ```
 */
export function boxIoU(a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-7): Float32Array {
  const m = a.length >> 2, n = b.length >> 2;
  const out = new Float32Array(m * n);
  const e = f32(eps);
  for (let i = 0; i < m; i++) {
    const ax1 = a[4 * i], ay1 = a[4 * i + 1], ax2 = a[4 * i + 2], ay2 = a[4 * i + 3];
    const areaA = f32(f32(ax2 - ax1) * f32(ay2 - ay1));
    for (let j = 0; j < n; j++) {
      const bx1 = b[4 * j], by1 = b[4 * j + 1], bx2 = b[4 * j + 2], by2 = b[4 * j + 3];
      const iw = Math.max(f32(Math.min(ax2, bx2) - Math.max(ax1, bx1)), 0);
      const ih = Math.max(f32(Math.min(ay2, by2) - Math.max(ay1, by1)), 0);
      const inter = f32(iw * ih);
      const areaB = f32(f32(bx2 - bx1) * f32(by2 - by1));
      out[i * n + j] = f32(inter / f32(f32(f32(areaA + areaB) - inter) + e));
    }
  }
  return out;
}

/**
 * `mask_iou(mask1, mask2, eps=1e-7)`: pairwise IoU of binary masks of `pixels` values each. Pairs for
 * which `want(i, j)` is false are left 0 (the validator zeroes IoUs across classes anyway).
 *
 * @param a `[m, pixels]` 0/1 masks.
 * @param b `[n, pixels]` 0/1 masks.
 * @param pixels Values per mask.
 * @param want Which pairs to compute.
 * @returns `[m, n]` IoUs, row-major, float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskIoU } from "./iou.ts";
 * const iou = maskIoU(new Uint8Array([1, 1, 0, 0]), new Uint8Array([0, 1, 1, 0]), 4);
 * assert.ok(Math.abs(iou[0] - 1 / 3) < 1e-6);
 * ```
 */
export function maskIoU(
  a: Uint8Array,
  b: Uint8Array,
  pixels: number,
  want: (i: number, j: number) => boolean = () => true,
): Float32Array {
  const m = pixels ? a.length / pixels : 0, n = pixels ? b.length / pixels : 0;
  const out = new Float32Array(m * n);
  // Areas of b's masks, counted when a pair first needs one (-1: not yet). 0/1 bytes four at a time where
  // aligned: their sum is the top byte of word * 0x01010101 (no carries).
  const sumB = new Float64Array(n).fill(-1);
  const words = pixels % 4 === 0 && b.byteOffset % 4 === 0
    ? new Uint32Array(b.buffer, b.byteOffset, (n * pixels) / 4)
    : undefined;
  const areaB = (j: number): number => {
    if (sumB[j] >= 0) return sumB[j];
    let s = 0;
    if (words) {
      for (let q = (j * pixels) / 4, end = q + pixels / 4; q < end; q++) {
        const v = words[q];
        if (v !== 0) s += Math.imul(v, 0x01010101) >>> 24;
      }
    } else {
      for (let p = j * pixels, end = p + pixels; p < end; p++) s += b[p];
    }
    return (sumB[j] = s);
  };
  const e = f32(1e-7);
  for (let i = 0; i < m; i++) {
    // the set pixels of mask i, then count them in each mask j
    const idx: number[] = [];
    for (let p = 0; p < pixels; p++) if (a[i * pixels + p]) idx.push(p);
    for (let j = 0; j < n; j++) {
      if (!want(i, j)) continue;
      const base = j * pixels;
      let inter = 0;
      for (const p of idx) inter += b[base + p];
      out[i * n + j] = f32(inter / f32(f32(idx.length + areaB(j) - inter) + e));
    }
  }
  return out;
}
