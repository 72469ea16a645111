/**
 * Spec of `mask_matmul.wgsl`: mask logits of the selected detections of one image,
 * `y[k, p] = Σ_c w[k, c] * x[c, p]` with `w` the coefficients `[rows, nm]`, `x` that image's
 * prototypes `[nm, pixels]` (NCHW, a base offset into `output1`) and `y` `[rows, pixels]`, all row-major.
 *
 * Tiled GEMM: a workgroup of `WG_M * WG_N` invocations computes `4 * WG_M` rows by `4 * WG_N` pixels,
 * `BK` coefficients per step, a 4 x 4 register tile per invocation.
 *
 * @module
 */
import code from "./mask_matmul.wgsl" with { type: "text" };
import { ceilDiv, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `mask_matmul.wgsl`, in order. */
export type MaskMatmulParam = "rows" | "pixels" | "nm" | "xBase" | "wBase" | "yBase";

/** Names of the overrides of `mask_matmul.wgsl`. */
export type MaskMatmulOverride = "WG_M" | "WG_N" | "BK";

/** Params values of a mask_matmul dispatch: `rows` detections, `pixels` = prototype `h * w`. */
export type MaskMatmulParams = Record<MaskMatmulParam, number>;

/** Override values of a mask_matmul pipeline. */
export type MaskMatmulOverrides = Record<MaskMatmulOverride, number>;

/** The mask_matmul kernel: bindings x (prototypes), w (coefficients), y (mask logits), params. */
export const maskMatmul: KernelSpec<MaskMatmulParam, MaskMatmulOverride> = {
  name: "mask_matmul",
  code,
  bindings: [
    { name: "x", access: "read", shared: true },
    { name: "w", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<MaskMatmulParam>("rows", "pixels", "nm", "xBase", "wBase", "yBase"),
  overrides: { WG_M: 8, WG_N: 16, BK: 32 },
  dispatch(p, o) {
    const [x, z] = fold(ceilDiv(p.pixels, 4 * o.WG_N));
    return [x, ceilDiv(p.rows, 4 * o.WG_M), z];
  },
  validate(o) {
    if (!(o.WG_M >= 1 && o.WG_N >= 1 && o.BK >= 1)) {
      throw new RangeError(`Give mask_matmul positive WG_M, WG_N and BK`);
    }
  },
};
