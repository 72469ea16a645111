/**
 * CPU reference of `kernels/to_f16.wgsl`: `y[yBase + i]` = `x[xBase + i]` rounded to f16 (nearest even),
 * for `i < count`; `y` holds the f16 values as numbers.
 *
 * @module
 */
import type { CastParam } from "../../kernels/to_f16.ts";

/** Buffers of a to_f16 call; `y` is written in place. */
export interface ToF16Buffers {
  x: Float32Array;
  y: Float32Array;
}

/** Runs to_f16 on the CPU, writing `buf.y` like the GPU kernel. */
export function toF16(buf: ToF16Buffers, p: Readonly<Record<CastParam, number>>): void {
  for (let i = 0; i < p.count; i++) buf.y[p.yBase + i] = Math.f16round(buf.x[p.xBase + i]);
}
