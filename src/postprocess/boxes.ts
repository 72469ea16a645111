/**
 * Letterbox ↔ original-image geometry, as Ultralytics 8.3.159's `ops.scale_boxes`, `ops.clip_boxes`,
 * `ops.scale_coords` and `ops.xywh2xyxy`. Values are float32 as in Ultralytics (boxes are float32 tensors,
 * segments float32 arrays): each arithmetic step is rounded to float32.
 * @module
 */

/** `[height, width]` of an image. */
export type Shape2 = readonly [number, number];

/**
 * Ultralytics' `ratio_pad`: `[[gain, gain], [padX, padY]]` (only `gain = ratioPad[0][0]` and the pad are
 * used).
 */
export type RatioPad = readonly [readonly [number, number], readonly [number, number]];

/** Options of {@linkcode scaleBoxes} and {@linkcode scaleCoords}. */
export interface ScaleOptions {
  /** Gain and padding to undo; computed from the two shapes when absent. @default undefined */
  ratioPad?: RatioPad;
  /** Whether the letterbox padding is subtracted (Ultralytics' `padding`). @default true */
  padding?: boolean;
}

const f32 = Math.fround;

/**
 * Python's `round()` for a float: to the nearest integer, halves to even.
 *
 * @param x A number.
 * @returns `x` rounded half to even.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pyRound } from "./boxes.ts";
 * assert.deepEqual([pyRound(2.5), pyRound(3.5), pyRound(-2.5), pyRound(11.4)], [2, 4, -2, 11]);
 * ```
 */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0; // + 0: Python has no -0 integer
}

/**
 * `xywh2xyxy`: centre/size boxes to corner boxes, in float32.
 *
 * @param xywh `[n, 4]` boxes `cx, cy, w, h`, flat.
 * @returns `[n, 4]` boxes `x1, y1, x2, y2`, flat.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { xywh2xyxy } from "./boxes.ts";
 * assert.deepEqual(xywh2xyxy(new Float32Array([10, 20, 4, 6])), new Float32Array([8, 17, 12, 23]));
 * ```
 */
export function xywh2xyxy(xywh: ArrayLike<number>): Float32Array {
  const out = new Float32Array(xywh.length);
  for (let i = 0; i + 3 < xywh.length; i += 4) {
    const hw = f32(xywh[i + 2] / 2), hh = f32(xywh[i + 3] / 2);
    out[i] = xywh[i] - hw;
    out[i + 1] = xywh[i + 1] - hh;
    out[i + 2] = xywh[i] + hw;
    out[i + 3] = xywh[i + 1] + hh;
  }
  return out;
}

/**
 * `clip_boxes`: clamp xyxy boxes to `[0, width]` and `[0, height]` (the far edges are inclusive), in place.
 *
 * @param boxes `[n, 4]` xyxy boxes, flat; modified.
 * @param shape `[height, width]` of the image.
 * @returns `boxes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipBoxes } from "./boxes.ts";
 * assert.deepEqual(clipBoxes(new Float32Array([-3, 2, 50, 99]), [40, 30]), new Float32Array([0, 2, 30, 40]));
 * ```
 */
export function clipBoxes(boxes: Float32Array, shape: Shape2): Float32Array {
  const [h, w] = shape;
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    boxes[i] = Math.min(Math.max(boxes[i], 0), w);
    boxes[i + 1] = Math.min(Math.max(boxes[i + 1], 0), h);
    boxes[i + 2] = Math.min(Math.max(boxes[i + 2], 0), w);
    boxes[i + 3] = Math.min(Math.max(boxes[i + 3], 0), h);
  }
  return boxes;
}

/**
 * The gain and padding Ultralytics' `scale_boxes` undoes: `gain = min(h1 / h0, w1 / w0)` and the pad of a
 * centred letterbox, `round((w1 - w0 * gain) / 2 - 0.1)` and `round((h1 - h0 * gain) / 2 - 0.1)` (Python
 * rounding: halves to even).
 *
 * @param letterboxShape `[h1, w1]` of the network input.
 * @param origShape `[h0, w0]` of the original image.
 * @returns `[[gain, gain], [padX, padY]]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { letterboxRatioPad } from "./boxes.ts";
 * assert.deepEqual(letterboxRatioPad([448, 640], [425, 640]), [[1, 1], [0, 11]]);
 * ```
 */
