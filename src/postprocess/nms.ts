/**
 * Ultralytics 8.3.159 `ops.non_max_suppression` for one image of a YOLO head's raw `output0`
 * (`[4 + nc + nm, anchors]`: xywh boxes in letterbox pixels, class scores after sigmoid, mask coefficients).
 *
 * Steps, as Ultralytics: anchors whose best class score is `> conf` → xyxy → best class (or every class
 * `> conf` with `multiLabel`) → `classes` filter on that class → at most `maxNms` candidates by score →
 * boxes offset by `cls * maxWh` (unless `agnostic`) → torchvision `nms` (IoU `> iou` suppresses) → the
 * first `maxDet` kept, best score first.
 *
 * Order and ties: torchvision sorts scores with a stable descending sort, so equal scores keep their
 * candidate order (anchor index, then class index); the `maxNms` cut uses the same stable sort. The
 * offset boxes and IoUs are computed in float32 like torchvision's kernel; the IoU is compared with the
 * threshold as a double (its CPU kernel).
 * @module
 */
import { xywh2xyxy } from "./boxes.ts";

/** Options of {@linkcode nonMaxSuppression} (Ultralytics' argument names in camelCase). */
export interface NmsOptions {
  /** Confidence threshold: a candidate needs a class score `> conf`. @default 0.25 */
  conf?: number;
  /** IoU threshold: a box whose IoU with a kept box is `> iou` is suppressed. @default 0.7 */
  iou?: number;
  /** Keep only these class indices (tested on each candidate's class). @default null */
  classes?: readonly number[] | null;
  /** Class-agnostic NMS (no per-class offset). @default false */
  agnostic?: boolean;
  /** One candidate per class score `> conf` instead of the best class only (validation). @default false */
  multiLabel?: boolean;
  /** Most detections kept. @default 300 */
  maxDet?: number;
  /** Most candidates given to NMS (the best by score). @default 30000 */
  maxNms?: number;
  /** Class offset of the batched-NMS trick. @default 7680 */
  maxWh?: number;
  /** Number of classes; the rest after the 4 box rows are mask coefficients. @default channels - 36 */
  nc?: number;
}

/** Detections of one image, best score first. */
export interface Detections {
  /** Number of detections `k`. */
  count: number;
  /** `[k, 4]` xyxy boxes in letterbox pixels. */
  boxes: Float32Array;
  /** `[k]` confidences (the class score). */
  conf: Float32Array;
  /** `[k]` class indices. */
  cls: Int32Array;
  /** `[k, nm]` mask coefficients. */
  coeffs: Float32Array;
  /** Mask coefficients per detection `nm`. */
  nm: number;
  /** `[k]` anchor index (column of `output0`) of each detection. */
  indices: Int32Array;
}

const f32 = Math.fround;

/**
 * Ultralytics' `non_max_suppression` on one image's raw head output.
 *
 * @param pred `output0` of one image: `[channels, anchors]` row-major (`4 + nc + nm` rows).
 * @param shape `[channels, anchors]` (a leading batch dimension of 1 is accepted).
 * @param options Thresholds and limits.
 * @returns The kept detections, best score first.
 * @throws {RangeError} When a threshold is outside [0, 1], or `pred` and `shape` disagree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nonMaxSuppression } from "./nms.ts";
 * // 3 anchors, 1 class, no mask coefficients: rows cx, cy, w, h, score
 * const pred = new Float32Array([
 *   10, 11, 50, // cx
 *   10, 10, 50, // cy
 *   10, 10, 10, // w
 *   10, 10, 10, // h
 *   0.9, 0.8, 0.7, // score
 * ]);
 * const d = nonMaxSuppression(pred, [5, 3], { nc: 1 });
 * assert.deepEqual([...d.indices], [0, 2]);
 * ```
 */
