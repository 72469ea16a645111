/**
 * One image's part of Ultralytics 8.3.159's `SegmentationValidator.update_metrics`: multi-label NMS of its
 * predictions, then which of them match a ground-truth instance of their class at each IoU threshold
 * (0.50:0.05:0.95), by box and by mask (masks at prototype resolution, cropped to the box, thresholded at
 * 0, against the overlap mask's instances). A pure function of plain arrays, so it runs the same on the
 * main thread or a worker thread.
 * @module
 */
import { boxIoU, maskIoU } from "./iou.ts";
import { IOU_THRESHOLDS, matchPredictions } from "./match.ts";
import { scaleBoxes } from "../postprocess/boxes.ts";
import { processMaskProto } from "../postprocess/masks.ts";
import { nonMaxSuppression } from "../postprocess/nms.ts";
import type { ImageOutputs } from "../postprocess/segment.ts";

/** One image's ground truth as the validator prepares it. */
export interface ImageTruth {
  /** `[h0, w0]` of the image. */
  origShape: [number, number];
  /** `((h / h0, w / w0), (left, top))`: how the image went into the letterbox. */
  ratioPad: [[number, number], [number, number]];
  /** Classes in overlap-mask order. */
  cls: number[];
  /** `[k, 4]` xyxy boxes in original pixels, same order. */
  boxes: Float32Array;
  /** The overlap mask at prototype resolution: 0 background, `g + 1` instance `g`. */
  mask: Int32Array;
}

/** The validator's thresholds. */
export interface MatchOptions {
  /** Confidence threshold (0.001). */
  conf: number;
  /** NMS IoU threshold (0.7). */
  iou: number;
  /** Most detections (300). */
  maxDet: number;
  /** Class-agnostic NMS. */
  agnostic: boolean;
  /** Every prediction counts as class 0. */
  singleCls: boolean;
  /** Number of classes. */
  nc: number;
}

/** One image's predictions, best first, and their matches. */
export interface ImageMatches {
  /** `[k, 10]` 0/1: prediction matched by box at each IoU threshold. */
  tp: Uint8Array;
  /** `[k, 10]` 0/1: the same by mask. */
  tpM: Uint8Array;
  /** `[k]` confidences. */
  conf: Float32Array;
  /** `[k]` predicted classes (0 with `singleCls`). */
  cls: Int32Array;
}

/**
 * NMS and the box and mask matches of one image's predictions.
 *
 * @param out The image's `output0` (`preds`, all anchors) and prototypes.
 * @param truth Its ground truth.
 * @param opts Thresholds.
 * @param letterboxShape `[H, W]` of the network input.
 * @returns The predictions and matches (`k` = 0 when nothing passes NMS).
 */
export function imageMatches(
  out: ImageOutputs,
  truth: ImageTruth,
  opts: MatchOptions,
  letterboxShape: [number, number],
): ImageMatches {
  const t = IOU_THRESHOLDS.length;
  const det = nonMaxSuppression(out.preds, [out.channels, out.columns], {
    conf: opts.conf,
    iou: opts.iou,
    maxDet: opts.maxDet,
    multiLabel: true,
    agnostic: opts.singleCls || opts.agnostic,
    nc: opts.nc,
  });
  const cls = opts.singleCls ? new Int32Array(det.count) : det.cls;
  const k = det.count, nl = truth.cls.length;
  const tp = new Uint8Array(k * t), tpM = new Uint8Array(k * t);
  if (k > 0 && nl > 0) {
    const predBoxes = scaleBoxes(det.boxes, letterboxShape, truth.origShape, { ratioPad: truth.ratioPad });
    tp.set(matchPredictions(cls, truth.cls, boxIoU(truth.boxes, predBoxes)));
    if (out.protos) {
      const [nm, mh, mw] = out.protos.shape;
      // Masks only of the predictions whose class some ground truth has: the others pair with none (their
      // IoUs stay 0), and a crop's logits are most of the work.
      const gtClasses = new Set(truth.cls);
      const need = [...cls.keys()].filter((j) => gtClasses.has(cls[j]));
      const coeffs = new Float32Array(need.length * nm), boxes = new Float32Array(need.length * 4);
      need.forEach((j, i) => {
        coeffs.set(det.coeffs.subarray(j * nm, (j + 1) * nm), i * nm);
        boxes.set(det.boxes.subarray(4 * j, 4 * j + 4), 4 * i);
      });
      const predMasks = processMaskProto(out.protos, coeffs, boxes, letterboxShape);
      const plane = mh * mw;
      const gtMasks = new Uint8Array(nl * plane);
      for (let q = 0; q < plane; q++) {
        const v = truth.mask[q];
        if (v > 0 && v <= nl) gtMasks[(v - 1) * plane + q] = 1;
      }
      const sub = maskIoU(gtMasks, predMasks.data, plane, (g, i) => truth.cls[g] === cls[need[i]]);
      const mIoU = new Float32Array(nl * k);
      for (let g = 0; g < nl; g++) need.forEach((j, i) => mIoU[g * k + j] = sub[g * need.length + i]);
      tpM.set(matchPredictions(cls, truth.cls, mIoU));
    }
  }
  return { tp, tpM, conf: det.conf, cls };
}
