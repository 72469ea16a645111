/**
 * Ground-truth masks from polygons, as Ultralytics 8.3.159 builds them for segmentation training and
 * validation (`ultralytics/data/utils.py`, `ultralytics/utils/ops.py`):
 *
 * - `resample_segments`: every polygon is closed and resampled to `n` points (1000, or one more than the
 *   longest polygon), the original vertices kept among evenly spaced ones, in float32;
 * - `polygon2mask`: vertices truncated to int32, `cv2.fillPoly` at full size ({@link ./fill_poly.ts}), then
 *   `cv2.resize` (INTER_LINEAR) to `1/ratio` of the size;
 * - `polygons2masks_overlap`: one index map, instances sorted by area (largest first) and numbered from 1,
 *   a pixel keeping the highest number that covers it (smaller instances on top).
 * @module
 */
import { fillPoly } from "./fill_poly.ts";
import { resizeBilinearU8 } from "./resize.ts";

/** `np.linspace(a, b, n)`: `a + i * step`, the last value exactly `b`. */
function linspace(a: number, b: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = a;
    return out;
  }
  const step = (b - a) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + a;
  out[n - 1] = b;
  return out;
}

/** `np.interp(x, xp, fp)` for integer `xp = 0, 1, ..., m - 1` (increasing, no repeats). */
function interpIndex(x: number, fp: ArrayLike<number>): number {
  const m = fp.length;
  if (x <= 0) return fp[0];
  if (x >= m - 1) return fp[m - 1];
  const j = Math.floor(x);
  if (j === x) return fp[j];
  const slope = (fp[j + 1] - fp[j]) / 1;
  return slope * (x - j) + fp[j];
}

/**
 * Ultralytics' `resample_segments(segments, n)`: closes each polygon and resamples it to `n` points in
 * float32; a polygon of exactly `n` points is kept as is.
 *
 * @param segments Polygons as flat `x0, y0, x1, y1, ...` lists.
 * @param n Points per polygon.
 * @returns The resampled polygons, each `2 * n` float32 values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resampleSegments } from "./polygon_masks.ts";
 * // closed to (0,0) (4,0) (4,3) (0,0): 4 vertices at positions 0..3 and 5 even positions 0, 0.75, ... 3
 * const [s] = resampleSegments([new Float32Array([0, 0, 4, 0, 4, 3])], 9);
 * assert.deepEqual([...s], [0, 0, 0, 0, 3, 0, 4, 0, 4, 1.5, 4, 3, 3, 2.25, 0, 0, 0, 0]);
 * ```
 */
export function resampleSegments(segments: readonly ArrayLike<number>[], n = 1000): Float32Array[] {
  return segments.map((seg) => {
    const len = seg.length >> 1;
    if (len === n) return Float32Array.from(seg);
    const m = len + 1; // closed
    const xs = new Float64Array(m), ys = new Float64Array(m);
    for (let i = 0; i < len; i++) xs[i] = seg[2 * i], ys[i] = seg[2 * i + 1];
    xs[len] = seg[0], ys[len] = seg[1];
    let x: Float64Array;
    if (m < n) {
      // evenly spaced positions, with the original vertex indices inserted (np.insert at searchsorted)
      const even = linspace(0, m - 1, n - m);
      x = new Float64Array(n);
      let e = 0, k = 0;
      for (let v = 0; v < m; v++) {
        while (e < even.length && even[e] < v) x[k++] = even[e++]; // searchsorted 'left': v goes before equals
        x[k++] = v;
      }
      while (e < even.length) x[k++] = even[e++];
    } else x = linspace(0, m - 1, n);
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      out[2 * i] = interpIndex(x[i], xs);
      out[2 * i + 1] = interpIndex(x[i], ys);
    }
    return out;
  });
}

/**
 * Ultralytics' `polygon2mask(imgsz, [polygon], color=1, downsample_ratio)`: the filled polygon at
 * `imgsz`, downsampled by `ratio` with OpenCV's INTER_LINEAR (a pixel stays set when at least two of the
 * four source pixels it blends are).
 *
 * Only the polygon's window is drawn and downsampled (its bounding box, grown by a margin and aligned to
 * `ratio`, inside the image): the fill's pixels move with the polygon by whole pixels and a pixel of an
 * integer downsampling blends source pixels of its own `ratio` x `ratio` cell, so the window gives the
 * pixels of the whole image; the rest is 0. Sizes that are not multiples of an integer `ratio` take the
 * whole image.
 *
 * @param imgsz `[height, width]` the polygon coordinates are in.
 * @param polygon Flat `x, y` pixel coordinates (truncated toward zero, as `astype(np.int32)`).
 * @param ratio The downsampling factor.
 * @returns `[height / ratio, width / ratio]` (floored) 0/1 bytes.
 */
