/**
 * Spec of `conv2d_splitk_reduce.wgsl`: sums a split-K conv2d's partial sums and applies its epilogue (bias,
 * SiLU, residual, the store into y's view). One invocation per output element.
 *
 * @module
 */
import code from "./conv2d_splitk_reduce.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `conv2d_splitk_reduce.wgsl`, in order. */
export type Conv2dSplitkReduceParam =
  | "batch"
  | "outH"
  | "outW"
  | "outC"
  | "yBase"
  | "yStride"
  | "yOff"
  | "rBase"
  | "rStride"
  | "rOff";

/** Names of the overrides of `conv2d_splitk_reduce.wgsl`. */
export type Conv2dSplitkReduceOverride =
  | "KSPLIT"
  | "ACT"
  | "RESIDUAL"
  | "OUT_NCHW"
  | "WG"
  | "UP_R"
  | "R_IN_Y";

/**
 * The reduce kernel: bindings p (f32 partial sums), b, r (residual, or conv2d's upsampled copy with `UP_R` > 0;
 * a dummy when neither or with `R_IN_Y`, r's view then read through y), y, params.
 */
export const conv2dSplitkReduce: KernelSpec<Conv2dSplitkReduceParam, Conv2dSplitkReduceOverride> = {
  name: "conv2d_splitk_reduce",
  code,
  bindings: [
    { name: "p", access: "read", f32: true },
    { name: "b", access: "read" },
    { name: "r", access: "read_write" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<Conv2dSplitkReduceParam>(
    "batch",
    "outH",
    "outW",
    "outC",
    "yBase",
    "yStride",
    "yOff",
    "rBase",
    "rStride",
    "rOff",
  ),
  overrides: { KSPLIT: 2, ACT: 0, RESIDUAL: 0, OUT_NCHW: 0, WG: 256, UP_R: 0, R_IN_Y: 0 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.batch * p.outH * p.outW * p.outC, o.WG));
    return [x, y, 1];
  },
  validate(o) {
    if (!(Number.isInteger(o.KSPLIT) && o.KSPLIT >= 1)) {
      throw new RangeError(`Give conv2d_splitk_reduce a whole KSPLIT >= 1: got ${o.KSPLIT}`);
    }
    if (!(Number.isInteger(o.UP_R) && o.UP_R >= 0) || (o.UP_R > 0 && o.RESIDUAL)) {
      throw new RangeError(
        `Give conv2d_splitk_reduce a whole UP_R >= 0, and no RESIDUAL with UP_R > 0: got ${o.UP_R}`,
      );
    }
  },
};

/** `conv2d_splitk_reduce` with f16 bias, residual and output (partial sums stay f32). */
export const conv2dSplitkReduceF16: typeof conv2dSplitkReduce = f16Variant(conv2dSplitkReduce);
