/**
 * Mask contours as Ultralytics 8.3.159 gives them in `Results.masks.xy`:
 * `[scale_coords(mask.shape, s, orig_shape) for s in masks2segments(masks)]`, where `masks2segments`
 * (default `strategy="all"`) runs `cv2.findContours(mask, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)` and, when
 * a mask has several outer contours, joins them with `merge_multi_segment` (from `ultralytics.data.converter`)
 * into one polygon; `"largest"` keeps the contour with the most points instead.
 *
 * {@linkcode findContours} reproduces OpenCV's border following (Suzuki–Abe, `icvFetchContour` and the
 * `cvFindNextContour` raster scan with `RETR_EXTERNAL`): the image gets a 1-pixel zero border; the scan
 * finds each outer border at its first pixel in raster order; it is followed counter-clockwise on screen
 * (first step chosen by a clockwise search from the up-left neighbour, then each next pixel by a
 * counter-clockwise search from the one after the previous pixel); `CHAIN_APPROX_SIMPLE` keeps a pixel
 * when the direction of the step leaving it differs from the step entering it. OpenCV returns the
 * contours in reverse order of discovery (each new one is prepended to the list), and so does this.
 * Points are pixel centres (integers); after `scale_coords` (pad `(h1 - h0 * gain) / 2`, not rounded) they
 * may be half-integers, like `[149, 261.5]` for a 425-row image in a 448-row letterbox.
 * @module
 */
import { scaleCoords, type Shape2 } from "./boxes.ts";
import type { MaskStack } from "./masks.ts";

/** How `masks2segments` turns several contours into one polygon. */
export type SegmentStrategy = "all" | "largest";

// Chain codes: 0 right, 1 up-right, 2 up, 3 up-left, 4 left, 5 down-left, 6 down, 7 down-right.
const DX = [1, 1, 0, -1, -1, -1, 0, 1];
const DY = [0, -1, -1, -1, 0, 1, 1, 1];

/**
 * `cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]`: the outer borders of the
 * 8-connected foreground regions that are not inside a hole of another region.
 *
 * @param mask `height * width` values, non-zero = foreground, row-major.
 * @param shape `[height, width]`.
 * @returns The contours in OpenCV's order, each `[n, 2]` integer points `x, y` (flat).
 * @throws {RangeError} When `mask` does not hold `height * width` values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findContours } from "./polygons.ts";
 * const mask = new Uint8Array([
 *   0, 0, 0, 0,
 *   0, 1, 1, 1,
 *   0, 1, 1, 1,
 * ]);
 * assert.deepEqual(findContours(mask, [3, 4]), [new Int32Array([1, 1, 1, 2, 3, 2, 3, 1])]);
 * ```
 */
export function findContours(mask: ArrayLike<number>, shape: Shape2): Int32Array[] {
  const [h, w] = shape;
  if (mask.length !== h * w) {
    throw new RangeError(`Give a mask of ${h * w} values for shape [${h}, ${w}]: got ${mask.length}`);
  }
  // Work on the foreground's bounding box only: outside it everything is 0, so the scan order and the
  // borders found are the same; points are shifted back at the end.
  const [bx0, bx1, by0, by1] = foregroundBounds(mask, h, w);
  if (bx1 < 0) return [];
  const bw = bx1 - bx0 + 1, bh = by1 - by0 + 1;
  const W = bw + 2, H = bh + 2;
  // Bordered image as OpenCV's signed 8-bit scan image: 0/1, then border pixels marked 2 or -126.
  const img = new Int8Array(W * H);
  for (let y = 0; y < bh; y++) {
    const src = (y + by0) * w + bx0, dst = (y + 1) * W + 1;
    for (let x = 0; x < bw; x++) if (mask[src + x] !== 0) img[dst + x] = 1;
  }
  const deltas = new Int32Array(16);
  for (let s = 0; s < 8; s++) deltas[s] = deltas[s + 8] = DY[s] * W + DX[s];

  const found: Int32Array[] = [];
  for (let y = 1; y < H - 1; y++) {
    const row = y * W;
    let prev = 0;
    let lnbd = row; // last marked border pixel (value other than 0 and 1) met in this row
    for (let x = 1; x < W - 1; x++) {
      const p = img[row + x];
      if (p === prev) continue;
      if (prev === 0 && p === 1) {
        // Outer border start; RETR_EXTERNAL skips it when the last marked pixel is a left border (> 0),
        // i.e. the region lies inside another region's hole.
        if (!(img[lnbd] > 0)) {
          found.push(fetchContour(img, row + x, deltas, x - 1 + bx0, y - 1 + by0));
          // OpenCV resumes after the start pixel with `prev` = its new mark and `lnbd` unchanged.
          prev = img[row + x];
          continue;
        }
      } else if (p === 0 && prev >= 1 && (prev & -2) !== 0) {
        // Hole border start (not followed in RETR_EXTERNAL): OpenCV moves lnbd to the pixel before it.
        lnbd = row + x - 1;
      }
      prev = p;
      if ((prev & -2) !== 0) lnbd = row + x;
    }
  }
  return found.reverse();
}

