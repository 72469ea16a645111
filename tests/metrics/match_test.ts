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

Deno.test("maskIoU equals a plain pixel count on random masks, aligned (four bytes at a time) or not", () => {
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const [m, n, pixels, offset] of [[3, 5, 64, 0], [4, 6, 36, 1], [2, 3, 30, 0]]) {
    const a = Uint8Array.from({ length: m * pixels }, () => (rnd() < 0.4 ? 1 : 0));
    // b at a byte offset of `offset` into its buffer (an unaligned view takes the byte-by-byte path)
    const b = new Uint8Array(n * pixels + offset).subarray(offset);
    for (let i = 0; i < b.length; i++) b[i] = rnd() < 0.5 ? 1 : 0;
    const want = (i: number, j: number) => (i + j) % 3 !== 0;
    const got = maskIoU(a, b, pixels, want);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let inter = 0, union = 0;
        for (let p = 0; p < pixels; p++) {
          inter += a[i * pixels + p] & b[j * pixels + p];
          union += a[i * pixels + p] | b[j * pixels + p];
        }
        const expect = want(i, j) ? Math.fround(inter / Math.fround(union + Math.fround(1e-7))) : 0;
        assert.ok(Math.abs(got[i * n + j] - expect) < 1e-6, `${m}x${n}x${pixels}: pair ${i}, ${j}`);
      }
    }
  }
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
