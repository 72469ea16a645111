/**
 * `cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)` for 8-bit images, bit for bit as OpenCV 4.x
 * computes it on the CPU (`modules/imgproc/src/resize.cpp`, `cv::hal::resize`):
 *
 * - same size: a copy;
 * - exactly half in both directions (`scale_x == scale_y == 2` within `DBL_EPSILON`): INTER_LINEAR is
 *   switched to INTER_AREA's fast path (`resizeAreaFast_` / `ResizeAreaFastVec`), each output the
 *   rounded mean of a 2x2 block, `(a + b + c + d + 2) >> 2`;
 * - otherwise the fixed-point separable path `resizeGeneric_<HResizeLinear<uchar, int, short, 2048>,
 *   VResizeLinear<uchar, int, short, FixedPtCast<int, uchar, 22>>>`: per output column
 *   `fx = (float)((dx + 0.5) * scale_x - 0.5)`, `sx = cvFloor(fx)`, `fx -= sx`, clamped to the first/last
 *   column with `fx = 0`, weights `saturate_cast<short>((1 - fx) * 2048)` and `saturate_cast<short>(fx * 2048)`
 *   (round half to even); rows the same but unclamped (`fy` kept, both rows clipped into the image). The
 *   horizontal pass is exact in int32 (`S[sx] * a0 + S[sx + cn] * a1`); the vertical pass is the uchar
 *   specialisation of `VResizeLinear` that matches its SIMD twin `VResizeLinearVec_32s8u`:
 *   `((b0 * (S0 >> 4)) >> 16) + ((b1 * (S1 >> 4)) >> 16) + 2) >> 2`.
 *
 * IPP is not used for 8-bit INTER_LINEAR (`ipp_resize` declines it as not exact), so this is what
 * opencv-python computes on x86 and ARM alike.
 *
 * @module
 */

/** 8-bit pixels with any channel count: `data.length === width * height * channels`. */
export interface PixelsU8 {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Row-major bytes, channels interleaved. */
  data: Uint8Array;
}

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS; // INTER_RESIZE_COEF_SCALE

/** `cvRound` / `saturate_cast<int>`: round half to even (the FPU default OpenCV relies on). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Resizes 8-bit pixels with bilinear interpolation exactly as `cv2.resize(img, dsize,
 * interpolation=cv2.INTER_LINEAR)` does (see the module notes for the arithmetic).
 *
 * @param img The source; its channel count is `data.length / (width * height)`.
 * @param dsize The output size as `[width, height]` (OpenCV's order).
 * @returns New pixels of that size with the same channel count (a copy when the size is unchanged).
 * @throws {RangeError} When a size is not a positive integer or `data` does not hold whole pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeBilinearU8 } from "./resize.ts";
 * // 2x2 -> 1x1 is OpenCV's 2x2 area mean, rounded half up: (10 + 20 + 30 + 41 + 2) >> 2 = 25
 * const out = resizeBilinearU8({ width: 2, height: 2, data: new Uint8Array([10, 20, 30, 41]) }, [1, 1]);
 * assert.deepEqual([...out.data], [25]);
 * ```
 */
export function resizeBilinearU8<P extends PixelsU8>(img: P, dsize: [number, number]): P {
  const { width: sw, height: sh, data } = img;
  const [dw, dh] = dsize;
  for (const v of [sw, sh, dw, dh]) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new RangeError(`Cannot resize: size ${v} is not a positive integer`);
    }
  }
  const cn = data.length / (sw * sh);
  if (!Number.isInteger(cn) || cn < 1) {
    throw new RangeError(`Cannot resize: ${data.length} bytes are not whole pixels of a ${sw}x${sh} image`);
  }
  const path = resizePath([sw, sh], dsize);
  if (path.kind === "copy") return { ...img, data: data.slice() };
  const out = path.kind === "area2x"
    ? halve(data, sw, dw, dh, cn)
    : linear(data, sw, sh, dw, dh, cn, path.scaleX, path.scaleY);
  return { ...img, width: dw, height: dh, data: out };
}

/** Which of OpenCV's paths a resize takes, with the scales the bilinear path uses. */
export interface ResizePath {
  /** `copy` (same size), `area2x` (exact 2x downscale, INTER_AREA's fast path) or `bilinear`. */
  kind: "copy" | "area2x" | "bilinear";
  /** `1 / (dw / sw)`, as OpenCV computes `scale_x`. */
  scaleX: number;
  /** `1 / (dh / sh)`. */
  scaleY: number;
}

/**
 * The path {@linkcode resizeBilinearU8} (and OpenCV) takes from `[sw, sh]` to `[dw, dh]`.
 *
 * @param ssize The source size as `[width, height]`.
 * @param dsize The output size as `[width, height]`.
 * @returns The path and the scales.
 */
