/**
 * Spec of `to_f32.wgsl`: widens f16 values to f32 (f16 `x` → f32 `y`), one invocation per element. Needs `shader-f16`:
 * the executor runs it only in half mode.
 *
 * @module
 */
import code from "./to_f32.wgsl" with { type: "text" };
import { ceilDiv, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `to_f32.wgsl`, in order. */
export type CastParam = "count" | "xBase" | "yBase";

/** The to_f32 kernel: bindings x, y, params. */
export const toF32: KernelSpec<CastParam, "WG"> = {
  name: "to_f32",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  f16: ["x"],
  params: u32Params<CastParam>("count", "xBase", "yBase"),
  overrides: { WG: 64 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.count, o.WG));
    return [x, y, 1];
  },
};
