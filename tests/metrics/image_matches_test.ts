/**
 * `imageMatches` against the validator's steps done in full (every prediction's mask, every pair's IoU) on
 * seeded random predictions, with ground truth made of three of their own masks: computing masks only for
 * predictions whose class some ground truth has must not change a match.
 */
import assert from "node:assert/strict";
import { imageMatches, type ImageTruth } from "../../src/metrics/image_matches.ts";
import { boxIoU, maskIoU } from "../../src/metrics/iou.ts";
import { IOU_THRESHOLDS, matchPredictions } from "../../src/metrics/match.ts";
import { scaleBoxes } from "../../src/postprocess/boxes.ts";
import { processMaskProto } from "../../src/postprocess/masks.ts";
import { nonMaxSuppression } from "../../src/postprocess/nms.ts";
import { rand } from "../_rand.ts";

Deno.test("imageMatches: masks of the ground truth's classes only give the full computation's matches", () => {
  for (const seed of [1, 2, 3]) {
    const next = rand(seed);
    const [nc, nm, A, S, P] = [5, 4, 300, 64, 16]; // classes, coefficients, anchors, input side, proto side
    const C = 4 + nc + nm;
    const preds = new Float32Array(C * A);
    for (let a = 0; a < A; a++) {
      for (let r = 0; r < 4; r++) {
        preds[r * A + a] = [next() * S, next() * S, 8 + next() * 30, 8 + next() * 30][r];
      }
      for (let c = 0; c < nc; c++) preds[(4 + c) * A + a] = next() < 0.3 ? next() : next() * 0.01;
      for (let m = 0; m < nm; m++) preds[(4 + nc + m) * A + a] = next() * 2 - 1;
    }
    const protos = { data: new Float32Array(nm * P * P), shape: [nm, P, P] as [number, number, number] };
    for (let m = 0; m < nm; m++) {
      const [fx, fy, ox] = [next() * 0.8, next() * 0.8, next() * 6];
      for (let y = 0; y < P; y++) {
        for (let x = 0; x < P; x++) {
          protos.data[(m * P + y) * P + x] = Math.sin(fx * x + ox) + Math.cos(fy * y);
        }
      }
    }
    // The ground truth: three of the detections' own masks (later ones on top) with their classes and boxes,
    // so that masks match; the other detections' classes are mostly absent from it.
    const det = nonMaxSuppression(preds, [C, A], {
      conf: 0.001,
      iou: 0.7,
      maxDet: 300,
      multiLabel: true,
      nc,
    });
    const all = processMaskProto(protos, det.coeffs, det.boxes, [S, S]);
    const picks = [0, 5, 10];
    const mask = new Int32Array(P * P);
    picks.forEach((j, g) => {
      for (let q = 0; q < P * P; q++) if (all.data[j * P * P + q]) mask[q] = g + 1;
    });
    const boxes = Float32Array.from(picks.flatMap((j) => [...det.boxes.subarray(4 * j, 4 * j + 4)]));
    const gtCls = picks.map((j) => det.cls[j]);
    const truth: ImageTruth = { origShape: [S, S], ratioPad: [[1, 1], [0, 0]], cls: gtCls, boxes, mask };
    const opts = { conf: 0.001, iou: 0.7, maxDet: 300, agnostic: false, singleCls: false, nc };
    const got = imageMatches({ preds, channels: C, columns: A, protos }, truth, opts, [S, S]);

    // The same steps over every prediction.
    const predBoxes = scaleBoxes(det.boxes, [S, S], [S, S], { ratioPad: truth.ratioPad });
    const tp = matchPredictions(det.cls, truth.cls, boxIoU(truth.boxes, predBoxes));
    const gt = new Uint8Array(3 * P * P);
    for (let q = 0; q < P * P; q++) if (mask[q] > 0) gt[(mask[q] - 1) * P * P + q] = 1;
    const tpM = matchPredictions(
      det.cls,
      truth.cls,
      maskIoU(gt, all.data, P * P, (g, j) => truth.cls[g] === det.cls[j]),
    );
    const absent = [...det.cls].filter((c) => !gtCls.includes(c)).length;
    assert.ok(
      det.count > 20 && absent > det.count / 4,
      `${det.count} detections, ${absent} of absent classes`,
    );
    assert.ok(tpM.some((v) => v === 1), "some mask matches");
    assert.deepEqual(got.tp, tp);
    assert.deepEqual(got.tpM, tpM);
    assert.equal(got.tp.length, det.count * IOU_THRESHOLDS.length);
  }
});
