/**
 * One image's post-processing in predict, as Ultralytics 8.3.159's `SegmentationPredictor.postprocess`
 * and `construct_result`: NMS, boxes scaled to the original image, masks (`process_mask`, or
 * `process_mask_native` with `retina_masks`), detections whose mask is empty dropped. A pure function of
 * plain arrays, so it runs the same on the main thread or a worker thread.
 * @module
 */
import { scaleBoxes } from "./boxes.ts";
import { maskAreas, type MaskStack, processMask, processMaskNative } from "./masks.ts";
import { nonMaxSuppression } from "./nms.ts";

/** What one image's post-processing takes from its forward. */
export interface ImageOutputs {
  /** NMS input, `[channels, columns]` row-major: the image's GPU-selected candidates or all of its `output0`. */
  preds: Float32Array;
  /** Rows of `preds`: 4 box values, `nc` scores, then the mask coefficients. */
  channels: number;
  /** Columns of `preds`. */
  columns: number;
  /** The image's prototypes `[nm, mh, mw]` (absent for a detection model). */
  protos?: { data: Float32Array; shape: [number, number, number] };
}

/** The thresholds of one image's post-processing (predict's names). */
export interface SegmentOptions {
  /** Confidence threshold. */
  conf: number;
  /** NMS IoU threshold. */
  iou: number;
  /** Most detections. */
  max_det: number;
  /** Keep only these classes, or all. */
  classes: number[] | null;
  /** Class-agnostic NMS. */
  agnostic_nms: boolean;
  /** Masks at the original image resolution. */
  retina_masks: boolean;
}

/** One image's detections in original pixels, best first. */
export interface ImageDetections {
  /** `[k, 4]` xyxy boxes, flat. */
  boxes: Float32Array;
  /** `[k]` confidences. */
  conf: Float32Array;
  /** `[k]` class indices. */
  cls: Int32Array;
  /** `[k, h, w]` masks (letterbox resolution, or the original with `retina_masks`); absent without protos. */
  masks?: MaskStack;
}

/**
 * NMS, boxes to original pixels, masks, empty masks dropped: one image's detections.
 *
 * @param out The image's outputs.
 * @param opts Thresholds.
 * @param nc Number of classes.
 * @param letterboxShape `[height, width]` of the network input.
 * @param origShape `[height, width]` of the image.
 * @returns The detections.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { postprocessImage } from "./segment.ts";
 * // one anchor: box (cx 4, cy 4, w 4, h 4), class score 0.9, mask coefficient 1; one 8x8 prototype of 1s
 * const out = {
 *   preds: new Float32Array([4, 4, 4, 4, 0.9, 1]),
 *   channels: 6,
 *   columns: 1,
 *   protos: { data: new Float32Array(64).fill(1), shape: [1, 8, 8] as [number, number, number] },
 * };
 * const opts = { conf: 0.25, iou: 0.7, max_det: 300, classes: null, agnostic_nms: false, retina_masks: false };
 * const det = postprocessImage(out, opts, 1, [8, 8], [8, 8]);
 * assert.deepEqual([...det.boxes], [2, 2, 6, 6]);
 * assert.equal(det.masks!.data.reduce((s, v) => s + v, 0), 16); // the 4x4 box
 * ```
 */
export function postprocessImage(
  out: ImageOutputs,
  opts: SegmentOptions,
  nc: number,
  letterboxShape: [number, number],
  origShape: [number, number],
): ImageDetections {
  const det = nonMaxSuppression(out.preds, [out.channels, out.columns], {
    conf: opts.conf,
    iou: opts.iou,
    maxDet: opts.max_det,
    classes: opts.classes,
    agnostic: opts.agnostic_nms,
    nc,
  });
  let boxes = scaleBoxes(det.boxes, letterboxShape, origShape);
  let conf = det.conf, cls = det.cls;
  if (!out.protos || det.nm === 0) return { boxes, conf, cls };
  let masks: MaskStack = det.count === 0
    ? { data: new Uint8Array(0), shape: opts.retina_masks ? [0, ...origShape] : [0, ...letterboxShape] }
    : opts.retina_masks
    ? processMaskNative(out.protos, det.coeffs, boxes, origShape)
    : processMask(out.protos, det.coeffs, det.boxes, letterboxShape);
  // construct_result: drop detections whose mask is empty.
  const areas = maskAreas(masks);
  const keep = [...areas.keys()].filter((i) => areas[i] > 0);
  if (keep.length < det.count) {
    const [, h, w] = masks.shape;
    const plane = h * w;
    const kept = new Uint8Array(keep.length * plane);
    keep.forEach((i, j) => kept.set(masks.data.subarray(i * plane, (i + 1) * plane), j * plane));
    masks = { data: kept, shape: [keep.length, h, w] };
    boxes = Float32Array.from(keep.flatMap((i) => [...boxes.subarray(4 * i, 4 * i + 4)]));
    conf = Float32Array.from(keep, (i) => conf[i]);
    cls = Int32Array.from(keep, (i) => cls[i]);
  }
  return { boxes, conf, cls, masks };
}
