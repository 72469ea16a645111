/**
 * CPU reference of `kernels/dwconv2d_uniform.wgsl`: the same depthwise convolution as
 * `dwconv2d.wgsl` (only the GPU mapping and weight layout differ), so it runs the dwconv2d
 * reference: weights in PyTorch order `[c, 1, k, k]`, accumulated in f64.
 *
 * @module
 */
import type { Dwconv2dParams } from "../../kernels/dwconv2d.ts";
import type { Dwconv2dUniformOverrides } from "../../kernels/dwconv2d_uniform.ts";
import { dwconv2d, type Dwconv2dBuffers } from "./dwconv2d.ts";

/** Runs dwconv2d_uniform on the CPU, writing `buf.y` like the GPU kernel (`TM` and `WG` are ignored). */
export function dwconv2dUniform(
  buf: Dwconv2dBuffers,
  p: Dwconv2dParams,
  o: Partial<Dwconv2dUniformOverrides> = {},
): void {
  dwconv2d(buf, p, { ACT: o.ACT, KSIZE: o.KSIZE, STRIDE: o.STRIDE, RESIDUAL: o.RESIDUAL });
}
