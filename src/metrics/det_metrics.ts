/**
 * The summary numbers of Ultralytics' `Metric` for one kind of result (boxes or masks): mean precision
 * and recall at the best-F1 confidence, mAP50, mAP75, mAP50-95, and mAP50-95 per class.
 * @module
 */
import { apPerClass, type ClassAp } from "./ap.ts";

/** One kind of result's metrics (the `box` or `seg` part of `metrics.json`). */
export interface MetricSummary {
  /** mAP50-95 over the classes with ground truth. */
  map: number;
  /** mAP at IoU 0.5. */
  map50: number;
  /** mAP at IoU 0.75. */
  map75: number;
  /** Mean precision. */
  mp: number;
  /** Mean recall. */
  mr: number;
  /** mAP50-95 per class index, `map` for classes without ground truth (Ultralytics' `maps`). */
  maps: number[];
}

/** Per-class rows for the verbose table. */
export interface ClassRow {
  /** Class index. */
  cls: number;
  /** Precision. */
  p: number;
  /** Recall. */
  r: number;
  /** AP at IoU 0.5. */
  ap50: number;
  /** AP at IoU 0.5:0.95. */
  ap: number;
}

/** Metrics of one kind with its per-class rows. */
export interface Metric {
  /** The summary. */
  summary: MetricSummary;
  /** One row per class with ground truth, ascending. */
  classes: ClassRow[];
}

const mean = (v: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return v.length ? s / v.length : 0;
};

/**
 * Ultralytics' `Metric.update` + `mean_results` + `maps` from the matched statistics.
 *
 * @param tp `[n, 10]` true-positive flags per prediction and IoU threshold.
 * @param conf `[n]` confidences.
 * @param predCls `[n]` predicted classes.
 * @param targetCls Ground-truth class per instance.
 * @param nc Number of classes of the model.
 * @returns The summary and per-class rows (all zeros when no prediction is a true positive, as
 *   Ultralytics skips the computation then).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeMetric } from "./det_metrics.ts";
 * const m = computeMetric(new Uint8Array(10).fill(1), [0.9], [1], [1], 3);
 * // one class, one perfect prediction: AP 0.995 at every IoU (Ultralytics' ceiling)
 * assert.ok(Math.abs(m.summary.map50 - 0.995) < 1e-12);
 * assert.ok(m.summary.maps.every((v) => Math.abs(v - 0.995) < 1e-12)); // absent classes get the mean
 * ```
 */
export function computeMetric(
  tp: Uint8Array,
  conf: ArrayLike<number>,
  predCls: ArrayLike<number>,
  targetCls: ArrayLike<number>,
  nc: number,
): Metric {
  if (!tp.some((v) => v)) {
    return {
      summary: { map: 0, map50: 0, map75: 0, mp: 0, mr: 0, maps: new Array(nc).fill(0) },
      classes: [],
    };
  }
  const res: ClassAp = apPerClass(tp, conf, predCls, targetCls, 10);
  const t = res.thresholds;
  const apMean = res.classes.map((_, i) => mean(res.ap.subarray(i * t, (i + 1) * t)));
  const ap50 = res.classes.map((_, i) => res.ap[i * t]);
  const ap75 = res.classes.map((_, i) => res.ap[i * t + 5]);
  const map = mean(apMean);
  const maps = new Array(nc).fill(map);
  res.classes.forEach((c, i) => {
    if (c >= 0 && c < nc) maps[c] = apMean[i];
  });
  return {
    summary: { map, map50: mean(ap50), map75: mean(ap75), mp: mean(res.p), mr: mean(res.r), maps },
    classes: res.classes.map((cls, i) => ({ cls, p: res.p[i], r: res.r[i], ap50: ap50[i], ap: apMean[i] })),
  };
}
