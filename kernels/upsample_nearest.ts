/**
 * Spec of `upsample_nearest.wgsl`: nearest-neighbour upsampling by an integer `SCALE` (default 2)
 * over NHWC views. One invocation per output element, or with `VEC4` (entry point `main4`) one per four
 * channels of an input pixel ({@linkcode upsampleNearestVec4Fits}).
 *
 * @module
 */
import code from "./upsample_nearest.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `upsample_nearest.wgsl`, in order. */
export type UpsampleNearestParam =
  | "batch"
  | "inH"
  | "inW"
  | "channels"
  | "xBase"
  | "xStride"
  | "xOff"
  | "yBase"
  | "yStride"
  | "yOff";

/** Names of the overrides of `upsample_nearest.wgsl`. */
export type UpsampleNearestOverride = "SCALE" | "WG" | "VEC4";

/** Params values of an upsample_nearest dispatch (output size is the input size x `SCALE`). */
export type UpsampleNearestParams = Record<UpsampleNearestParam, number>;

/** Override values of an upsample_nearest pipeline. */
export type UpsampleNearestOverrides = Record<UpsampleNearestOverride, number>;

/** The upsample_nearest kernel: bindings x, y, params. */
export const upsampleNearest: KernelSpec<UpsampleNearestParam, UpsampleNearestOverride> = {
  name: "upsample_nearest",
  code,
  bindings: [
    { name: "x", access: "read", views: ["x4"] },
    { name: "y", access: "read_write", views: ["y4"] },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<UpsampleNearestParam>(
    "batch",
    "inH",
    "inW",
    "channels",
    "xBase",
    "xStride",
    "xOff",
    "yBase",
    "yStride",
    "yOff",
  ),
  overrides: { SCALE: 2, WG: 64, VEC4: 0 },
  dispatch(p, o) {
    const invocations = o.VEC4
      ? p.batch * p.inH * p.inW * (p.channels / 4)
      : p.batch * p.inH * o.SCALE * p.inW * o.SCALE * p.channels;
    const [x, y] = fold(ceilDiv(invocations, o.WG));
    return [x, y, 1];
  },
  entryPoints: { main4: "VEC4" },
};

/**
 * Whether an upsample may run four channels per invocation (`VEC4`): channels, bases, channel strides
 * and offsets all multiples of 4.
 *
 * @param p The dispatch's Params.
 * @returns True when `VEC4` applies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upsampleNearestVec4Fits } from "./upsample_nearest.ts";
 * const p = { batch: 1, inH: 20, inW: 20, channels: 256, xBase: 0, xStride: 256, xOff: 0, yBase: 64, yStride: 384, yOff: 0 };
 * assert.equal(upsampleNearestVec4Fits(p), true);
 * assert.equal(upsampleNearestVec4Fits({ ...p, yOff: 6 }), false);
 * ```
 */
export function upsampleNearestVec4Fits(p: Readonly<UpsampleNearestParams>): boolean {
  return [p.channels, p.xBase, p.xStride, p.xOff, p.yBase, p.yStride, p.yOff].every((v) => v % 4 === 0);
}

/** `upsampleNearest` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const upsampleNearestF16: typeof upsampleNearest = f16Variant(upsampleNearest);