export function nonMaxSuppression(
  pred: Float32Array,
  shape: readonly number[],
  options: NmsOptions = {},
): Detections {
  const dims = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
  const [channels, anchors] = dims;
  if (dims.length !== 2 || pred.length !== channels * anchors) {
    throw new RangeError(
      `Give one image's output0 as [channels, anchors]: got shape [${
        shape.join(", ")
      }] for ${pred.length} values`,
    );
  }
  const conf = options.conf ?? 0.25;
  const iou = options.iou ?? 0.7;
  if (!(conf >= 0 && conf <= 1)) throw new RangeError(`Give a conf in [0, 1]: got ${conf}`);
  if (!(iou >= 0 && iou <= 1)) throw new RangeError(`Give an iou in [0, 1]: got ${iou}`);
  const nc = options.nc ?? channels - 36;
  const nm = channels - 4 - nc;
  if (!(nc >= 1) || nm < 0) throw new RangeError(`Give nc in [1, ${channels - 4}]: got ${nc}`);
  const maxDet = options.maxDet ?? 300;
  const maxNms = options.maxNms ?? 30000;
  const maxWh = options.maxWh ?? 7680;
  const multiLabel = (options.multiLabel ?? false) && nc > 1;
  const thr = f32(conf); // torch compares a float32 tensor with the threshold cast to float32
  const classes = options.classes ? new Set(options.classes) : null;

  // Best class per anchor (first index on ties, as torch.max), candidates with max score > conf.
  const best = new Float32Array(anchors).fill(-Infinity);
  const arg = new Int32Array(anchors);
  for (let c = 0; c < nc; c++) {
    const row = pred.subarray((4 + c) * anchors, (5 + c) * anchors);
    for (let a = 0; a < anchors; a++) {
      if (row[a] > best[a]) {
        best[a] = row[a];
        arg[a] = c;
      }
    }
  }
  // Candidates: (anchor, class, score), in torch's order (anchor, then class).
  const candA: number[] = [];
  const candC: number[] = [];
  const candS: number[] = [];
  for (let a = 0; a < anchors; a++) {
    if (!(best[a] > thr)) continue;
    if (multiLabel) {
      for (let c = 0; c < nc; c++) {
        const s = pred[(4 + c) * anchors + a];
        if (s > thr && (!classes || classes.has(c))) {
          candA.push(a);
          candC.push(c);
          candS.push(s);
        }
      }
    } else if (!classes || classes.has(arg[a])) {
      candA.push(a);
      candC.push(arg[a]);
      candS.push(best[a]);
    }
  }
  let order = stableOrderByScore(candS);
  if (order.length > maxNms) order = order.slice(0, maxNms);

  // Offset xyxy boxes (float32) of the candidates, in score order.
  const n = order.length;
  const xywh = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const a = candA[order[i]];
    for (let r = 0; r < 4; r++) xywh[4 * i + r] = pred[r * anchors + a];
  }
  const xyxy = xywh2xyxy(xywh);
  const ob = new Float32Array(4 * n);
  const area = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const off = f32(candC[order[i]] * (options.agnostic ? 0 : maxWh));
    for (let r = 0; r < 4; r++) ob[4 * i + r] = xyxy[4 * i + r] + off;
    area[i] = f32(f32(ob[4 * i + 2] - ob[4 * i]) * f32(ob[4 * i + 3] - ob[4 * i + 1]));
  }

  // Greedy NMS over the score-sorted candidates; stops at maxDet (the first maxDet kept are the same).
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let i = 0; i < n && keep.length < maxDet; i++) {
    if (suppressed[i]) continue;
    keep.push(i);
    const x1 = ob[4 * i], y1 = ob[4 * i + 1], x2 = ob[4 * i + 2], y2 = ob[4 * i + 3], ai = area[i];
    for (let j = i + 1; j < n; j++) {
      if (suppressed[j]) continue;
      const w = Math.max(0, f32(Math.min(x2, ob[4 * j + 2]) - Math.max(x1, ob[4 * j])));
      const h = Math.max(0, f32(Math.min(y2, ob[4 * j + 3]) - Math.max(y1, ob[4 * j + 1])));
      const inter = f32(w * h);
      if (f32(inter / f32(f32(ai + area[j]) - inter)) > iou) suppressed[j] = 1;
    }
  }

  const k = keep.length;
  const out: Detections = {
    count: k,
    boxes: new Float32Array(4 * k),
    conf: new Float32Array(k),
    cls: new Int32Array(k),
    coeffs: new Float32Array(k * nm),
    nm,
    indices: new Int32Array(k),
  };
  for (let d = 0; d < k; d++) {
    const i = keep[d];
    const c = order[i];
    const a = candA[c];
    out.boxes.set(xyxy.subarray(4 * i, 4 * i + 4), 4 * d);
    out.conf[d] = candS[c];
    out.cls[d] = candC[c];
    out.indices[d] = a;
    for (let m = 0; m < nm; m++) out.coeffs[d * nm + m] = pred[(4 + nc + m) * anchors + a];
  }
  return out;
}

/** Indices sorting `scores` descending; equal scores keep their order (a stable sort). */
function stableOrderByScore(scores: readonly number[]): number[] {
  const idx = Array.from(scores, (_, i) => i);
  // Array.prototype.sort is stable.
  return idx.sort((a, b) => scores[b] - scores[a]);
}
