/**
 * Ultralytics 8.3.159 `LetterBox` (`ultralytics/data/augment.py`) as its predictor uses it, then the
 * predictor's `preprocess` (BGR→RGB, HWC→CHW, `/ 255` in float32):
 *
 * ```
 * r = min(new_h / h, new_w / w)                      # min(r, 1) when scaleup=False
 * new_unpad = (round(w * r), round(h * r))           # Python round: half to even
 * dw, dh = new_w - new_unpad[0], new_h - new_unpad[1]
 * if auto: dw, dh = dw % stride, dh % stride         # rect: pad only to the next multiple of stride
 * if center: dw /= 2; dh /= 2
 * resize with cv2.INTER_LINEAR when the size changes
 * top, bottom = round(dh - 0.1) if center else 0, round(dh + 0.1)   # likewise left, right
 * cv2.copyMakeBorder(..., BORDER_CONSTANT, value=(114, 114, 114))
 * ```
 *
 * A single image is predicted with `auto=True` (rect, e.g. bus.jpg 810x1080 → 480x640), a list of images
 * with `auto=False` (square 640x640).
 *
 * @module
 */
import type { Image } from "../io/image.ts";
import { resizeBilinearU8 } from "./resize.ts";

/** Options of {@linkcode letterbox}, {@linkcode letterboxInto} and {@linkcode letterboxGeometry}. */
export interface LetterboxOptions {
  /**
   * Target size: a number for a square, or `[height, width]` (Ultralytics' `new_shape`).
   * @default {640}
   */
  newShape?: number | [number, number];
  /**
   * Rect mode: pad only up to the next multiple of `stride` (the predictor's single-image mode).
   * @default {false}
   */
  auto?: boolean;
  /**
   * The model's largest stride, for `auto`.
   * @default {32}
   */
  stride?: number;
  /**
   * Allow enlarging images smaller than `newShape`.
   * @default {true}
   */
  scaleup?: boolean;
  /**
   * Split the padding between both sides (otherwise it all goes right and bottom).
   * @default {true}
   */
  center?: boolean;
  /**
   * The border's 8-bit value in every channel.
   * @default {114}
   */
  padValue?: number;
}

/** Where an image lands in its letterbox. */
export interface LetterboxGeometry {
  /** The original `[height, width]`. */
  origShape: [number, number];
  /** The letterboxed `[height, width]` (the model input's spatial size). */
  letterboxShape: [number, number];
  /** The scale `[r, r]` (width, height) applied to the original image. */
  ratio: [number, number];
  /** The resized image's `[width, height]` (`new_unpad`). */
  newUnpad: [number, number];
  /** Ultralytics' `(dw, dh)` after halving: the float left/top padding (whole padding when not centered). */
  pad: [number, number];
  /** Integer border rows/columns added on each side (`left`, `top` are what 8.3.x records in `ratio_pad`). */
  border: { top: number; bottom: number; left: number; right: number };
}

/** One letterboxed image as the model takes it. */
export interface Letterboxed extends LetterboxGeometry {
  /** NCHW float32, RGB in 0..1 (byte / 255), `[1, 3, H, W]`. */
  data: Float32Array;
  /** `[1, 3, H, W]`. */
  shape: [1, 3, number, number];
}

/** Python 3 `round(x)` on a float: half to even. */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Python's `%` for a positive divisor (result in `[0, m)`). */
const pyMod = (a: number, m: number) => ((a % m) + m) % m;

/**
 * The letterbox arithmetic of Ultralytics' `LetterBox` without touching pixels.
 *
 * @param origShape The image's `[height, width]`.
 * @param options Target size and mode.
 * @returns The scale, resized size, padding and letterboxed shape.
 * @throws {RangeError} When a size is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { letterboxGeometry } from "./letterbox.ts";
 * const g = letterboxGeometry([720, 1280], { auto: true }); // zidane.jpg, predicted alone
 * assert.deepEqual(g.letterboxShape, [384, 640]);
 * assert.deepEqual(g.border, { top: 12, bottom: 12, left: 0, right: 0 });
 * ```
 */
