/**
 * Instance masks from prototypes and coefficients, as Ultralytics 8.3.159's `ops.process_mask`
 * (`retina_masks=False`) and `ops.process_mask_native` (`retina_masks=True`).
 *
 * - `process_mask(..., upsample=True)`: logits = coeffs @ protos; `crop_mask` at prototype resolution with
 *   the boxes scaled by `(mw / w, mh / h)` (keeps column `r` where `x1 <= r < x2`, row `c` where
 *   `y1 <= c < y2`: zeroes the rest); bilinear `F.interpolate(align_corners=False)` to `[h, w]`; `> 0`.
 *   No sigmoid anywhere (the threshold 0 on logits).
 * - `process_mask_native`: logits; `scale_masks` — first remove the letterbox padding AT PROTOTYPE
 *   resolution (`top = int(round(padH - 0.1))`, `bottom = mh - int(round(padH + 0.1))`, likewise for
 *   columns, with `gain = min(mh / h0, mw / w0)`, `pad = (m - orig * gain) / 2`), then bilinear-upsample
 *   the cut to the original size; then `crop_mask` with the original-pixel boxes; `> 0`.
 *
 * Both compute only where the result can be non-zero: cropped logits are zero outside the box, so an
 * output pixel whose four bilinear taps all lie outside the crop is 0 (`process_mask`); in
 * `process_mask_native` the crop comes last, so only pixels inside the box are interpolated. The result is
 * the same as the full computation. Interpolation positions and weights follow PyTorch's CPU kernel in
 * float32; the blend itself is in double.
 * @module
 */
import { pyRound, type Shape2 } from "./boxes.ts";

/** Mask prototypes of one image, `[nm, mh, mw]` (a leading batch dimension of 1 is accepted). */
export interface Protos {
  /** The values, row-major. */
  data: Float32Array;
  /** `[nm, mh, mw]` or `[1, nm, mh, mw]`. */
  shape: readonly number[];
}

/** Binary masks, `[k, height, width]`, values 0 or 1. */
export interface MaskStack {
  /** `k * height * width` values, row-major. */
  data: Uint8Array;
  /** `[k, height, width]`. */
  shape: [number, number, number];
}

const f32 = Math.fround;

/**
 * `process_mask(protos, coeffs, boxes, shape, upsample=True)`: binary masks at the letterbox resolution.
 *
 * @param protos `[nm, mh, mw]` prototypes (`output1` of the image).
 * @param coeffs `[k, nm]` mask coefficients of the detections.
 * @param boxes `[k, 4]` xyxy boxes in letterbox pixels.
 * @param shape `[height, width]` of the letterbox (network input).
 * @returns `[k, height, width]` masks.
 * @throws {RangeError} When the sizes disagree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processMask } from "./masks.ts";
 * // one 2x2 prototype of logits 1, a box covering the right half of a 4x4 input
 * const protos = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
 * const m = processMask(protos, new Float32Array([1]), new Float32Array([2, 0, 4, 4]), [4, 4]);
 * assert.deepEqual([...m.data.subarray(0, 4)], [0, 1, 1, 1]);
 * ```
 */
