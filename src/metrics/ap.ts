/**
 * Average precision per class as Ultralytics 8.3.159 computes it (`utils/metrics.py`: `compute_ap`,
 * `ap_per_class`, `smooth`): predictions sorted by confidence, cumulative TP/FP per class, AP per IoU
 * threshold from the precision envelope with end points `[0, r, 1]` / `[1, p, 0]` and 101-point
 * interpolation (trapezoid rule), and P/R/F1 curves on 1000 confidences with P and R read at the
 * maximum of the smoothed mean F1.
 * @module
 */

/** `np.linspace(0, 1, n)`. */
function unitLinspace(n: number): Float64Array {
  const out = new Float64Array(n);
  const step = 1 / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step;
  out[n - 1] = 1;
  return out;
}

const X101 = unitLinspace(101);
const X1000 = unitLinspace(1000);

/**
 * `np.interp(x, xp, fp, left, right)` for non-decreasing `xp` (repeats allowed, as numpy: the last of
 * equal `xp` values is the interval start, and an exact hit returns its `fp`).
 */
export function interp(
  x: number,
  xp: ArrayLike<number>,
  fp: ArrayLike<number>,
  left = fp[0],
  right = fp[fp.length - 1],
): number {
  const n = xp.length;
  if (x > xp[n - 1]) return right;
  if (x < xp[0]) return left;
  // j = last index with xp[j] <= x
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x >= xp[mid]) lo = mid + 1;
    else hi = mid;
  }
  const j = lo - 1;
  if (j === n - 1 || xp[j] === x) return fp[j];
  const slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
  let v = slope * (x - xp[j]) + fp[j];
  if (Number.isNaN(v)) {
    v = slope * (x - xp[j + 1]) + fp[j + 1];
    if (Number.isNaN(v) && fp[j] === fp[j + 1]) v = fp[j];
  }
  return v;
}

/**
 * `compute_ap(recall, precision)`: the area under the interpolated precision envelope.
 *
 * @param recall Recall after each prediction (non-decreasing).
 * @param precision Precision after each prediction.
 * @returns The AP.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeAp } from "./ap.ts";
 * // one correct prediction: 0.995, not 1 — the envelope drops to 0 at recall 1 ([1, p, 0] end points)
 * assert.ok(Math.abs(computeAp([1], [1]) - 0.995) < 1e-12);
 * // half the ground truth found, then the envelope falls linearly to 0 at recall 1
 * assert.ok(Math.abs(computeAp([0.5], [1]) - 0.75) < 1e-12);
 * ```
 */
export function computeAp(recall: ArrayLike<number>, precision: ArrayLike<number>): number {
  const n = recall.length;
  const mrec = new Float64Array(n + 2), mpre = new Float64Array(n + 2);
  mrec[0] = 0, mpre[0] = 1;
  for (let i = 0; i < n; i++) mrec[i + 1] = recall[i], mpre[i + 1] = precision[i];
  mrec[n + 1] = 1, mpre[n + 1] = 0;
  for (let i = n; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]); // envelope
  let ap = 0;
  let prev = interp(X101[0], mrec, mpre);
  for (let i = 1; i < X101.length; i++) {
    const y = interp(X101[i], mrec, mpre);
    ap += (X101[i] - X101[i - 1]) * (y + prev) / 2;
    prev = y;
  }
  return ap;
}

/** `smooth(y, f)`: a box filter of `round(len * f * 2) // 2 + 1` taps with edge padding. */
function smooth(y: Float64Array, f = 0.1): Float64Array {
  const nf = Math.floor(Math.round(y.length * f * 2) / 2) + 1;
  const half = nf >> 1;
  const padded = new Float64Array(y.length + 2 * half);
  padded.fill(y[0], 0, half);
  padded.set(y, half);
  padded.fill(y[y.length - 1], half + y.length);
  const out = new Float64Array(y.length);
  const w = 1 / nf;
  for (let i = 0; i < y.length; i++) {
    let s = 0;
    for (let k = 0; k < nf; k++) s += padded[i + k] * w;
    out[i] = s;
  }
  return out;
}

