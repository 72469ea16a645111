/**
 * `cv2.fillPoly(mask, polygons, color)` on a one-channel 8-bit image, pixel for pixel as OpenCV 4.x
 * draws it with the default `lineType=LINE_8`, `shift=0` (`modules/imgproc/src/drawing.cpp`):
 *
 * - every polygon edge is first drawn as an 8-connected line between its integer end points
 *   (`Line` → `LineIterator`, left to right, endpoints clipped by `clipLine` when outside the image);
 * - then the interior is scan-converted (`CollectPolyEdges` + `FillEdgeCollection`): edges in 16.16 fixed
 *   point from their unclipped end points, slope `dx = ((x1 - x0) << 16) / (y1 - y0)` truncated, rows
 *   `y0` (inclusive) to `y1` (exclusive) of each edge, spans between pairs of active edges from
 *   `ceil(xl)` to `floor(xr)` inclusive (clipped to the image), the active list re-sorted by x after
 *   each row.
 *
 * Checked pixel for pixel against opencv-python 4.6 (Debian's python3-opencv) on 400 random polygons —
 * self-intersecting, partly outside the image, vertices on the border — and on their 4x INTER_LINEAR
 * downsampling.
 *
 * Ultralytics fills its ground-truth polygons with it (`polygon2mask`), so the masks it validates against
 * follow from this arithmetic.
 * @module
 */

const XY_SHIFT = 16;
const XY_ONE = 1 << XY_SHIFT;

/** An 8-bit single-channel image. */
export interface MaskU8 {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** `width * height` bytes, row-major. */
  data: Uint8Array;
}

interface PolyEdge {
  y0: number;
  y1: number;
  x: number;
  dx: number;
  next: PolyEdge | null;
}

const shr = (v: number) => Math.floor(v / XY_ONE); // int64 >> XY_SHIFT

/** `clipLine`: clips the segment to the image in place; false when it lies wholly outside. */
function clipLine(w: number, h: number, p: number[]): boolean {
  const right = w - 1, bottom = h - 1;
  let [x1, y1, x2, y2] = p;
  const code = (x: number, y: number) =>
    (x < 0 ? 1 : 0) + (x > right ? 2 : 0) + (y < 0 ? 4 : 0) + (y > bottom ? 8 : 0);
  let c1 = code(x1, y1), c2 = code(x2, y2);
  if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
    if (c1 & 12) {
      const a = c1 < 8 ? 0 : bottom;
      x1 += Math.trunc((a - y1) * (x2 - x1) / (y2 - y1));
      y1 = a;
      c1 = (x1 < 0 ? 1 : 0) + (x1 > right ? 2 : 0);
    }
    if (c2 & 12) {
      const a = c2 < 8 ? 0 : bottom;
      x2 += Math.trunc((a - y2) * (x2 - x1) / (y2 - y1));
      y2 = a;
      c2 = (x2 < 0 ? 1 : 0) + (x2 > right ? 2 : 0);
    }
    if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
      if (c1) {
        const a = c1 === 1 ? 0 : right;
        y1 += Math.trunc((a - x1) * (y2 - y1) / (x2 - x1));
        x1 = a;
        c1 = 0;
      }
      if (c2) {
        const a = c2 === 1 ? 0 : right;
        y2 += Math.trunc((a - x2) * (y2 - y1) / (x2 - x1));
        x2 = a;
        c2 = 0;
      }
    }
  }
  p[0] = x1, p[1] = y1, p[2] = x2, p[3] = y2;
  return (c1 | c2) === 0;
}

/** `Line(img, pt1, pt2, color, 8)`: an 8-connected line through `LineIterator(..., leftToRight=true)`. */
function drawLine(img: MaskU8, x1: number, y1: number, x2: number, y2: number, color: number): void {
  const { width: w, height: h, data } = img;
  const p = [x1, y1, x2, y2];
  if (x1 < 0 || x1 >= w || x2 < 0 || x2 >= w || y1 < 0 || y1 >= h || y2 < 0 || y2 >= h) {
    if (!clipLine(w, h, p)) return;
  }
  [x1, y1, x2, y2] = p;
  let dx = x2 - x1, dy = y2 - y1;
  if (dx < 0) { // left to right
    dx = -dx, dy = -dy;
    [x1, y1, x2, y2] = [x2, y2, x1, y1];
  }
  let sy = 1;
  if (dy < 0) dy = -dy, sy = -1;
  const vert = dy > dx;
  // major axis step (always taken) and minor axis step (taken when err < 0)
  let majX = 1, majY = 0, minX = 0, minY = sy;
  if (vert) {
    [dx, dy] = [dy, dx];
    majX = 0, majY = sy, minX = 1, minY = 0;
  }
  let err = dx - 2 * dy;
  const plusDelta = 2 * dx, minusDelta = -2 * dy;
  let x = x1, y = y1;
  for (let i = 0; i <= dx; i++) {
    data[y * w + x] = color;
    const neg = err < 0;
    err += minusDelta + (neg ? plusDelta : 0);
    x += majX + (neg ? minX : 0);
    y += majY + (neg ? minY : 0);
  }
}