export function processMask(
  protos: Protos,
  coeffs: Float32Array,
  boxes: ArrayLike<number>,
  shape: Shape2,
): MaskStack {
  const [nm, mh, mw] = protoDims(protos);
  const k = checkDetections(coeffs, boxes, nm);
  const [ih, iw] = shape;
  const out = new Uint8Array(k * ih * iw);
  const tx = linearTaps(mw, iw), ty = linearTaps(mh, ih);
  const wr = f32(mw / iw), hr = f32(mh / ih);
  for (let d = 0; d < k; d++) {
    // crop_mask at prototype resolution: keep columns ceil(x1) <= r < ceil(x2) (r >= x1 and r < x2).
    const c0 = clampInt(Math.ceil(f32(boxes[4 * d] * wr)), 0, mw);
    const c1 = clampInt(Math.ceil(f32(boxes[4 * d + 2] * wr)), 0, mw);
    const r0 = clampInt(Math.ceil(f32(boxes[4 * d + 1] * hr)), 0, mh);
    const r1 = clampInt(Math.ceil(f32(boxes[4 * d + 3] * hr)), 0, mh);
    if (c0 >= c1 || r0 >= r1) continue;
    // Output columns/rows with a tap inside the crop (taps are monotone: a contiguous range).
    const [ox0, ox1] = tapRange(tx, c0, c1);
    const [oy0, oy1] = tapRange(ty, r0, r1);
    if (ox0 >= ox1 || oy0 >= oy1) continue;
    // Cropped logits in a window with a 1-pixel zero border: window (y, x) = prototype (r0 - 1 + y, c0 - 1 + x).
    const ww = c1 - c0 + 2, wh = r1 - r0 + 2;
    const win = new Float64Array(ww * wh);
    logits(protos.data, coeffs, d, nm, mh, mw, r0, r1, c0, c1, win, ww, 1);
    const plane = out.subarray(d * ih * iw, (d + 1) * ih * iw);
    blend(win, ww, tx, ty, ox0, ox1, oy0, oy1, c0 - 1, r0 - 1, plane, iw);
  }
  return { data: out, shape: [k, ih, iw] };
}

/**
 * `process_mask(protos, coeffs, boxes, shape, upsample=False)`: binary masks at the prototype resolution
 * (what Ultralytics' segment validator compares with the ground truth): logits cropped to the boxes
 * scaled by `(mw / w, mh / h)`, then `> 0`.
 *
 * @param protos `[nm, mh, mw]` prototypes (`output1` of the image).
 * @param coeffs `[k, nm]` mask coefficients of the detections.
 * @param boxes `[k, 4]` xyxy boxes in letterbox pixels.
 * @param shape `[height, width]` of the letterbox (network input).
 * @returns `[k, mh, mw]` masks.
 * @throws {RangeError} When the sizes disagree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processMaskProto } from "./masks.ts";
 * const protos = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
 * const m = processMaskProto(protos, new Float32Array([1]), new Float32Array([2, 0, 4, 4]), [4, 4]);
 * assert.deepEqual([...m.data], [0, 1, 0, 1]);
 * ```
 */
export function processMaskProto(
  protos: Protos,
  coeffs: Float32Array,
  boxes: ArrayLike<number>,
  shape: Shape2,
): MaskStack {
  const [nm, mh, mw] = protoDims(protos);
  const k = checkDetections(coeffs, boxes, nm);
  const [ih, iw] = shape;
  const out = new Uint8Array(k * mh * mw);
  const wr = f32(mw / iw), hr = f32(mh / ih);
  for (let d = 0; d < k; d++) {
    const c0 = clampInt(Math.ceil(f32(boxes[4 * d] * wr)), 0, mw);
    const c1 = clampInt(Math.ceil(f32(boxes[4 * d + 2] * wr)), 0, mw);
    const r0 = clampInt(Math.ceil(f32(boxes[4 * d + 1] * hr)), 0, mh);
    const r1 = clampInt(Math.ceil(f32(boxes[4 * d + 3] * hr)), 0, mh);
    if (c0 >= c1 || r0 >= r1) continue;
    const ww = c1 - c0;
    const win = new Float64Array(ww * (r1 - r0));
    logits(protos.data, coeffs, d, nm, mh, mw, r0, r1, c0, c1, win, ww, 0);
    const plane = d * mh * mw;
    for (let y = r0; y < r1; y++) {
      for (let x = c0; x < c1; x++) out[plane + y * mw + x] = win[(y - r0) * ww + x - c0] > 0 ? 1 : 0;
    }
  }
  return { data: out, shape: [k, mh, mw] };
}

