/**
 * Spec of `upsample_nearest.wgsl`: nearest-neighbour upsampling by an integer `SCALE` (default 2)
 * over NHWC views. One invocation per output element.
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
export type UpsampleNearestOverride = "SCALE" | "WG";

/** Params values of an upsample_nearest dispatch (output size is the input size x `SCALE`). */
export type UpsampleNearestParams = Record<UpsampleNearestParam, number>;

/** Override values of an upsample_nearest pipeline. */
export type UpsampleNearestOverrides = Record<UpsampleNearestOverride, number>;

/** The upsample_nearest kernel: bindings x, y, params. */
export const upsampleNearest: KernelSpec<UpsampleNearestParam, UpsampleNearestOverride> = {
  name: "upsample_nearest",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "y", access: "read_write" },
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
  overrides: { SCALE: 2, WG: 64 },
  dispatch(p, o) {
    const elements = p.batch * p.inH * o.SCALE * p.inW * o.SCALE * p.channels;
    const [x, y] = fold(ceilDiv(elements, o.WG));
    return [x, y, 1];
  },
};

/** `upsampleNearest` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const upsampleNearestF16: typeof upsampleNearest = f16Variant(upsampleNearest);
