/**
 * Spec of `detect.wgsl`: Ultralytics Detect / Segment inference decode into `output0`
 * `[batch, 4 + nc + nm, A]` (the ONNX export's layout). Per anchor (levels in order, `a = y*w + x`):
 * DFL `d_side = Σ_i i * softmax(bins)_i`, `x1y1 = (x+.5, y+.5) - (l, t)`, `x2y2 = (x+.5, y+.5) + (r, b)`,
 * channels `(cx, cy, w, h) * stride`, then `sigmoid(class logits)`, then the mask coefficients raw.
 *
 * Input: one buffer with each level (up to 4) an NHWC tensor of `4 * REG_MAX + nc + nm` channels
 * `[box | cls | coeff]` at its own base. One invocation per (image, output job, anchor).
 *
 * @module
 */
import code from "./detect.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** The most feature levels one dispatch decodes. */
export const DETECT_MAX_LEVELS = 4;

/** Names of the `Params` fields of `detect.wgsl`, in order. */
export type DetectParam =
  | "batch"
  | "nc"
  | "nm"
  | "nLevels"
  | "yBase"
  | `${"xBase" | "h" | "w" | "stride"}${0 | 1 | 2 | 3}`;

/** Names of the overrides of `detect.wgsl`. */
export type DetectOverride = "REG_MAX" | "WG" | "JOBS" | "PART";

/** Params values of a detect dispatch; fields of levels past `nLevels` are ignored (give 0). */
export type DetectParams = Record<DetectParam, number>;

/** Override values of a detect pipeline. */
export type DetectOverrides = Record<DetectOverride, number>;

/** One feature level of the head: its base offset in `x`, its map size and its stride in pixels. */
export interface DetectLevel {
  xBase: number;
  h: number;
  w: number;
  stride: number;
}

/** The detect kernel: bindings x (all levels), y (`output0`), params. */
export const detect: KernelSpec<DetectParam, DetectOverride> = {
  name: "detect",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<DetectParam>(
    "batch",
    "nc",
    "nm",
    "nLevels",
    "yBase",
    ...[0, 1, 2, 3].flatMap((l) => [`xBase${l}`, `h${l}`, `w${l}`, `stride${l}`] as DetectParam[]),
  ),
  overrides: { REG_MAX: 16, WG: 64, JOBS: 1, PART: 0 },
  dispatch(p, o) {
    const jobs = o.PART === 1 ? 2 : o.PART === 2 ? p.nc + p.nm : 2 + p.nc + p.nm;
    const [x, y] = fold(ceilDiv(p.batch * ceilDiv(jobs, o.JOBS) * detectAnchors(p), o.WG));
    return [x, y, 1];
  },
  validate(o) {
    if (!(o.PART === 0 || o.PART === 1 || o.PART === 2)) {
      throw new RangeError(`Set detect PART to 0 (all jobs), 1 (box axes) or 2 (channels): got ${o.PART}`);
    }
  },
};

/**
 * The anchor count `A = Σ h_l * w_l` over the first `nLevels` levels of detect Params.
 *
 * @param p Detect Params values.
 * @returns The number of anchors.
 */
export function detectAnchors(p: Readonly<DetectParams>): number {
  let a = 0;
  for (let l = 0; l < Math.min(p.nLevels, DETECT_MAX_LEVELS); l++) {
    a += p[`h${l}` as DetectParam] * p[`w${l}` as DetectParam];
  }
  return a;
}

/**
 * Detect Params from the head's levels, unused level fields set to 0.
 *
 * @param batch Images.
 * @param nc Classes.
 * @param nm Mask coefficients (0 for a detection-only head).
 * @param levels 1 to 4 levels in anchor order (YOLO: strides 8, 16, 32).
 * @param yBase Base offset of `output0` in `y`. @default {0}
 * @returns The Params values.
 * @throws {RangeError} For no levels or more than {@linkcode DETECT_MAX_LEVELS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectAnchors, detectParams } from "./detect.ts";
 * const p = detectParams(1, 80, 32, [
 *   { xBase: 0, h: 80, w: 80, stride: 8 },
 *   { xBase: 80 * 80 * 176, h: 40, w: 40, stride: 16 },
 *   { xBase: (80 * 80 + 40 * 40) * 176, h: 20, w: 20, stride: 32 },
 * ]);
 * assert.equal(detectAnchors(p), 8400);
 * assert.equal(p.stride3, 0);
 * ```
 */
export function detectParams(
  batch: number,
  nc: number,
  nm: number,
  levels: readonly DetectLevel[],
  yBase = 0,
): DetectParams {
  if (levels.length < 1 || levels.length > DETECT_MAX_LEVELS) {
    throw new RangeError(`Give detect 1 to ${DETECT_MAX_LEVELS} levels: got ${levels.length}`);
  }
  const p: Record<string, number> = { batch, nc, nm, nLevels: levels.length, yBase };
  for (let l = 0; l < DETECT_MAX_LEVELS; l++) {
    const lv = levels[l] ?? { xBase: 0, h: 0, w: 0, stride: 0 };
    Object.assign(p, {
      [`xBase${l}`]: lv.xBase,
      [`h${l}`]: lv.h,
      [`w${l}`]: lv.w,
      [`stride${l}`]: lv.stride,
    });
  }
  return p as DetectParams;
}

/** `detect` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const detectF16: typeof detect = f16Variant(detect);
