/**
 * Ultralytics' `BaseValidator.match_predictions`: which predictions are true positives at each IoU
 * threshold.
 * @module
 */

/** `torch.linspace(0.5, 0.95, 10)` in float32: the COCO IoU thresholds. */
export const IOU_THRESHOLDS: Float32Array = Float32Array.from({ length: 10 }, (_, i) => 0.5 + 0.05 * i);

/**
 * Marks each prediction correct or not at each IoU threshold. Per threshold: the (ground truth,
 * prediction) pairs of the same class with IoU `>=` the threshold, sorted by IoU (highest first); each
 * prediction keeps its best pair; then, with the pairs in prediction order (best confidence first),
 * each ground truth keeps its first one.
 *
 * @param predCls `[n]` predicted classes.
 * @param gtCls `[m]` ground-truth classes.
 * @param iou `[m, n]` IoUs, row-major.
 * @param thresholds The IoU thresholds.
 * @returns `[n, thresholds.length]` 0/1 flags, row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchPredictions } from "./match.ts";
 * // one ground truth and two predictions of its class (best confidence first) with IoU 0.6 and 0.9:
 * // the first prediction takes it at 0.5; at 0.75 only the second qualifies
 * const correct = matchPredictions([0, 0], [0], Float32Array.from([0.6, 0.9]), [0.5, 0.75]);
 * assert.deepEqual([...correct], [1, 0, 0, 1]);
 * ```
 */
export function matchPredictions(
  predCls: ArrayLike<number>,
  gtCls: ArrayLike<number>,
  iou: Float32Array,
  thresholds: ArrayLike<number> = IOU_THRESHOLDS,
): Uint8Array {
  const n = predCls.length, m = gtCls.length, t = thresholds.length;
  const correct = new Uint8Array(n * t);
  for (let k = 0; k < t; k++) {
    const thr = thresholds[k];
    const pairs: number[] = []; // g * n + p, in np.nonzero (row-major) order
    for (let g = 0; g < m; g++) {
      for (let p = 0; p < n; p++) {
        if (gtCls[g] === predCls[p] && iou[g * n + p] >= thr) pairs.push(g * n + p);
      }
    }
    if (pairs.length === 0) continue;
    // argsort ascending (stable), then reversed: highest IoU first, ties in reverse order
    const sorted = pairs.map((q, i) => [iou[q], i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .reverse().map(([, i]) => pairs[i]);
    // np.unique by prediction: the first (best) pair of each, ordered by prediction index
    const bestOfPred = new Map<number, number>();
    for (const q of sorted) if (!bestOfPred.has(q % n)) bestOfPred.set(q % n, q);
    const byPred = [...bestOfPred.entries()].sort((a, b) => a[0] - b[0]).map(([, q]) => q);
    // np.unique by ground truth: the first of each in that order
    const seenGt = new Set<number>();
    for (const q of byPred) {
      const g = Math.floor(q / n);
      if (seenGt.has(g)) continue;
      seenGt.add(g);
      correct[(q % n) * t + k] = 1;
    }
  }
  return correct;
}