/**
 * `process_mask_native(protos, coeffs, boxes, orig_shape)` (`retina_masks=True`): binary masks at the
 * original image's resolution. The letterbox padding is cut from the prototypes (at their resolution) by
 * `scale_masks`, the rest upsampled to `origShape`, then cropped with the original-pixel boxes. The
 * letterbox shape is not needed: `scale_masks` derives gain and pad from the prototype and original shapes.
 *
 * @param protos `[nm, mh, mw]` prototypes (`output1` of the image).
 * @param coeffs `[k, nm]` mask coefficients of the detections.
 * @param boxes `[k, 4]` xyxy boxes in original pixels (after `scaleBoxes`).
 * @param origShape `[height, width]` of the original image.
 * @returns `[k, height, width]` masks.
 * @throws {RangeError} When the sizes disagree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processMaskNative } from "./masks.ts";
 * const protos = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
 * const m = processMaskNative(protos, new Float32Array([1]), new Float32Array([1, 1, 3, 3]), [4, 4]);
 * assert.deepEqual([...m.data], [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
 * ```
 */
export function processMaskNative(
  protos: Protos,
  coeffs: Float32Array,
  boxes: ArrayLike<number>,
  origShape: Shape2,
): MaskStack {
  const [nm, mh, mw] = protoDims(protos);
  const k = checkDetections(coeffs, boxes, nm);
  const [oh, ow] = origShape;
  const out = new Uint8Array(k * oh * ow);
  const { top, left, bottom, right } = scaleMasksCut([mh, mw], origShape);
  const tx = linearTaps(right - left, ow), ty = linearTaps(bottom - top, oh);
  for (let d = 0; d < k; d++) {
    // crop_mask at full resolution: columns ceil(x1) <= r < ceil(x2).
    const ox0 = clampInt(Math.ceil(boxes[4 * d]), 0, ow);
    const ox1 = clampInt(Math.ceil(boxes[4 * d + 2]), 0, ow);
    const oy0 = clampInt(Math.ceil(boxes[4 * d + 1]), 0, oh);
    const oy1 = clampInt(Math.ceil(boxes[4 * d + 3]), 0, oh);
    if (ox0 >= ox1 || oy0 >= oy1) continue;
    // Prototype window (in cut coordinates) that the taps of these pixels read.
    const a0 = tx.i0[ox0], a1 = tx.i1[ox1 - 1] + 1;
    const b0 = ty.i0[oy0], b1 = ty.i1[oy1 - 1] + 1;
    const ww = a1 - a0, wh = b1 - b0;
    const win = new Float64Array(ww * wh);
    logits(protos.data, coeffs, d, nm, mh, mw, top + b0, top + b1, left + a0, left + a1, win, ww, 0);
    const plane = out.subarray(d * oh * ow, (d + 1) * oh * ow);
    blend(win, ww, tx, ty, ox0, ox1, oy0, oy1, a0, b0, plane, ow);
  }
  return { data: out, shape: [k, oh, ow] };
}

/**
 * The prototype rows/columns `scale_masks` keeps (Ultralytics 8.3.159): `gain = min(mh / h0, mw / w0)`,
 * `pad = ((mw - w0 * gain) / 2, (mh - h0 * gain) / 2)`, `top = int(round(padH - 0.1))`,
 * `bottom = mh - int(round(padH + 0.1))`, and the same for `left`/`right` (Python rounding).
 *
 * @param maskShape `[mh, mw]` of the prototypes.
 * @param origShape `[h0, w0]` of the original image.
 * @returns The kept half-open ranges `[top, bottom)` and `[left, right)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scaleMasksCut } from "./masks.ts";
 * // a 425x640 image in a 448x640 letterbox: 112x160 prototypes, padH = 2.875
 * assert.deepEqual(scaleMasksCut([112, 160], [425, 640]), { top: 3, bottom: 109, left: 0, right: 160 });
 * ```
 */
export function scaleMasksCut(
  maskShape: Shape2,
  origShape: Shape2,
): { top: number; bottom: number; left: number; right: number } {
  const [mh, mw] = maskShape;
  const [h0, w0] = origShape;
  const gain = Math.min(mh / h0, mw / w0);
  const padW = (mw - w0 * gain) / 2, padH = (mh - h0 * gain) / 2;
  return {
    top: Math.trunc(pyRound(padH - 0.1)),
    bottom: mh - Math.trunc(pyRound(padH + 0.1)),
    left: Math.trunc(pyRound(padW - 0.1)),
    right: mw - Math.trunc(pyRound(padW + 0.1)),
  };
}