export function polygonToMask(imgsz: [number, number], polygon: ArrayLike<number>, ratio = 1): Uint8Array {
  const [h, w] = imgsz;
  const pts = Int32Array.from(polygon, Math.trunc);
  const nh = Math.floor(h / ratio), nw = Math.floor(w / ratio);
  const cell = Number.isInteger(ratio) && ratio >= 1 && h % ratio === 0 && w % ratio === 0 ? ratio : 0;
  if (!cell || pts.length < 2) {
    const full = { width: w, height: h, data: new Uint8Array(w * h) };
    fillPoly(full, [pts], 1);
    if (nh === h && nw === w) return full.data;
    return resizeBilinearU8(full, [nw, nh]).data;
  }
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i + 1 < pts.length; i += 2) {
    minX = Math.min(minX, pts[i]), maxX = Math.max(maxX, pts[i]);
    minY = Math.min(minY, pts[i + 1]), maxY = Math.max(maxY, pts[i + 1]);
  }
  // A margin keeps the window's edges off the polygon wherever they are not the image's edges, so lines
  // are clipped (and spans cut) at the image's edges only.
  const margin = 2;
  const align = (v: number, up: boolean) => (up ? Math.ceil(v / cell) : Math.floor(v / cell)) * cell;
  const x0 = Math.max(0, align(minX - margin, false)), x1 = Math.min(w, align(maxX + margin + 1, true));
  const y0 = Math.max(0, align(minY - margin, false)), y1 = Math.min(h, align(maxY + margin + 1, true));
  const out = new Uint8Array(nh * nw);
  if (x0 >= x1 || y0 >= y1) return out; // wholly outside the image: nothing drawn
  const cw = x1 - x0, ch = y1 - y0;
  for (let i = 0; i + 1 < pts.length; i += 2) pts[i] -= x0, pts[i + 1] -= y0;
  const win = { width: cw, height: ch, data: new Uint8Array(cw * ch) };
  fillPoly(win, [pts], 1);
  const small = cell === 1 ? win : resizeBilinearU8(win, [cw / cell, ch / cell]);
  const sw = cw / cell, ox = x0 / cell, oy = y0 / cell;
  for (let y = 0; y < ch / cell; y++) {
    out.set(small.data.subarray(y * sw, (y + 1) * sw), (oy + y) * nw + ox);
  }
  return out;
}

/** One image's overlap mask: instance numbers per pixel, and the area order of the instances. */
export interface OverlapMask {
  /** `[height / ratio, width / ratio]` values: 0 background, `k + 1` the k-th instance in `order`. */
  mask: Int32Array;
  /** `[height, width]` of `mask`. */
  shape: [number, number];
  /** Instance indices by decreasing mask area (a stable sort): instance `order[k]` is numbered `k + 1`. */
  order: number[];
}

/**
 * Ultralytics' `polygons2masks_overlap(imgsz, segments, downsample_ratio)`.
 *
 * @param imgsz `[height, width]` the polygons are in (the letterboxed image).
 * @param segments Polygons in pixels, one per instance.
 * @param ratio The downsampling factor (Ultralytics' `mask_ratio`, 4).
 * @returns The index map and the area order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { polygonsToOverlapMask } from "./polygon_masks.ts";
 * const big = [0, 0, 3, 0, 3, 3, 0, 3], small = [1, 1, 2, 1, 2, 2, 1, 2];
 * const { mask, order } = polygonsToOverlapMask([4, 4], [small, big], 1);
 * assert.deepEqual(order, [1, 0]); // the big one first
 * assert.equal(mask[0], 1); // big only
 * assert.equal(mask[1 * 4 + 1], 2); // the small one on top
 * ```
 */
export function polygonsToOverlapMask(
  imgsz: [number, number],
  segments: readonly ArrayLike<number>[],
  ratio = 4,
): OverlapMask {
  const nh = Math.floor(imgsz[0] / ratio), nw = Math.floor(imgsz[1] / ratio);
  const ms = segments.map((s) => polygonToMask(imgsz, s, ratio));
  const areas = ms.map((m) => {
    let a = 0;
    for (let p = 0; p < m.length; p++) a += m[p];
    return a;
  });
  // np.argsort(-areas): quicksort, stable for the small counts of one image; ties keep index order
  const order = areas.map((_, i) => i).sort((a, b) => areas[b] - areas[a] || a - b);
  const mask = new Int32Array(nh * nw);
  order.forEach((idx, k) => {
    const m = ms[idx];
    for (let p = 0; p < m.length; p++) if (m[p]) mask[p] = k + 1;
  });
  return { mask, shape: [nh, nw], order };
}
