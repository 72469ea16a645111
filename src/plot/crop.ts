/**
 * Ultralytics' `save_one_box` (`save_crop=True`): each detection cut from the original image with its box
 * grown by 2% and 10 pixels (`wh * 1.02 + 10`, same centre), truncated to integers, clipped to the image.
 * @module
 */
import type { Image } from "../io/image.ts";

const f32 = Math.fround;

/**
 * The pixel rectangle `save_one_box(xyxy, im, gain, pad)` cuts.
 *
 * @param xyxy The box in original pixels.
 * @param width The image's width.
 * @param height The image's height.
 * @param gain Scale of the box's width and height.
 * @param pad Pixels added to the width and height.
 * @returns `[x0, y0, x1, y1]`: columns `x0..x1 - 1` and rows `y0..y1 - 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cropRect } from "./crop.ts";
 * // a 100x50 box centred at (150, 125): 112 x 61 after * 1.02 + 10 → x 94..206, y 94.5..155.5
 * assert.deepEqual(cropRect([100, 100, 200, 150], 640, 480), [94, 94, 206, 155]);
 * ```
 */
export function cropRect(
  xyxy: ArrayLike<number>,
  width: number,
  height: number,
  gain = 1.02,
  pad = 10,
): [number, number, number, number] {
  const cx = f32(f32(xyxy[0] + xyxy[2]) / 2), cy = f32(f32(xyxy[1] + xyxy[3]) / 2);
  const w = f32(f32(f32(xyxy[2] - xyxy[0]) * f32(gain)) + pad);
  const h = f32(f32(f32(xyxy[3] - xyxy[1]) * f32(gain)) + pad);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [
    clamp(Math.trunc(f32(cx - f32(w / 2))), width),
    clamp(Math.trunc(f32(cy - f32(h / 2))), height),
    clamp(Math.trunc(f32(cx + f32(w / 2))), width),
    clamp(Math.trunc(f32(cy + f32(h / 2))), height),
  ];
}

/**
 * Cuts a detection's crop out of an RGB image, as `save_one_box` does.
 *
 * @param image The original image.
 * @param xyxy The box in original pixels.
 * @returns The crop (empty when the box lies outside the image).
 */
export function cropBox(image: Image, xyxy: ArrayLike<number>): Image {
  const [x0, y0, x1, y1] = cropRect(xyxy, image.width, image.height);
  const w = Math.max(0, x1 - x0), h = Math.max(0, y1 - y0);
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const src = 3 * ((y0 + y) * image.width + x0);
    data.set(image.data.subarray(src, src + 3 * w), 3 * y * w);
  }
  return { width: w, height: h, data };
}
