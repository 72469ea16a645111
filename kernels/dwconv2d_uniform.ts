/**
 * Spec of `dwconv2d_uniform.wgsl`: depthwise convolution (groups == channels, square kernel up to
 * 3x3) for CPU-backed adapters (lavapipe, SwiftShader), where invocations are SIMD lanes: a
 * workgroup per vec4 of channels (workgroup z), `TM` neighbouring pixels of a row per invocation,
 * weights and bias read from a 64 KiB uniform window at lane-invariant addresses (a per-lane gather on
 * lavapipe, cheaper than a storage load's lane loop). Same Params, views and results as `dwconv2d.wgsl`, whose CPU reference
 * it shares.
 *
 * @module
 */
import code from "./dwconv2d_uniform.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, MAX_WORKGROUPS_PER_DIMENSION } from "./_spec.ts";
import { dwconv2d, type Dwconv2dParam, type Dwconv2dParams, packDwconv2dWeight } from "./dwconv2d.ts";

/** Names of the overrides of `dwconv2d_uniform.wgsl`. */
export type Dwconv2dUniformOverride = "ACT" | "KSIZE" | "STRIDE" | "RESIDUAL" | "TM" | "WG" | "VEC4";

/** Override values of a dwconv2d_uniform pipeline. */
export type Dwconv2dUniformOverrides = Record<Dwconv2dUniformOverride, number>;

/** Floats in the weight window: the 64 KiB uniform binding `w`. */
const WINDOW = 16384;

/** The dwconv2d_uniform kernel: bindings x, w (uniform window: weights and bias), r (dummy when off), y, params. */
export const dwconv2dUniform: KernelSpec<Dwconv2dParam, Dwconv2dUniformOverride> = {
  name: "dwconv2d_uniform",
  code,
  bindings: [
    { name: "x", access: "read", views: ["x4"] },
    { name: "w", access: "uniform" },
    { name: "r", access: "read", views: ["r4"] },
    { name: "y", access: "read_write", views: ["y4"] },
    { name: "params", access: "uniform" },
  ],
  params: dwconv2d.params,
  overrides: { ACT: 0, KSIZE: 3, STRIDE: 1, RESIDUAL: 0, TM: 4, WG: 64, VEC4: 0 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.batch * p.outH * ceilDiv(p.outW, o.TM), o.WG));
    const c4s = ceilDiv(p.channels, 4);
    if (c4s > MAX_WORKGROUPS_PER_DIMENSION) {
      throw new RangeError(`Use dwconv2d for more than ${4 * MAX_WORKGROUPS_PER_DIMENSION} channels`);
    }
    return [x, y, c4s];
  },
  entryPoints: { main4: "VEC4" },
  validate(o) {
    if (!(o.ACT === 0 || o.ACT === 1)) {
      throw new RangeError(`Set dwconv2d_uniform ACT to 0 (none) or 1 (SiLU): got ${o.ACT}`);
    }
    if (!(o.KSIZE >= 1 && o.KSIZE <= 3 && o.STRIDE >= 1 && o.TM >= 1 && o.TM <= 4)) {
      throw new RangeError(
        `Give dwconv2d_uniform KSIZE 1..3, TM 1..4 and a positive STRIDE: got KSIZE ${o.KSIZE}, TM ${o.TM}`,
      );
    }
  },
};

/**
 * Whether a dwconv2d_uniform dispatch can run its `VEC4` entry point (`main4`: a column's four
 * channels one vec4 load, a pixel's four outputs one vec4 store): the channel count and the views'
 * bases, strides and offsets (the residual's too, where there is one) are multiples of 4. On lavapipe
 * at 640x640 YOLO11n-seg's seven depthwise convs (Segment's cv3 heads, C2PSA's positional conv) took
 * 7.0 ms per forward with it against 11.7 (median of 5 profiles each).
 *
 * @param p The dispatch's Params.
 * @param residual Whether it adds a residual.
 * @returns True when `VEC4` may be set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dwconv2dUniformVec4Fits } from "./dwconv2d_uniform.ts";
 * const p = { channels: 64, xBase: 0, xStride: 64, xOff: 0, yBase: 256, yStride: 128, yOff: 64, rBase: 0, rStride: 6, rOff: 0 };
 * assert.equal(dwconv2dUniformVec4Fits(p, false), true);
 * assert.equal(dwconv2dUniformVec4Fits(p, true), false); // the residual's stride
 * assert.equal(dwconv2dUniformVec4Fits({ ...p, channels: 62 }, false), false);
 * ```
 */
export function dwconv2dUniformVec4Fits(
  p: Readonly<Pick<Dwconv2dParams, "channels" | `${"x" | "y" | "r"}${"Base" | "Stride" | "Off"}`>>,
  residual: boolean,
): boolean {
  const four = (...v: number[]) => v.every((n) => n % 4 === 0);
  return four(p.channels, p.xBase, p.xStride, p.xOff, p.yBase, p.yStride, p.yOff) &&
    (!residual || four(p.rBase, p.rStride, p.rOff));
}

/**
 * Whether a depthwise conv's weights and bias fit the uniform window: `k * k + 1` rows of
 * `ceil(channels / 4)` vec4s in 64 KiB, for a kernel of at most 3x3.
 *
 * @param channels Channels.
 * @param k Kernel size.
 * @returns True when dwconv2d_uniform can run it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dwconv2dUniformFits } from "./dwconv2d_uniform.ts";
 * assert.equal(dwconv2dUniformFits(256, 3), true);
 * assert.equal(dwconv2dUniformFits(1640, 3), false);
 * assert.equal(dwconv2dUniformFits(16, 5), false);
 * ```
 */
export function dwconv2dUniformFits(channels: number, k: number): boolean {
  return k <= 3 && (k * k + 1) * ceilDiv(channels, 4) * 4 <= WINDOW;
}

/**
 * Packs PyTorch depthwise weights `[c, 1, k, k]` and the bias for dwconv2d_uniform:
 * `[ky * k + kx][ceil(c / 4) * 4]` (channel-fastest, zero-padded to whole vec4s), then the bias row,
 * then zeros to the 64 KiB window.
 *
 * @param w Weights in PyTorch order.
 * @param shape `[c, 1, k, k]`.
 * @param bias The bias (`c` values).
 * @returns The packed window.
 * @throws {RangeError} When the shapes do not match, or the weights do not fit the window.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packDwconv2dUniformWeight } from "./dwconv2d_uniform.ts";
 * const packed = packDwconv2dUniformWeight(new Float32Array([1, 2]), [2, 1, 1, 1], new Float32Array([3, 4]));
 * assert.deepEqual([...packed.subarray(0, 8)], [1, 2, 0, 0, 3, 4, 0, 0]);
 * assert.equal(packed.length, 16384);
 * ```
 */
export function packDwconv2dUniformWeight(
  w: Float32Array,
  shape: readonly [number, number, number, number],
  bias: Float32Array,
): Float32Array {
  const [c, , k] = shape;
  if (bias.length !== c) throw new RangeError(`Give a dwconv2d bias of ${c} values: got ${bias.length}`);
  if (!dwconv2dUniformFits(c, k)) {
    throw new RangeError(`Use dwconv2d for ${c} channels of ${k}x${k}: they overflow the 64 KiB window`);
  }
  const out = new Float32Array(WINDOW);
  out.set(packDwconv2dWeight(w, shape));
  out.set(bias, k * k * ceilDiv(c, 4) * 4);
  return out;
}

/** `dwconv2dUniform` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const dwconv2dUniformF16: typeof dwconv2dUniform = f16Variant(dwconv2dUniform);