export function letterboxGeometry(
  origShape: [number, number],
  options: LetterboxOptions = {},
): LetterboxGeometry {
  const { newShape = 640, auto = false, stride = 32, scaleup = true, center = true } = options;
  const [newH, newW] = typeof newShape === "number" ? [newShape, newShape] : newShape;
  const [h, w] = origShape;
  for (const v of [h, w, newH, newW, stride]) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new RangeError(`Cannot letterbox: size ${v} is not a positive integer`);
    }
  }
  let r = Math.min(newH / h, newW / w);
  if (!scaleup) r = Math.min(r, 1);
  const unpadW = pyRound(w * r), unpadH = pyRound(h * r);
  let dw = newW - unpadW, dh = newH - unpadH;
  if (auto) dw = pyMod(dw, stride), dh = pyMod(dh, stride);
  if (center) dw /= 2, dh /= 2;
  const top = center ? pyRound(dh - 0.1) : 0, bottom = pyRound(dh + 0.1);
  const left = center ? pyRound(dw - 0.1) : 0, right = pyRound(dw + 0.1);
  return {
    origShape: [h, w],
    letterboxShape: [unpadH + top + bottom, unpadW + left + right],
    ratio: [r, r],
    newUnpad: [unpadW, unpadH],
    pad: [dw, dh],
    border: { top, bottom, left, right },
  };
}

/**
 * Letterboxes an RGB image into one model input, exactly as Ultralytics' predictor prepares it
 * (OpenCV's INTER_LINEAR resize, bit for bit, then a 114 border).
 *
 * @param img The decoded image.
 * @param options Target size and mode (`auto: true` for a single image, as the predictor does).
 * @returns The `[1, 3, H, W]` tensor with its geometry.
 * @throws {RangeError} When a size is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { letterbox } from "./letterbox.ts";
 * const img = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 3).fill(255) };
 * const lb = letterbox(img, { newShape: 8 }); // 4x2 -> 8x4, padded to 8x8: 2 rows above and below
 * assert.deepEqual(lb.shape, [1, 3, 8, 8]);
 * assert.equal(lb.data[0], Math.fround(114 / 255)); // border
 * assert.equal(lb.data[2 * 8], 1); // row 2, the first resized row
 * ```
 */
export function letterbox(img: Image, options: LetterboxOptions = {}): Letterboxed {
  const g = letterboxGeometry([img.height, img.width], options);
  const [H, W] = g.letterboxShape;
  const data = new Float32Array(3 * H * W);
  letterboxInto(img, data, options);
  return { ...g, data, shape: [1, 3, H, W] };
}

/** Options of {@linkcode letterboxInto}: the letterbox options and where the image goes. */
export interface LetterboxIntoOptions extends LetterboxOptions {
  /**
   * Index in `out` of the image's first value (`i * 3 * H * W` for image `i` of a batch).
   * @default {0}
   */
  offset?: number;
}

/**
 * Letterboxes an RGB image into a slice of a batch tensor (`[3, H, W]` floats at `offset`), as
 * {@linkcode letterbox} does.
 *
 * @param img The decoded image.
 * @param out The batch tensor (NCHW float32).
 * @param options Target size, mode and offset.
 * @returns The image's geometry.
 * @throws {RangeError} When a size is not a positive integer or the image does not fit in `out` at `offset`.
 */
export function letterboxInto(
  img: Image,
  out: Float32Array,
  options: LetterboxIntoOptions = {},
): LetterboxGeometry {
  const { offset = 0, padValue = 114 } = options;
  const g = letterboxGeometry([img.height, img.width], options);
  const [H, W] = g.letterboxShape;
  const plane = H * W;
  if (!Number.isInteger(offset) || offset < 0 || offset + 3 * plane > out.length) {
    throw new RangeError(
      `Cannot letterbox: ${3 * plane} values at offset ${offset} do not fit in ${out.length}`,
    );
  }
  const [uw, uh] = g.newUnpad;
  const resized = uw === img.width && uh === img.height ? img : resizeBilinearU8(img, [uw, uh]);
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  out.fill(Math.fround(padValue / 255), offset, offset + 3 * plane);
  const { top, left } = g.border;
  const src = resized.data;
  for (let y = 0; y < uh; y++) {
    const row = offset + (top + y) * W + left;
    let s = y * uw * 3;
    for (let x = 0; x < uw; x++, s += 3) {
      out[row + x] = lut[src[s]];
      out[row + plane + x] = lut[src[s + 1]];
      out[row + 2 * plane + x] = lut[src[s + 2]];
    }
  }
  return g;
}
