/**
 * Spec of `dwconv2d.wgsl`: depthwise convolution (groups == channels), square kernel, any stride
 * and padding, bias, optional SiLU and an optional residual (`RESIDUAL`, added after the activation), over
 * NHWC views. One invocation computes one pixel x 4
 * channels; faster than conv2d's GEMM tiling, which would waste a 4-wide channel tile per group.
 *
 * @module
 */
import code from "./dwconv2d.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `dwconv2d.wgsl`, in order. */
export type Dwconv2dParam =
  | "batch"
  | "inH"
  | "inW"
  | "channels"
  | "outH"
  | "outW"
  | "pad"
  | "xBase"
  | "xStride"
  | "xOff"
  | "yBase"
  | "yStride"
  | "yOff"
  | "rBase"
  | "rStride"
  | "rOff";

/** Names of the overrides of `dwconv2d.wgsl`. */
export type Dwconv2dOverride = "ACT" | "KSIZE" | "STRIDE" | "RESIDUAL" | "WG";

/** Params values of a dwconv2d dispatch. */
export type Dwconv2dParams = Record<Dwconv2dParam, number>;

/** Override values of a dwconv2d pipeline. */
export type Dwconv2dOverrides = Record<Dwconv2dOverride, number>;

/** The dwconv2d kernel: bindings x, w (packed), b, r (residual; a dummy when off), y, params. */
export const dwconv2d: KernelSpec<Dwconv2dParam, Dwconv2dOverride> = {
  name: "dwconv2d",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "w", access: "read" },
    { name: "b", access: "read" },
    { name: "r", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<Dwconv2dParam>(
    "batch",
    "inH",
    "inW",
    "channels",
    "outH",
    "outW",
    "pad",
    "xBase",
    "xStride",
    "xOff",
    "yBase",
    "yStride",
    "yOff",
    "rBase",
    "rStride",
    "rOff",
  ),
  overrides: { ACT: 0, KSIZE: 3, STRIDE: 1, RESIDUAL: 0, WG: 64 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.batch * p.outH * p.outW * ceilDiv(p.channels, 4), o.WG));
    return [x, y, 1];
  },
  validate(o) {
    if (!(o.ACT === 0 || o.ACT === 1)) {
      throw new RangeError(`Set dwconv2d ACT to 0 (none) or 1 (SiLU): got ${o.ACT}`);
    }
  },
};

/**
 * Repacks PyTorch depthwise weights `[c, 1, k, k]` into `[ky * k + kx][ceil(c / 4) * 4]`
 * (channel-fastest, zero-padded to whole vec4s).
 *
 * @param w Weights in PyTorch order.
 * @param shape `[c, 1, k, k]`.
 * @returns The packed weights.
 * @throws {RangeError} When the shape does not match `w`, is not depthwise, or is not square.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packDwconv2dWeight } from "./dwconv2d.ts";
 * const packed = packDwconv2dWeight(new Float32Array([1, 2]), [2, 1, 1, 1]);
 * assert.deepEqual([...packed], [1, 2, 0, 0]);
 * ```
 */
export function packDwconv2dWeight(
  w: Float32Array,
  shape: readonly [number, number, number, number],
): Float32Array {
  const [c, one, kh, kw] = shape;
  if (one !== 1) throw new RangeError(`Give depthwise weights [c, 1, k, k]: got [${shape.join(", ")}]`);
  if (kh !== kw) throw new RangeError(`Use a square dwconv2d kernel: got ${kh}x${kw}`);
  if (w.length !== c * kh * kw) {
    throw new RangeError(`Give dwconv2d weights of shape [${shape.join(", ")}]: got ${w.length} values`);
  }
  const row = ceilDiv(c, 4) * 4;
  const out = new Float32Array(kh * kw * row);
  for (let ch = 0; ch < c; ch++) {
    for (let t = 0; t < kh * kw; t++) out[t * row + ch] = w[ch * kh * kw + t];
  }
  return out;
}

/** `dwconv2d` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const dwconv2dF16: typeof dwconv2d = f16Variant(dwconv2d);
