import assert from "node:assert/strict";
import { boxIoU, maskIoU } from "../../src/metrics/iou.ts";
import { IOU_THRESHOLDS, matchPredictions } from "../../src/metrics/match.ts";

Deno.test("IOU_THRESHOLDS are 0.50:0.05:0.95 in float32", () => {
  assert.equal(IOU_THRESHOLDS.length, 10);
  assert.equal(IOU_THRESHOLDS[0], 0.5);
  assert.equal(IOU_THRESHOLDS[9], Math.fround(0.95));
});

Deno.test("boxIoU: disjoint, nested, identical and half-overlapping boxes", () => {
  const iou = boxIoU([0, 0, 10, 10], [20, 20, 30, 30, 2, 2, 7, 7, 0, 0, 10, 10, 5, 0, 15, 10]);
  assert.equal(iou[0], 0);
  assert.ok(Math.abs(iou[1] - 0.25) < 1e-6);
  assert.ok(Math.abs(iou[2] - 1) < 1e-6);
  assert.ok(Math.abs(iou[3] - 50 / 150) < 1e-6);
});

Deno.test("maskIoU counts pixels and skips unwanted pairs", () => {
  const a = new Uint8Array([1, 1, 1, 0, /**/ 0, 0, 0, 1]);
  const b = new Uint8Array([1, 1, 0, 0, /**/ 0, 0, 1, 1]);
  const iou = maskIoU(a, b, 4, (i, j) => !(i === 1 && j === 0));
  assert.ok(Math.abs(iou[0] - 2 / 3) < 1e-6); // a0 vs b0
  assert.ok(Math.abs(iou[1] - 1 / 4) < 1e-6); // a0 vs b1: pixel 2 shared, 4 in the union
  assert.equal(iou[2], 0); // skipped
  assert.ok(Math.abs(iou[3] - 1 / 2) < 1e-6);
});

Deno.test("matchPredictions: classes must agree; a ground truth is taken once", () => {
  // gt 0 (class 1), gt 1 (class 2); preds: p0 class 1 IoU 0.9 with gt0, p1 class 2 IoU 0.9 with gt0 only
  const iou = Float32Array.from([0.9, 0.9, /**/ 0, 0.3]);
  const c = matchPredictions([1, 2], [1, 2], iou, [0.5]);
  assert.deepEqual([...c], [1, 0]);
});

Deno.test("matchPredictions: each prediction keeps its best ground truth, then each ground truth its first prediction", () => {
  // gt0 and gt1 of class 0; p0 overlaps gt0 0.6 and gt1 0.8; p1 overlaps gt1 0.95
  // p0's best is gt1 (0.8); p1's best is gt1 (0.95); gt1 goes to p0 (first in confidence order) → p1 loses,
  // and gt0 is never used although p0 could have taken it
  const iou = Float32Array.from([0.6, 0, /**/ 0.8, 0.95]);
  const c = matchPredictions([0, 0], [0, 0], iou, [0.5, 0.9]);
  // threshold 0.5: [p0 ✓, p1 ✗]; threshold 0.9: only p1-gt1 qualifies → [p0 ✗, p1 ✓]
  assert.deepEqual([...c], [1, 0, 0, 1]);
});

Deno.test("matchPredictions: IoU exactly at a threshold counts (>=)", () => {
  const c = matchPredictions([0], [0], Float32Array.from([IOU_THRESHOLDS[3]]));
  assert.deepEqual([...c], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
});
