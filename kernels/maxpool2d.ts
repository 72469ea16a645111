/**
 * Spec of `maxpool2d.wgsl`: max pooling with a square window over NHWC views (SPPF: k 5, stride
 * 1, pad 2). One invocation per output element.
 *
 * @module
 */
import code from "./maxpool2d.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `maxpool2d.wgsl`, in order. */
export type Maxpool2dParam =
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
  | "yOff";

/** Names of the overrides of `maxpool2d.wgsl`. */
export type Maxpool2dOverride = "KSIZE" | "STRIDE" | "WG";

/** Params values of a maxpool2d dispatch. */
export type Maxpool2dParams = Record<Maxpool2dParam, number>;

/** Override values of a maxpool2d pipeline. */
export type Maxpool2dOverrides = Record<Maxpool2dOverride, number>;

/** The maxpool2d kernel: bindings x, y, params. */
export const maxpool2d: KernelSpec<Maxpool2dParam, Maxpool2dOverride> = {
  name: "maxpool2d",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<Maxpool2dParam>(
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
  ),
  overrides: { KSIZE: 5, STRIDE: 1, WG: 64 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.batch * p.outH * p.outW * p.channels, o.WG));
    return [x, y, 1];
  },
};

/** `maxpool2d` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const maxpool2dF16: typeof maxpool2d = f16Variant(maxpool2d);
