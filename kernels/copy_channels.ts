/**
 * Spec of `copy_channels.wgsl`: copies one view into another of the same shape, optionally
 * converting layout (`IN_NCHW`, `OUT_NCHW`). One invocation per element.
 *
 * @module
 */
import code from "./copy_channels.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `copy_channels.wgsl`, in order. */
export type CopyChannelsParam =
  | "batch"
  | "height"
  | "width"
  | "channels"
  | "xBase"
  | "xStride"
  | "xOff"
  | "yBase"
  | "yStride"
  | "yOff";

/** Names of the overrides of `copy_channels.wgsl`. */
export type CopyChannelsOverride = "IN_NCHW" | "OUT_NCHW" | "WG";

/** Params values of a copy_channels dispatch. */
export type CopyChannelsParams = Record<CopyChannelsParam, number>;

/** Override values of a copy_channels pipeline (booleans as 0/1). */
export type CopyChannelsOverrides = Record<CopyChannelsOverride, number>;

/** The copy_channels kernel: bindings x, y, params. */
export const copyChannels: KernelSpec<CopyChannelsParam, CopyChannelsOverride> = {
  name: "copy_channels",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<CopyChannelsParam>(
    "batch",
    "height",
    "width",
    "channels",
    "xBase",
    "xStride",
    "xOff",
    "yBase",
    "yStride",
    "yOff",
  ),
  overrides: { IN_NCHW: 0, OUT_NCHW: 0, WG: 64 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.batch * p.height * p.width * p.channels, o.WG));
    return [x, y, 1];
  },
};

/** `copyChannels` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const copyChannelsF16: typeof copyChannels = f16Variant(copyChannels);