/**
 * Pixels per mask (Ultralytics' `construct_result` drops detections whose mask is empty:
 * `keep = masks.sum((-2, -1)) > 0`).
 *
 * @param masks `[k, h, w]` binary masks.
 * @returns `[k]` counts of non-zero pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskAreas } from "./masks.ts";
 * assert.deepEqual(maskAreas({ data: new Uint8Array([1, 0, 0, 0]), shape: [2, 1, 2] }), new Uint32Array([1, 0]));
 * ```
 */
export function maskAreas(masks: MaskStack): Uint32Array {
  const [k, h, w] = masks.shape;
  const out = new Uint32Array(k);
  const plane = h * w;
  const { data } = masks;
  // Masks are 0/1 bytes: four at a time, their sum is the top byte of word * 0x01010101 (no carries).
  const words = plane % 4 === 0 && data.byteOffset % 4 === 0
    ? new Uint32Array(data.buffer, data.byteOffset, (k * plane) / 4)
    : undefined;
  for (let d = 0; d < k; d++) {
    let n = 0;
    if (words) {
      const end = ((d + 1) * plane) / 4;
      for (let i = (d * plane) / 4; i < end; i++) {
        const v = words[i];
        if (v !== 0) n += Math.imul(v, 0x01010101) >>> 24;
      }
    } else {
      const end = (d + 1) * plane;
      for (let i = d * plane; i < end; i++) n += data[i];
    }
    out[d] = n;
  }
  return out;
}

/** Source positions of a 1-D bilinear resize (PyTorch, `align_corners=False`, CPU, float32). */
interface Taps {
  /** Lower source index per output index. */
  i0: Int32Array;
  /** Upper source index (`i0 + 1`, or `i0` at the last row/column). */
  i1: Int32Array;
  /** Weight of `i1` (`1 - l1` is the weight of `i0`). */
  l1: Float64Array;
}

/**
 * PyTorch's `area_pixel_compute_source_index` with `scale = in / out`, in float32:
 * `src = max(scale * (o + 0.5) - 0.5, 0)`, `i0 = floor(src)`, `i1 = i0 + (i0 < in - 1)`, `l1 = src - i0`.
 */
