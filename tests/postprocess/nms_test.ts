import assert from "node:assert/strict";
import { nonMaxSuppression } from "../../src/postprocess/nms.ts";

interface Anchor {
  xywh: [number, number, number, number];
  scores: number[];
  coeffs?: number[];
}

/** `output0` of one image, `[4 + nc + nm, anchors]`, from a list of anchors. */
function head(anchors: Anchor[], nc: number, nm = 0): { pred: Float32Array; shape: [number, number] } {
  const a = anchors.length, c = 4 + nc + nm;
  const pred = new Float32Array(c * a);
  anchors.forEach((an, i) => {
    an.xywh.forEach((v, r) => pred[r * a + i] = v);
    an.scores.forEach((v, k) => pred[(4 + k) * a + i] = v);
    (an.coeffs ?? []).forEach((v, m) => pred[(4 + nc + m) * a + i] = v);
  });
  return { pred, shape: [c, a] };
}

Deno.test("nms: xywh to xyxy, best class, coefficients and anchor indices", () => {
  const { pred, shape } = head(
    [
      { xywh: [50, 60, 20, 10], scores: [0.1, 0.8], coeffs: [1, 2, 3] },
      { xywh: [5, 5, 2, 2], scores: [0.2, 0.1], coeffs: [4, 5, 6] }, // below conf
      { xywh: [200, 100, 40, 30], scores: [0.6, 0.3], coeffs: [7, 8, 9] },
    ],
    2,
    3,
  );
  const d = nonMaxSuppression(pred, shape, { nc: 2 });
  assert.equal(d.count, 2);
  assert.equal(d.nm, 3);
  assert.deepEqual([...d.boxes], [40, 55, 60, 65, 180, 85, 220, 115]);
  assert.deepEqual([...d.conf], [Math.fround(0.8), Math.fround(0.6)]);
  assert.deepEqual([...d.cls], [1, 0]);
  assert.deepEqual([...d.coeffs], [1, 2, 3, 7, 8, 9]);
  assert.deepEqual([...d.indices], [0, 2]);
});

Deno.test("nms: default nc leaves 32 mask coefficients; a batch dimension of 1 is accepted", () => {
  const { pred } = head(
    [{ xywh: [10, 10, 4, 4], scores: [0.3, 0.9, 0.1], coeffs: Array(32).fill(0.5) }],
    3,
    32,
  );
  const d = nonMaxSuppression(pred, [1, 4 + 3 + 32, 1]);
  assert.equal(d.count, 1);
  assert.equal(d.nm, 32);
  assert.equal(d.cls[0], 1);
});

Deno.test("nms: confidence must be strictly above conf (compared in float32)", () => {
  const { pred, shape } = head([
    { xywh: [10, 10, 4, 4], scores: [0.25] },
    { xywh: [100, 10, 4, 4], scores: [0.2500001] },
    { xywh: [200, 10, 4, 4], scores: [0.5] },
  ], 1);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 1 }).indices], [2, 1]);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 1, conf: 0.5 }).indices], []);
  // A score equal to float32(0.3) is not above conf=0.3, although it is above the double 0.3.
  const t = head([{ xywh: [10, 10, 4, 4], scores: [0.3] }], 1);
  assert.equal(nonMaxSuppression(t.pred, t.shape, { nc: 1, conf: 0.3 }).count, 0);
});

Deno.test("nms: IoU above the threshold suppresses, equal to it does not", () => {
  // A = [0,0,10,10], B = [0,0,10,5]: IoU = 50 / 100 = 0.5 exactly.
  const { pred, shape } = head([
    { xywh: [5, 5, 10, 10], scores: [0.9] },
    { xywh: [5, 2.5, 10, 5], scores: [0.8] },
  ], 1);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 1, iou: 0.5 }).indices], [0, 1]);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 1, iou: 0.49 }).indices], [0]);
});

Deno.test("nms: greedy in score order — a suppressed box suppresses nothing", () => {
  // x-intervals [0,10], [4,14], [8,18] (IoU 6/14 between neighbours, 2/18 between the ends).
  // The middle box scores best and removes both neighbours.
  const { pred, shape } = head([
    { xywh: [9, 5, 10, 10], scores: [0.9] },
    { xywh: [5, 5, 10, 10], scores: [0.8] },
    { xywh: [13, 5, 10, 10], scores: [0.7] },
  ], 1);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 1, iou: 0.4 }).indices], [0]);
  // The left box scores best: the middle one goes, and then cannot remove the right one.
  const { pred: p2 } = head([
    { xywh: [5, 5, 10, 10], scores: [0.9] },
    { xywh: [9, 5, 10, 10], scores: [0.8] },
    { xywh: [13, 5, 10, 10], scores: [0.7] },
  ], 1);
  // [0,10] kept; [4,14] suppressed (IoU 0.43); [8,18] kept (IoU with [0,10] is 0.11).
  assert.deepEqual([...nonMaxSuppression(p2, shape, { nc: 1, iou: 0.4 }).indices], [0, 2]);
});

