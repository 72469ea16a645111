/**
 * CPU reference of `kernels/mask_matmul.wgsl`: `y[k, p] = Σ_c w[k, c] * x[c, p]` over the same base
 * offsets, accumulated in f64.
 *
 * @module
 */
import type { MaskMatmulParams } from "../../kernels/mask_matmul.ts";

/** Buffers of a mask_matmul call; `y` is written in place, only inside `[rows, pixels]` at `yBase`. */
export interface MaskMatmulBuffers {
  /** Prototypes `[nm, pixels]` at `xBase`. */
  x: Float32Array;
  /** Coefficients `[rows, nm]` at `wBase`. */
  w: Float32Array;
  y: Float32Array;
}

/** Runs mask_matmul on the CPU, writing `buf.y` like the GPU kernel. */
export function maskMatmul(buf: MaskMatmulBuffers, p: MaskMatmulParams): void {
  for (let k = 0; k < p.rows; k++) {
    for (let px = 0; px < p.pixels; px++) {
      let s = 0;
      for (let c = 0; c < p.nm; c++) {
        s += buf.w[p.wBase + k * p.nm + c] * buf.x[p.xBase + c * p.pixels + px];
      }
      buf.y[p.yBase + k * p.pixels + px] = s;
    }
  }
}