export function resizePath(ssize: [number, number], dsize: [number, number]): ResizePath {
  const [sw, sh] = ssize, [dw, dh] = dsize;
  const invX = dw / sw, invY = dh / sh;
  const scaleX = 1 / invX, scaleY = 1 / invY;
  if (sw === dw && sh === dh) return { kind: "copy", scaleX, scaleY };
  const iscaleX = roundHalfEven(scaleX), iscaleY = roundHalfEven(scaleY);
  const areaFast = Math.abs(scaleX - iscaleX) < Number.EPSILON && Math.abs(scaleY - iscaleY) < Number.EPSILON;
  return { kind: areaFast && iscaleX === 2 && iscaleY === 2 ? "area2x" : "bilinear", scaleX, scaleY };
}

/** INTER_AREA fast path for an exact 2x downscale (`ResizeAreaFastVec`, scale 2). */
function halve(src: Uint8Array, sw: number, dw: number, dh: number, cn: number): Uint8Array {
  const out = new Uint8Array(dw * dh * cn);
  const rowLen = sw * cn;
  const exact = cn === 1 || cn === 3 || cn === 4; // other channel counts: saturate_cast(sum * 0.25f)
  for (let y = 0; y < dh; y++) {
    const r0 = 2 * y * rowLen, r1 = r0 + rowLen;
    let d = y * dw * cn;
    for (let x = 0; x < dw; x++) {
      const s = 2 * x * cn;
      for (let c = 0; c < cn; c++, d++) {
        const sum = src[r0 + s + c] + src[r0 + s + cn + c] + src[r1 + s + c] + src[r1 + s + cn + c];
        out[d] = exact ? (sum + 2) >> 2 : roundHalfEven(sum * 0.25);
      }
    }
  }
  return out;
}

/** Source index and fixed-point weights (2048 = 1) of each output coordinate. */
export interface Taps {
  /** The first source index (`sx`, `sy`); rows may be outside the image (clipped when read). */
  ofs: Int32Array;
  /** Weight of `ofs`. */
  w0: Int16Array;
  /** Weight of `ofs + 1`. */
  w1: Int16Array;
}

/**
 * OpenCV's bilinear taps: `fx = (float)((d + 0.5) * scale - 0.5)`, `s = cvFloor(fx)`, `fx -= s`; clamped
 * to the first/last source index with `fx = 0` when `clamp` (columns), unclamped for rows.
 *
 * @param n The output length.
 * @param srcLen The source length.
 * @param scale `scaleX` or `scaleY` of {@linkcode resizePath}.
 * @param clamp Clamp to the source (columns).
 * @returns The taps of each output coordinate.
 */
export function taps(n: number, srcLen: number, scale: number, clamp: boolean): Taps {
  const ofs = new Int32Array(n), w0 = new Int16Array(n), w1 = new Int16Array(n);
  for (let d = 0; d < n; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clamp) {
      if (s < 0) f = 0, s = 0;
      if (s >= srcLen - 1) f = 0, s = srcLen - 1;
    }
    ofs[d] = s;
    w0[d] = roundHalfEven(Math.fround(1 - f) * COEF_SCALE);
    w1[d] = roundHalfEven(f * COEF_SCALE);
  }
  return { ofs, w0, w1 };
}

/** The fixed-point separable bilinear path (`resizeGeneric_` with `HResizeLinear` / `VResizeLinear`). */
function linear(
  src: Uint8Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
  cn: number,
  scaleX: number,
  scaleY: number,
): Uint8Array {
  const xt = taps(dw, sw, scaleX, true);
  const yt = taps(dh, sh, scaleY, false);
  const rowLen = dw * cn;
  const out = new Uint8Array(rowLen * dh);

  // Horizontal pass of one source row into int32 (cached: consecutive outputs share source rows).
  const cache = new Map<number, Int32Array>();
  const hrow = (sy: number): Int32Array => {
    let r = cache.get(sy);
    if (r) return r;
    r = new Int32Array(rowLen);
    const base = sy * sw * cn;
    for (let x = 0; x < dw; x++) {
      const s = base + xt.ofs[x] * cn, a0 = xt.w0[x], a1 = xt.w1[x];
      for (let c = 0; c < cn; c++) {
        r[x * cn + c] = a1 === 0 ? src[s + c] * a0 : src[s + c] * a0 + src[s + cn + c] * a1;
      }
    }
    if (cache.size >= 2) cache.delete(cache.keys().next().value!);
    cache.set(sy, r);
    return r;
  };
  const clip = (v: number) => v < 0 ? 0 : v >= sh ? sh - 1 : v;

  for (let y = 0; y < dh; y++) {
    const sy = yt.ofs[y];
    const s0 = hrow(clip(sy)), s1 = hrow(clip(sy + 1));
    const b0 = yt.w0[y], b1 = yt.w1[y];
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const v = (((b0 * (s0[i] >> 4)) >> 16) + ((b1 * (s1[i] >> 4)) >> 16) + 2) >> 2;
      out[o + i] = v > 255 ? 255 : v < 0 ? 0 : v;
    }
  }
  return out;
}
