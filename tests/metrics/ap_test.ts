import assert from "node:assert/strict";
import { apPerClass, computeAp, interp } from "../../src/metrics/ap.ts";
import { computeMetric } from "../../src/metrics/det_metrics.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

Deno.test("interp follows np.interp: clamps, exact hits, repeated xp take the last of the run", () => {
  const xp = [0, 0.5, 0.5, 1], fp = [1, 0.8, 0.4, 0];
  close(interp(-1, xp, fp), 1);
  close(interp(2, xp, fp), 0);
  close(interp(0.25, xp, fp), 0.9);
  close(interp(0.5, xp, fp), 0.4); // the last of the repeated 0.5
  close(interp(0.75, xp, fp), 0.2);
  close(interp(-1, xp, fp, 7), 7); // left
});

Deno.test("computeAp: areas of envelopes with their kinks on the 101-point grid are exact", () => {
  // all correct: precision 1 up to recall 1, then the [.., 0] end point at recall 1
  close(computeAp([0.5, 1], [1, 1]), 0.995);
  // recall 0.5 at precision 1 and nothing more: 0.5 + the triangle to (1, 0)
  close(computeAp([0.5], [1]), 0.75);
  // a false positive first: envelope 2/3 up to recall 1 → 2/3 * 0.99 + 1/3 * 0.01 ... (trapezoid at 1)
  const ap = computeAp([0, 0.5, 1], [0, 0.5, 2 / 3]);
  close(ap, (2 / 3) * 0.99 + 0.01 * (2 / 3 + 0) / 2);
  assert.equal(computeAp([], []), 0.5 * 0.01 * 0 + computeAp([], [])); // defined for no predictions
});

Deno.test("apPerClass: classes from the ground truth, predictions of other classes ignored", () => {
  // 3 predictions (t = 2 thresholds): class 0 right at both, class 0 right at the first only, class 5 (no GT)
  const tp = new Uint8Array([1, 1, 1, 0, 1, 1]);
  const res = apPerClass(tp, [0.9, 0.8, 0.95], [0, 0, 5], [0, 0, 2], 2);
  assert.deepEqual(res.classes, [0, 2]);
  assert.deepEqual(res.nt, [2, 1]);
  // class 0: both found at threshold 0 → 0.995. At threshold 1: TP then FP → recall [0.5, 0.5],
  // precision [1, 0.5]; the repeated recall 0.5 reads the later precision 0.5 (np.interp), so the area is
  // 0.49 (at 1) + 0.01 * (1 + 0.5) / 2 + 0.5 * 0.5 / 2 (0.5 down to 0) = 0.6225
  close(res.ap[0], 0.995);
  close(res.ap[1], 0.6225);
  // class 2 has no predictions: AP 0
  close(res.ap[2], 0), close(res.ap[3], 0);
  assert.equal(res.p.length, 2);
});

Deno.test("apPerClass: P and R are read where the smoothed mean F1 peaks", () => {
  // one class, 4 GT; predictions by confidence: TP, TP, FP, TP
  const res = apPerClass(new Uint8Array([1, 1, 0, 1]), [0.9, 0.7, 0.5, 0.3], [1, 1, 1, 1], [1, 1, 1, 1], 1);
  // F1 is best between conf 0.5 and 0.7 (P 1, R 0.5 → F1 0.667) or below 0.3 (P 0.75, R 0.75 → F1 0.75)
  // and the curves step at the confidences, so the peak is in the flat 0 <= conf <= 0.3 stretch
  close(res.p[0], 0.75, 1e-9);
  close(res.r[0], 0.75, 1e-9);
  close(res.f1[0], 0.75, 1e-9);
});

Deno.test("computeMetric: no true positive at all gives zeros, as Ultralytics skips the computation", () => {
  const m = computeMetric(new Uint8Array(10), [0.9], [0], [0], 2);
  assert.deepEqual(m.summary, { map: 0, map50: 0, map75: 0, mp: 0, mr: 0, maps: [0, 0] });
});

Deno.test("computeMetric: maps holds each class's mAP50-95 and the mean for absent classes", () => {
  // class 0: correct at the first 5 thresholds only; class 1: correct at all 10
  const tp = new Uint8Array(20);
  tp.fill(1, 0, 5);
  tp.fill(1, 10, 20);
  const m = computeMetric(tp, [0.9, 0.8], [0, 1], [0, 1], 3);
  close(m.summary.maps[0], 0.995 / 2);
  close(m.summary.maps[1], 0.995);
  close(m.summary.maps[2], (0.995 / 2 + 0.995) / 2);
  close(m.summary.map50, 0.995);
  close(m.summary.map75, (0 + 0.995) / 2); // threshold index 5 is 0.75
  assert.deepEqual(m.classes.map((c) => c.cls), [0, 1]);
});
