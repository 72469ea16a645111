/**
 * Spec of `conv_transpose2d.wgsl`: PyTorch `ConvTranspose2d(cin, cout, k, stride=k, padding=0)`
 * with bias (Ultralytics Proto's upsample, k = 2) over NHWC views:
 * `y[b, i*k + di, j*k + dj, co] = bias[co] + Σ_ci x[b, i, j, ci] * w[ci, co, di, dj]`, i.e. one GEMM
 * `[pixels, cin] x [cin, k*k*cout]` whose columns scatter to the k x k output block of each pixel.
 *
 * Tiling as conv2d: a workgroup of `WG_M * WG_N` invocations computes `4 * WG_M` input pixels by
 * `4 * WG_N` GEMM columns, `BK` input channels per step, a 4 x 4 register tile per invocation.
 *
 * @module
 */
import code from "./conv_transpose2d.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, u32Params } from "./_spec.ts";
import { type Conv2dTile, conv2dTile } from "./conv2d.ts";

/** Names of the `Params` fields of `conv_transpose2d.wgsl`, in order. */
export type ConvTranspose2dParam =
  | "batch"
  | "inH"
  | "inW"
  | "inC"
  | "outC"
  | "xBase"
  | "xStride"
  | "xOff"
  | "yBase"
  | "yStride"
  | "yOff";

/** Names of the overrides of `conv_transpose2d.wgsl`. */
export type ConvTranspose2dOverride = "KSIZE" | "WG_M" | "WG_N" | "BK";

/** Params values of a conv_transpose2d dispatch; the output map is `inH * KSIZE` x `inW * KSIZE`. */
export type ConvTranspose2dParams = Record<ConvTranspose2dParam, number>;

/** Override values of a conv_transpose2d pipeline. */
export type ConvTranspose2dOverrides = Record<ConvTranspose2dOverride, number>;

/** The conv_transpose2d kernel: bindings x, w (packed), b, y, params. */
export const convTranspose2d: KernelSpec<ConvTranspose2dParam, ConvTranspose2dOverride> = {
  name: "conv_transpose2d",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "w", access: "read" },
    { name: "b", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<ConvTranspose2dParam>(
    "batch",
    "inH",
    "inW",
    "inC",
    "outC",
    "xBase",
    "xStride",
    "xOff",
    "yBase",
    "yStride",
    "yOff",
  ),
  overrides: { KSIZE: 2, WG_M: 16, WG_N: 16, BK: 16 },
  dispatch(p, o) {
    const [x, z] = fold(ceilDiv(p.batch * p.inH * p.inW, 4 * o.WG_M));
    return [x, ceilDiv(o.KSIZE * o.KSIZE * ceilDiv(p.outC, 4), o.WG_N), z];
  },
  validate(o) {
    const nt = o.WG_M * o.WG_N;
    if (!(o.KSIZE >= 1 && o.BK >= 1 && nt >= 1)) {
      throw new RangeError(`Give conv_transpose2d positive KSIZE, BK, WG_M and WG_N`);
    }
    if (nt % o.BK !== 0) {
      throw new RangeError(`Make conv_transpose2d WG_M * WG_N a multiple of BK: ${nt} and ${o.BK}`);
    }
  },
};

/**
 * Picks the conv_transpose2d tile: conv2d's choice ({@linkcode conv2dTile}) for a GEMM with
 * `k * k * ceil(cout / 4) * 4` columns over the input pixels.
 *
 * @param cout Output channels.
 * @param k Kernel size (== stride).
 * @param pixels Input pixels (`batch * inH * inW`). @default {Infinity}
 * @returns The `WG_M`, `WG_N`, `BK` overrides.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convTranspose2dTile } from "./conv_transpose2d.ts";
 * assert.deepEqual(convTranspose2dTile(64, 2), { WG_M: 16, WG_N: 16, BK: 16 });
 * ```
 */
export function convTranspose2dTile(
  cout: number,
  k: number,
  pixels = Infinity,
  targetWorkgroups?: number,
): Conv2dTile {
  return conv2dTile(k * k * ceilDiv(cout, 4) * 4, pixels, 1, targetWorkgroups);
}

/**
 * Repacks PyTorch ConvTranspose2d weights `[cin, cout, k, k]` into the GPU layout
 * `[ci][di * k + dj][ceil(cout / 4) * 4]`: one GEMM row per input channel, its columns grouped by
 * tap, each tap's output channels zero-padded to whole vec4s.
 *
 * @param w Weights in PyTorch order.
 * @param shape `[cin, cout, kh, kw]` with `kh == kw`.
 * @returns The packed weights.
 * @throws {RangeError} When the shape does not match `w` or the kernel is not square.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packConvTranspose2dWeight } from "./conv_transpose2d.ts";
 * // cin 1, cout 2, k 1: one row, one tap, padded to a vec4.
 * assert.deepEqual([...packConvTranspose2dWeight(new Float32Array([5, 7]), [1, 2, 1, 1])], [5, 7, 0, 0]);
 * ```
 */
export function packConvTranspose2dWeight(
  w: Float32Array,
  shape: readonly [number, number, number, number],
): Float32Array {
  const [cin, cout, kh, kw] = shape;
  if (kh !== kw) throw new RangeError(`Use a square conv_transpose2d kernel: got ${kh}x${kw}`);
  if (w.length !== cin * cout * kh * kw) {
    throw new RangeError(
      `Give conv_transpose2d weights of shape [${shape.join(", ")}]: got ${w.length} values`,
    );
  }
  const taps = kh * kw;
  const row = ceilDiv(cout, 4) * 4;
  const out = new Float32Array(cin * taps * row);
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) {
      for (let t = 0; t < taps; t++) {
        out[(ci * taps + t) * row + co] = w[(ci * cout + co) * taps + t];
      }
    }
  }
  return out;
}

/** `convTranspose2d` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const convTranspose2dF16: typeof convTranspose2d = f16Variant(convTranspose2d);
