/**
 * Spec of `maxpool2d_cascade.wgsl`: SPPF's three chained max pools (window `KSIZE`, stride 1, pad
 * `KSIZE / 2`) in one dispatch, each output element the max over windows of 5, 9 and 13 (for `KSIZE` 5)
 * clipped to the map; the same values as three `maxpool2d` dispatches. One invocation per output element, or
 * with `VEC4` (entry point `main4`) per four channels of a pixel ({@linkcode maxpool2dCascadeVec4Fits}).
 *
 * @module
 */
import code from "./maxpool2d_cascade.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `maxpool2d_cascade.wgsl`, in order. */
export type Maxpool2dCascadeParam =
  | "batch"
  | "height"
  | "width"
  | "channels"
  | "xBase"
  | "xStride"
  | "xOff"
  | "y1Base"
  | "y1Stride"
  | "y1Off"
  | "y2Base"
  | "y2Stride"
  | "y2Off"
  | "y3Base"
  | "y3Stride"
  | "y3Off";

/** Names of the overrides of `maxpool2d_cascade.wgsl`. */
export type Maxpool2dCascadeOverride = "KSIZE" | "WG" | "X_IN_Y" | "VEC4";

/** Params values of a maxpool2d_cascade dispatch. */
export type Maxpool2dCascadeParams = Record<Maxpool2dCascadeParam, number>;

/**
 * The maxpool2d_cascade kernel: bindings x (a dummy with `X_IN_Y`, x's view then read through y), y (the three
 * outputs' buffer), params.
 */
export const maxpool2dCascade: KernelSpec<Maxpool2dCascadeParam, Maxpool2dCascadeOverride> = {
  name: "maxpool2d_cascade",
  code,
  bindings: [
    { name: "x", access: "read", views: ["x4"] },
    { name: "y", access: "read_write", views: ["y4"] },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<Maxpool2dCascadeParam>(
    "batch",
    "height",
    "width",
    "channels",
    "xBase",
    "xStride",
    "xOff",
    "y1Base",
    "y1Stride",
    "y1Off",
    "y2Base",
    "y2Stride",
    "y2Off",
    "y3Base",
    "y3Stride",
    "y3Off",
  ),
  overrides: { KSIZE: 5, WG: 64, X_IN_Y: 0, VEC4: 0 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.batch * p.height * p.width * (o.VEC4 ? p.channels / 4 : p.channels), o.WG));
    return [x, y, 1];
  },
  entryPoints: { main4: "VEC4" },
  validate(o) {
    if (!(Number.isInteger(o.KSIZE) && o.KSIZE >= 1 && o.KSIZE % 2 === 1)) {
      throw new RangeError(`Give maxpool2d_cascade an odd KSIZE: got ${o.KSIZE}`);
    }
  },
};

/**
 * Whether a cascade may run four channels per invocation (`VEC4`): channels and every base, channel stride
 * and offset multiples of 4.
 *
 * @param p The dispatch's Params.
 * @returns True when `VEC4` applies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxpool2dCascadeVec4Fits } from "./maxpool2d_cascade.ts";
 * const view = { xBase: 0, xStride: 512, xOff: 0, y1Base: 0, y1Stride: 512, y1Off: 128, y2Base: 0, y2Stride: 512 };
 * const p = { ...view, y2Off: 256, y3Base: 0, y3Stride: 512, y3Off: 384, batch: 1, height: 20, width: 20, channels: 128 };
 * assert.equal(maxpool2dCascadeVec4Fits(p), true);
 * assert.equal(maxpool2dCascadeVec4Fits({ ...p, channels: 126 }), false);
 * ```
 */
export function maxpool2dCascadeVec4Fits(p: Readonly<Maxpool2dCascadeParams>): boolean {
  const { batch: _, height: __, width: ___, ...fields } = p;
  return Object.values(fields).every((v) => v % 4 === 0);
}

/** `maxpool2d_cascade` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const maxpool2dCascadeF16: typeof maxpool2dCascade = f16Variant(maxpool2dCascade);