export function letterboxRatioPad(letterboxShape: Shape2, origShape: Shape2): RatioPad {
  const [h1, w1] = letterboxShape;
  const [h0, w0] = origShape;
  const gain = Math.min(h1 / h0, w1 / w0);
  return [[gain, gain], [pyRound((w1 - w0 * gain) / 2 - 0.1), pyRound((h1 - h0 * gain) / 2 - 0.1)]];
}

/**
 * `scale_boxes(img1_shape, boxes, img0_shape, ratio_pad, padding=True)`: xyxy boxes from letterbox pixels
 * to original-image pixels — subtract the (rounded) pad, divide by the gain, clip to the image.
 *
 * @param boxes `[n, 4]` xyxy boxes in letterbox pixels, flat (not modified).
 * @param letterboxShape `[height, width]` of the network input.
 * @param origShape `[height, width]` of the original image.
 * @param options Gain/pad override and whether to subtract the pad.
 * @returns New `[n, 4]` xyxy boxes in original pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scaleBoxes } from "./boxes.ts";
 * // 1080x810 letterboxed into 640x640: gain 640/1080, pad x 80
 * const out = scaleBoxes(new Float32Array([80, 0, 560, 320]), [640, 640], [1080, 810]);
 * assert.deepEqual([...out].map((v) => Math.round(v)), [0, 0, 810, 540]);
 * ```
 */
export function scaleBoxes(
  boxes: ArrayLike<number>,
  letterboxShape: Shape2,
  origShape: Shape2,
  options: ScaleOptions = {},
): Float32Array {
  const ratioPad = options.ratioPad ?? letterboxRatioPad(letterboxShape, origShape);
  const gain = f32(ratioPad[0][0]);
  const padding = options.padding ?? true;
  const padX = padding ? f32(ratioPad[1][0]) : 0;
  const padY = padding ? f32(ratioPad[1][1]) : 0;
  const out = new Float32Array(boxes.length);
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    out[i] = f32(boxes[i] - padX) / gain;
    out[i + 1] = f32(boxes[i + 1] - padY) / gain;
    out[i + 2] = f32(boxes[i + 2] - padX) / gain;
    out[i + 3] = f32(boxes[i + 3] - padY) / gain;
  }
  return clipBoxes(out, origShape);
}

/**
 * `scale_coords(img1_shape, coords, img0_shape, normalize=False)`: points (polygon vertices) from
 * letterbox pixels to original pixels. Unlike {@linkcode scaleBoxes} the pad is NOT rounded
 * (`(w1 - w0 * gain) / 2`, so a 425-row image in a 448-row letterbox moves by 11.5 rows), and points are
 * clipped to `[0, width]` x `[0, height]`. Float32 throughout, as on Ultralytics' float32 segments.
 *
 * @param coords `[n, 2]` points `x, y`, flat (not modified).
 * @param fromShape `[height, width]` the points are in (the mask's shape).
 * @param toShape `[height, width]` of the original image.
 * @param options Gain/pad override and whether to subtract the pad.
 * @returns New `[n, 2]` points.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scaleCoords } from "./boxes.ts";
 * assert.deepEqual(scaleCoords(new Float32Array([149, 273]), [448, 640], [425, 640]), new Float32Array([149, 261.5]));
 * ```
 */
export function scaleCoords(
  coords: ArrayLike<number>,
  fromShape: Shape2,
  toShape: Shape2,
  options: ScaleOptions = {},
): Float32Array {
  const [h1, w1] = fromShape;
  const [h0, w0] = toShape;
  let gain: number, padX: number, padY: number;
  if (options.ratioPad) {
    gain = options.ratioPad[0][0];
    [padX, padY] = options.ratioPad[1];
  } else {
    gain = Math.min(h1 / h0, w1 / w0);
    padX = (w1 - w0 * gain) / 2;
    padY = (h1 - h0 * gain) / 2;
  }
  const padding = options.padding ?? true;
  const g = f32(gain), px = padding ? f32(padX) : 0, py = padding ? f32(padY) : 0;
  const out = new Float32Array(coords.length);
  for (let i = 0; i + 1 < coords.length; i += 2) {
    out[i] = Math.min(Math.max(f32(f32(coords[i] - px) / g), 0), w0);
    out[i + 1] = Math.min(Math.max(f32(f32(coords[i + 1] - py) / g), 0), h0);
  }
  return out;
}