/** What {@linkcode apPerClass} returns: per class with ground truth, in class order. */
export interface ClassAp {
  /** Classes that have ground truth, ascending. */
  classes: number[];
  /** Ground-truth instances per class. */
  nt: number[];
  /** Precision at the best-F1 confidence, per class. */
  p: Float64Array;
  /** Recall at the best-F1 confidence, per class. */
  r: Float64Array;
  /** F1 there, per class. */
  f1: Float64Array;
  /** `[classes.length, thresholds]` AP, row-major. */
  ap: Float64Array;
  /** IoU thresholds (columns of `ap`). */
  thresholds: number;
}

/**
 * `ap_per_class(tp, conf, pred_cls, target_cls)`.
 *
 * @param tp `[n, t]` 0/1 true-positive flags per prediction and IoU threshold.
 * @param conf `[n]` confidences.
 * @param predCls `[n]` predicted classes.
 * @param targetCls Ground-truth classes, one per instance.
 * @param t IoU thresholds per prediction (columns of `tp`).
 * @returns AP and the P/R/F1 operating point per class with ground truth.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { apPerClass } from "./ap.ts";
 * // two ground truths of class 0, two predictions: the confident one right, the other wrong
 * const res = apPerClass(new Uint8Array([1, 0]), [0.9, 0.8], [0, 0], [0, 0], 1);
 * assert.deepEqual(res.classes, [0]);
 * assert.ok(Math.abs(res.ap[0] - 0.6225) < 1e-12);
 * ```
 */
export function apPerClass(
  tp: Uint8Array,
  conf: ArrayLike<number>,
  predCls: ArrayLike<number>,
  targetCls: ArrayLike<number>,
  t = 10,
): ClassAp {
  const n = conf.length;
  // np.argsort(-conf), ties in index order
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => conf[b] - conf[a] || a - b);
  const counts = new Map<number, number>();
  for (let i = 0; i < targetCls.length; i++) counts.set(targetCls[i], (counts.get(targetCls[i]) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => a - b);
  const nc = classes.length;
  const ap = new Float64Array(nc * t);
  const pCurve = classes.map(() => new Float64Array(X1000.length));
  const rCurve = classes.map(() => new Float64Array(X1000.length));
  const eps = 1e-16;
  classes.forEach((c, ci) => {
    const idx = order.filter((i) => predCls[i] === c);
    const nl = counts.get(c)!, np = idx.length;
    if (np === 0 || nl === 0) return;
    const negConf = Float64Array.from(idx, (i) => -conf[i]);
    const recall: Float64Array[] = [], precision: Float64Array[] = [];
    for (let j = 0; j < t; j++) {
      const rec = new Float64Array(np), pre = new Float64Array(np);
      let tpc = 0, fpc = 0;
      idx.forEach((i, k) => {
        if (tp[i * t + j]) tpc++;
        else fpc++;
        rec[k] = tpc / (nl + eps);
        pre[k] = tpc / (tpc + fpc);
      });
      recall.push(rec), precision.push(pre);
      ap[ci * t + j] = computeAp(rec, pre);
    }
    for (let q = 0; q < X1000.length; q++) {
      rCurve[ci][q] = interp(-X1000[q], negConf, recall[0], 0);
      pCurve[ci][q] = interp(-X1000[q], negConf, precision[0], 1);
    }
  });
  const f1Curve = classes.map((_, ci) =>
    pCurve[ci].map((p, q) => 2 * p * rCurve[ci][q] / (p + rCurve[ci][q] + eps))
  );
  const mean = new Float64Array(X1000.length);
  for (let q = 0; q < X1000.length; q++) {
    let s = 0;
    for (let ci = 0; ci < nc; ci++) s += f1Curve[ci][q];
    mean[q] = nc ? s / nc : 0;
  }
  const sm = smooth(mean);
  let best = 0;
  for (let q = 1; q < sm.length; q++) if (sm[q] > sm[best]) best = q;
  return {
    classes,
    nt: classes.map((c) => counts.get(c)!),
    p: Float64Array.from(pCurve, (c) => c[best]),
    r: Float64Array.from(rCurve, (c) => c[best]),
    f1: Float64Array.from(f1Curve, (c) => c[best]),
    ap,
    thresholds: t,
  };
}