/**
 * `[x0, x1, y0, y1]` (inclusive) of a mask's non-zero pixels, `x1 = -1` when there are none. A Uint8Array
 * whose rows start on 4-byte boundaries is read a 32-bit word at a time (masks are mostly zero).
 */
function foregroundBounds(mask: ArrayLike<number>, h: number, w: number): [number, number, number, number] {
  let bx0 = w, bx1 = -1, by0 = h, by1 = -1;
  if (mask instanceof Uint8Array && w % 4 === 0 && mask.byteOffset % 4 === 0) {
    const words = new Uint32Array(mask.buffer, mask.byteOffset, (h * w) / 4);
    const rowWords = w / 4;
    for (let y = 0; y < h; y++) {
      const row = y * rowWords;
      let first = -1, last = -1;
      for (let i = 0; i < rowWords; i++) {
        if (words[row + i] !== 0) {
          if (first < 0) first = i;
          last = i;
        }
      }
      if (first < 0) continue;
      if (y < by0) by0 = y;
      by1 = y;
      const src = y * w;
      for (let x = 4 * first; x < 4 * first + 4; x++) {
        if (mask[src + x] !== 0) {
          if (x < bx0) bx0 = x;
          break;
        }
      }
      for (let x = 4 * last + 3; x >= 4 * last; x--) {
        if (mask[src + x] !== 0) {
          if (x > bx1) bx1 = x;
          break;
        }
      }
    }
    return [bx0, bx1, by0, by1];
  }
  for (let y = 0; y < h; y++) {
    const src = y * w;
    for (let x = 0; x < w; x++) {
      if (mask[src + x] !== 0) {
        if (x < bx0) bx0 = x;
        if (x > bx1) bx1 = x;
        if (y < by0) by0 = y;
        by1 = y;
      }
    }
  }
  return [bx0, bx1, by0, by1];
}

/** OpenCV's `icvFetchContour` (outer border, `CHAIN_APPROX_SIMPLE`): follows and marks one border. */
function fetchContour(img: Int8Array, i0: number, deltas: Int32Array, x: number, y: number): Int32Array {
  const pts: number[] = [];
  let s = 4;
  let sEnd = 4;
  let i1 = i0;
  // Clockwise search from the up-left neighbour for the first foreground neighbour.
  do {
    s = (s - 1) & 7;
    i1 = i0 + deltas[s];
  } while (img[i1] === 0 && s !== sEnd);
  if (s === sEnd) {
    img[i0] = -126; // single-pixel region
    return new Int32Array([x, y]);
  }
  let i3 = i0, i4 = i0;
  let prevS = s ^ 4;
  for (;;) {
    sEnd = s;
    // Counter-clockwise search from the direction after the previous pixel.
    while (s < 15) {
      i4 = i3 + deltas[++s];
      if (img[i4] !== 0) break;
    }
    s &= 7;
    // Mark: -126 when the search passed the (empty) right neighbour, else 2 if still unmarked.
    if ((s - 1) >>> 0 < sEnd >>> 0) img[i3] = -126;
    else if (img[i3] === 1) img[i3] = 2;
    if (s !== prevS) {
      pts.push(x, y);
      prevS = s;
    }
    x += DX[s];
    y += DY[s];
    if (i4 === i0 && i3 === i1) break;
    i3 = i4;
    s = (s + 4) & 7;
  }
  return new Int32Array(pts);
}

/**
 * `merge_multi_segment` (Ultralytics `data/converter.py`): joins segments into one polygon through the
 * closest pair of points of each consecutive pair of segments (`min_index`: first minimum of the squared
 * distances in row-major order), walking forward through every segment and back. Reproduces Ultralytics
 * exactly, including its handling of a reversed middle segment (the reversed array is rolled and cut with
 * the indices of the unreversed one).
 *
 * @param segments Polygons, each `[n, 2]` points flat.
 * @returns The pieces to concatenate, in order (each `[m, 2]` flat).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeMultiSegment } from "./polygons.ts";
 * const parts = mergeMultiSegment([new Int32Array([0, 0, 1, 0]), new Int32Array([5, 0, 6, 0])]);
 * assert.deepEqual(parts.map((p) => [...p]), [[1, 0, 0, 0, 1, 0], [5, 0, 6, 0, 5, 0]]);
 * ```
 */
export function mergeMultiSegment(segments: readonly ArrayLike<number>[]): Float64Array[] {
  const n = segments.length;
  let segs: Float64Array[] = segments.map((s) => Float64Array.from(s));
  const idxList: number[][] = segs.map(() => []);
  for (let i = 1; i < n; i++) {
    const [a, b] = minIndex(segs[i - 1], segs[i]);
    idxList[i - 1].push(a);
    idxList[i].push(b);
  }
  const out: Float64Array[] = [];
  segs = segs.slice();
  // Forward pass.
  for (let i = 0; i < n; i++) {
    let idx = idxList[i];
    if (idx.length === 2 && idx[0] > idx[1]) {
      idx = [idx[1], idx[0]];
      segs[i] = reversePoints(segs[i]);
    }
    segs[i] = closePoints(rollPoints(segs[i], -idx[0]));
    if (i === 0 || i === n - 1) out.push(segs[i]);
    else out.push(segs[i].subarray(0, 2 * (idx[1] - idx[0] + 1)));
  }
  // Backward pass through the middle segments.
  for (let i = n - 1; i >= 0; i--) {
    if (i === 0 || i === n - 1) continue;
    const idx = idxList[i];
    const nidx = Math.abs(idx[1] - idx[0]);
    out.push(segs[i].subarray(2 * nidx));
  }
  return out;
}