function linearTaps(inSize: number, outSize: number): Taps {
  const scale = f32(inSize / outSize);
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize), l1 = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let src = f32(f32(scale * f32(o + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const a = Math.min(Math.floor(src), inSize - 1);
    i0[o] = a;
    i1[o] = a + (a < inSize - 1 ? 1 : 0);
    l1[o] = Math.min(Math.max(f32(src - a), 0), 1);
  }
  return { i0, i1, l1 };
}

/** Output range `[o0, o1)` whose taps touch source indices `[s0, s1)`. */
function tapRange(t: Taps, s0: number, s1: number): [number, number] {
  const n = t.i0.length;
  let o0 = 0;
  while (o0 < n && t.i1[o0] < s0) o0++;
  let o1 = o0;
  while (o1 < n && t.i0[o1] < s1) o1++;
  return [o0, o1];
}

/**
 * Logits of detection `d` over prototype rows `[r0, r1)`, columns `[c0, c1)`, written into `win`
 * (row stride `ww`) at offset `(border, border)`.
 */
function logits(
  protos: Float32Array,
  coeffs: Float32Array,
  d: number,
  nm: number,
  mh: number,
  mw: number,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
  win: Float64Array,
  ww: number,
  border: number,
): void {
  const plane = mh * mw;
  const k = d * nm;
  // Row by row, four prototype planes per pass over the row (one window row stays in cache and is read and
  // written nm / 4 times instead of nm: about half the time of a plane-by-plane pass).
  for (let y = r0; y < r1; y++) {
    const dst = (y - r0 + border) * ww + border - c0;
    let m = 0;
    for (; m + 4 <= nm; m += 4) {
      const k0 = coeffs[k + m], k1 = coeffs[k + m + 1], k2 = coeffs[k + m + 2], k3 = coeffs[k + m + 3];
      const s0 = m * plane + y * mw, s1 = s0 + plane, s2 = s1 + plane, s3 = s2 + plane;
      for (let x = c0; x < c1; x++) {
        win[dst + x] += k0 * protos[s0 + x] + k1 * protos[s1 + x] + k2 * protos[s2 + x] + k3 * protos[s3 + x];
      }
    }
    for (; m < nm; m++) {
      const c = coeffs[k + m], src = m * plane + y * mw;
      for (let x = c0; x < c1; x++) win[dst + x] += c * protos[src + x];
    }
  }
}

/**
 * Bilinear blend over output rows `[oy0, oy1)` and columns `[ox0, ox1)` of a window whose (0, 0) is the
 * source index `(wy0, wx0)`; writes `value > 0` into `plane` (row stride `ow`).
 */
function blend(
  win: Float64Array,
  ww: number,
  tx: Taps,
  ty: Taps,
  ox0: number,
  ox1: number,
  oy0: number,
  oy1: number,
  wx0: number,
  wy0: number,
  plane: Uint8Array,
  ow: number,
): void {
  const n = ox1 - ox0;
  const xa = new Int32Array(n), xb = new Int32Array(n), xl = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xa[i] = tx.i0[ox0 + i] - wx0;
    xb[i] = tx.i1[ox0 + i] - wx0;
    xl[i] = tx.l1[ox0 + i];
  }
  // A pixel whose four taps are all > 0 (all <= 0) blends to > 0 (<= 0): its weights are >= 0 and sum to 1.
  // So per output row, count the positive taps of each window column's row pair, and blend only the pixels
  // whose two columns give 1 to 3 (the mask's edge); the rest are decided by the counts.
  const pos = new Uint8Array(win.length);
  for (let j = 0; j < win.length; j++) pos[j] = win[j] > 0 ? 1 : 0;
  const pairs = new Uint8Array(ww);
  let lastA = -1, lastB = -1;
  for (let oy = oy0; oy < oy1; oy++) {
    const ra = (ty.i0[oy] - wy0) * ww, rb = (ty.i1[oy] - wy0) * ww;
    if (ra !== lastA || rb !== lastB) {
      for (let x = 0; x < ww; x++) pairs[x] = pos[ra + x] + pos[rb + x];
      lastA = ra;
      lastB = rb;
    }
    const ly = ty.l1[oy], ky = 1 - ly;
    const dst = oy * ow + ox0;
    for (let i = 0; i < n; i++) {
      const count = pairs[xa[i]] + pairs[xb[i]];
      if (count === 0 || count === 4) {
        plane[dst + i] = count >> 2;
        continue;
      }
      const lx = xl[i], kx = 1 - lx;
      const v = (win[ra + xa[i]] * kx + win[ra + xb[i]] * lx) * ky +
        (win[rb + xa[i]] * kx + win[rb + xb[i]] * lx) * ly;
      plane[dst + i] = v > 0 ? 1 : 0;
    }
  }
}

function protoDims(protos: Protos): [number, number, number] {
  const s = protos.shape.length === 4 && protos.shape[0] === 1 ? protos.shape.slice(1) : protos.shape;
  if (s.length !== 3 || protos.data.length !== s[0] * s[1] * s[2]) {
    throw new RangeError(
      `Give prototypes as [nm, mh, mw]: got shape [${
        protos.shape.join(", ")
      }] for ${protos.data.length} values`,
    );
  }
  return [s[0], s[1], s[2]];
}

function checkDetections(coeffs: Float32Array, boxes: ArrayLike<number>, nm: number): number {
  const k = boxes.length / 4;
  if (!Number.isInteger(k) || coeffs.length !== k * nm) {
    throw new RangeError(
      `Give [k, 4] boxes and [k, ${nm}] coefficients: got ${boxes.length} box values and ${coeffs.length} coefficients`,
    );
  }
  return k;
}

function clampInt(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
