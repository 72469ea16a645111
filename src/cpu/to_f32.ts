/**
 * CPU reference of `kernels/to_f32.wgsl`: `y[yBase + i]` = `x[xBase + i]` for `i < count`, `x` holding f16
 * values (widening f16 to f32 is exact).
 *
 * @module
 */
import type { CastParam } from "../../kernels/to_f32.ts";

/** Buffers of a to_f32 call; `y` is written in place. */
export interface ToF32Buffers {
  x: Float32Array;
  y: Float32Array;
}

/** Runs to_f32 on the CPU, writing `buf.y` like the GPU kernel. */
export function toF32(buf: ToF32Buffers, p: Readonly<Record<CastParam, number>>): void {
  for (let i = 0; i < p.count; i++) buf.y[p.yBase + i] = buf.x[p.xBase + i];
}