/**
 * `masks2segments` for one mask: its contours, merged (`"all"`) or the one with the most points
 * (`"largest"`, first on ties); an empty mask gives no points.
 *
 * @param mask `height * width` values, non-zero = foreground.
 * @param shape `[height, width]`.
 * @param strategy `"all"` (Ultralytics' default) or `"largest"`.
 * @returns `[n, 2]` points in mask pixels, float32, flat.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskToSegment } from "./polygons.ts";
 * assert.deepEqual(maskToSegment(new Uint8Array([0, 1, 1, 1]), [2, 2]), new Float32Array([1, 0, 0, 1, 1, 1]));
 * ```
 */
export function maskToSegment(
  mask: ArrayLike<number>,
  shape: Shape2,
  strategy: SegmentStrategy = "all",
): Float32Array {
  const contours = findContours(mask, shape);
  if (contours.length === 0) return new Float32Array(0);
  if (contours.length === 1) return Float32Array.from(contours[0]);
  if (strategy === "largest") {
    let best = 0;
    for (let i = 1; i < contours.length; i++) if (contours[i].length > contours[best].length) best = i;
    return Float32Array.from(contours[best]);
  }
  const parts = mergeMultiSegment(contours);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * `Results.masks.xy`: each mask's segment (`masks2segments`) scaled from the mask's shape to the original
 * image with `scale_coords` (identity plus clipping when the masks are already at the original size, as
 * with `retina_masks=True`).
 *
 * @param masks `[k, h, w]` binary masks (letterbox or original resolution).
 * @param origShape `[height, width]` of the original image.
 * @param strategy `"all"` (Ultralytics' default) or `"largest"`.
 * @returns `k` polygons, each `[n, 2]` float32 points `x, y` in original pixels, flat.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { masksXy } from "./polygons.ts";
 * const masks = { data: new Uint8Array([0, 0, 0, 0, 1, 1, 0, 0]), shape: [1, 4, 2] as [number, number, number] };
 * // a 2x2 image letterboxed into 4x2 (1 row of padding above and below)
 * assert.deepEqual(masksXy(masks, [2, 2]), [new Float32Array([0, 1, 1, 1])]);
 * ```
 */
export function masksXy(
  masks: MaskStack,
  origShape: Shape2,
  strategy: SegmentStrategy = "all",
): Float32Array[] {
  const [k, h, w] = masks.shape;
  const out: Float32Array[] = [];
  for (let d = 0; d < k; d++) {
    const seg = maskToSegment(masks.data.subarray(d * h * w, (d + 1) * h * w), [h, w], strategy);
    out.push(scaleCoords(seg, [h, w], origShape));
  }
  return out;
}

/** `min_index`: the first (row-major) pair `(i, j)` minimising the squared distance of `a[i]` and `b[j]`. */
function minIndex(a: Float64Array, b: Float64Array): [number, number] {
  let best = Infinity, bi = 0, bj = 0;
  for (let i = 0; i < a.length; i += 2) {
    const ax = a[i], ay = a[i + 1];
    for (let j = 0; j < b.length; j += 2) {
      const dx = ax - b[j], dy = ay - b[j + 1];
      const d = dx * dx + dy * dy;
      if (d < best) {
        best = d;
        bi = i >> 1;
        bj = j >> 1;
      }
    }
  }
  return [bi, bj];
}

/** `a[::-1]` on points. */
function reversePoints(a: Float64Array): Float64Array {
  const n = a.length >> 1;
  const out = new Float64Array(a.length);
  for (let i = 0; i < n; i++) {
    out[2 * i] = a[2 * (n - 1 - i)];
    out[2 * i + 1] = a[2 * (n - 1 - i) + 1];
  }
  return out;
}

/** `np.roll(a, shift, axis=0)` on points: `out[j] = a[(j - shift) mod n]`. */
function rollPoints(a: Float64Array, shift: number): Float64Array {
  const n = a.length >> 1;
  const out = new Float64Array(a.length);
  for (let j = 0; j < n; j++) {
    const s = (((j - shift) % n) + n) % n;
    out[2 * j] = a[2 * s];
    out[2 * j + 1] = a[2 * s + 1];
  }
  return out;
}

/** `np.concatenate([a, a[:1]])` on points. */
function closePoints(a: Float64Array): Float64Array {
  const out = new Float64Array(a.length + 2);
  out.set(a);
  out[a.length] = a[0];
  out[a.length + 1] = a[1];
  return out;
}