/** `CollectPolyEdges` for one closed polygon of integer vertices (`shift = 0`, no offset). */
function collectEdges(img: MaskU8, pts: ArrayLike<number>, color: number, edges: PolyEdge[]): void {
  const n = pts.length >> 1;
  if (n === 0) return;
  let x0 = pts[2 * n - 2], y0 = pts[2 * n - 1];
  for (let i = 0; i < n; i++) {
    const x1 = pts[2 * i], y1 = pts[2 * i + 1];
    drawLine(img, x0, y0, x1, y1, color);
    if (y0 !== y1) {
      const dx = Math.trunc((x1 - x0) * XY_ONE / (y1 - y0));
      edges.push(
        y0 < y1
          ? { y0, y1, x: x0 * XY_ONE, dx, next: null }
          : { y0: y1, y1: y0, x: x1 * XY_ONE, dx, next: null },
      );
    }
    x0 = x1, y0 = y1;
  }
}

/** `FillEdgeCollection` for `LINE_8`: spans from `ceil(x_left)` to `floor(x_right)`. */
function fillEdges(img: MaskU8, edges: PolyEdge[], color: number): void {
  const total = edges.length;
  if (total < 2) return;
  const { width: w, height: h, data } = img;
  let yMax = -Infinity, yMin = Infinity, xMax = -1, xMin = Infinity;
  for (const e of edges) {
    const xEnd = e.x + (e.y1 - e.y0) * e.dx;
    yMin = Math.min(yMin, e.y0), yMax = Math.max(yMax, e.y1);
    xMin = Math.min(xMin, e.x, xEnd), xMax = Math.max(xMax, e.x, xEnd);
  }
  if (yMax < 0 || yMin >= h || xMax < 0 || xMin >= w * XY_ONE) return;
  edges.sort((a, b) => a.y0 - b.y0 || a.x - b.x || a.dx - b.dx);
  const sentinel: PolyEdge = { y0: Number.MAX_SAFE_INTEGER, y1: 0, x: 0, dx: 0, next: null };
  edges.push(sentinel);
  const head: PolyEdge = { y0: 0, y1: 0, x: 0, dx: 0, next: null };
  let i = 0;
  let e = edges[0];
  yMax = Math.min(yMax, h);
  for (let y = e.y0; y < yMax; y++) {
    let draw = false;
    const clip = y < 0;
    let prelast = head;
    let last = head.next;
    while (last || e.y0 === y) {
      if (last && last.y1 === y) { // the edge ends on this row: drop it
        prelast.next = last.next;
        last = last.next;
        continue;
      }
      const keep = prelast;
      if (last && (e.y0 > y || last.x < e.x)) {
        prelast = last;
        last = last.next;
      } else if (i < total) { // an edge starts on this row: insert it
        prelast.next = e;
        e.next = last;
        prelast = e;
        e = edges[++i];
      } else break;
      if (draw) {
        if (!clip) {
          let x1: number, x2: number;
          if (keep.x > prelast.x) x1 = shr(prelast.x + XY_ONE - 1), x2 = shr(keep.x);
          else x1 = shr(keep.x + XY_ONE - 1), x2 = shr(prelast.x);
          if (x1 < w && x2 >= 0) {
            data.fill(color, y * w + Math.max(x1, 0), y * w + Math.min(x2, w - 1) + 1);
          }
        }
        keep.x += keep.dx;
        prelast.x += prelast.dx;
      }
      draw = !draw;
    }
    // bubble-sort the active list by x
    let stop: PolyEdge | null = null;
    for (;;) {
      prelast = head;
      last = head.next;
      let exchanged: PolyEdge | null = null;
      while (last !== stop && last!.next !== null) {
        const te: PolyEdge = last!.next;
        if (last!.x > te.x) {
          prelast.next = te;
          last!.next = te.next;
          te.next = last;
          prelast = te;
          exchanged = prelast;
        } else {
          prelast = last!;
          last = te;
        }
      }
      if (exchanged === null) break;
      stop = exchanged;
      if (stop === head.next || stop === head) break;
    }
  }
}

/**
 * Fills polygons into a one-channel 8-bit image in place, exactly as `cv2.fillPoly(img, polygons, color)`.
 *
 * @param img The image to draw into.
 * @param polygons Each a flat list of integer vertices `x0, y0, x1, y1, ...` (already truncated, as
 *   `np.asarray(polygons, dtype=np.int32)` does).
 * @param color The value written, 0..255.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillPoly } from "./fill_poly.ts";
 * const img = { width: 5, height: 4, data: new Uint8Array(20) };
 * fillPoly(img, [[1, 0, 3, 0, 3, 2, 1, 2]], 1); // a 3x3 square, outline included
 * assert.deepEqual([...img.data], [0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
 * ```
 */
export function fillPoly(img: MaskU8, polygons: readonly ArrayLike<number>[], color: number): void {
  const edges: PolyEdge[] = [];
  for (const p of polygons) collectEdges(img, p, color, edges);
  fillEdges(img, edges, color);
}