Deno.test("nms: class-wise by default, one box per overlap when agnostic", () => {
  const { pred, shape } = head([
    { xywh: [50, 50, 20, 20], scores: [0.9, 0.1] },
    { xywh: [51, 50, 20, 20], scores: [0.1, 0.8] },
    { xywh: [52, 50, 20, 20], scores: [0.7, 0.1] },
  ], 2);
  const classwise = nonMaxSuppression(pred, shape, { nc: 2 });
  assert.deepEqual([...classwise.indices], [0, 1]);
  assert.deepEqual([...classwise.cls], [0, 1]);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 2, agnostic: true }).indices], [0]);
  // The class offset is the maxWh trick: boxes of different classes overlap once the offset is 0.
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 2, maxWh: 0 }).indices], [0]);
});

Deno.test("nms: classes filter tests each anchor's best class only", () => {
  const { pred, shape } = head([
    { xywh: [10, 10, 4, 4], scores: [0.9, 0.6, 0.1] }, // best class 0; class 1 above conf but not best
    { xywh: [100, 10, 4, 4], scores: [0.1, 0.5, 0.1] },
    { xywh: [200, 10, 4, 4], scores: [0.1, 0.1, 0.7] },
  ], 3);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 3, classes: [1] }).indices], [1]);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 3, classes: [2, 0] }).indices], [0, 2]);
  assert.equal(nonMaxSuppression(pred, shape, { nc: 3, classes: [] }).count, 0);
});

Deno.test("nms: multiLabel gives one candidate per class above conf", () => {
  const { pred, shape } = head([
    { xywh: [10, 10, 4, 4], scores: [0.9, 0.6, 0.1] },
    { xywh: [100, 10, 4, 4], scores: [0.1, 0.5, 0.3] },
  ], 3);
  const d = nonMaxSuppression(pred, shape, { nc: 3, multiLabel: true });
  assert.deepEqual([...d.indices], [0, 0, 1, 1]);
  assert.deepEqual([...d.cls], [0, 1, 1, 2]);
  const only = nonMaxSuppression(pred, shape, { nc: 3, multiLabel: true, classes: [1] });
  assert.deepEqual([...only.cls], [1, 1]);
});

Deno.test("nms: maxDet keeps the best scores, maxNms cuts candidates first", () => {
  const anchors: Anchor[] = [0.3, 0.9, 0.5, 0.8, 0.6].map((s, i) => ({
    xywh: [20 + 40 * i, 10, 10, 10],
    scores: [s],
  }));
  const { pred, shape } = head(anchors, 1);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 1 }).indices], [1, 3, 4, 2, 0]);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 1, maxDet: 3 }).indices], [1, 3, 4]);
  // maxNms: only the 2 best candidates enter NMS, so the third is gone even though nothing overlaps it.
  const { pred: p2, shape: s2 } = head([
    { xywh: [150, 10, 10, 10], scores: [0.5] },
    { xywh: [11, 10, 10, 10], scores: [0.9] },
    { xywh: [300, 10, 10, 10], scores: [0.8] },
  ], 1);
  assert.deepEqual([...nonMaxSuppression(p2, s2, { nc: 1 }).indices], [1, 2, 0]);
  assert.deepEqual([...nonMaxSuppression(p2, s2, { nc: 1, maxNms: 2 }).indices], [1, 2]);
});

Deno.test("nms: equal scores keep anchor order (stable sort), so the earlier anchor wins", () => {
  const { pred, shape } = head([
    { xywh: [300, 10, 10, 10], scores: [0.6] },
    { xywh: [11, 10, 10, 10], scores: [0.7] },
    { xywh: [10, 10, 10, 10], scores: [0.7] },
    { xywh: [500, 10, 10, 10], scores: [0.6] },
  ], 1);
  assert.deepEqual([...nonMaxSuppression(pred, shape, { nc: 1 }).indices], [1, 0, 3]);
});

Deno.test("nms: bad thresholds and shapes throw RangeError", () => {
  const { pred, shape } = head([{ xywh: [10, 10, 4, 4], scores: [0.9] }], 1);
  assert.throws(() => nonMaxSuppression(pred, shape, { nc: 1, conf: 1.5 }), RangeError);
  assert.throws(() => nonMaxSuppression(pred, shape, { nc: 1, iou: -0.1 }), RangeError);
  assert.throws(() => nonMaxSuppression(pred, [6, 1], { nc: 1 }), RangeError);
  assert.throws(() => nonMaxSuppression(pred, shape, { nc: 9 }), RangeError);
});
