/**
 * CPU reference of `kernels/conv2d_splitk_reduce.wgsl`: the sum of a split-K conv2d's partial sums plus
 * bias, SiLU and residual, stored into y's view (and with `UP_R` upsampled into r's). Accumulated in f64.
 *
 * @module
 */
import type {
  Conv2dSplitkReduceOverride,
  Conv2dSplitkReduceParam,
} from "../../kernels/conv2d_splitk_reduce.ts";
import { nchwIndex, nhwcIndex, silu, storeUpsampled } from "./_view.ts";

/** Buffers of a reduce call: partial sums `[KSPLIT][pixels][outC]`, bias, residual, y (written in place). */
export interface Conv2dSplitkReduceBuffers {
  p: Float32Array;
  b: Float32Array;
  r?: Float32Array;
  y: Float32Array;
}

/** Runs conv2d_splitk_reduce on the CPU (`WG` is ignored). */
export function conv2dSplitkReduce(
  buf: Conv2dSplitkReduceBuffers,
  p: Record<Conv2dSplitkReduceParam, number>,
  o: Partial<Record<Conv2dSplitkReduceOverride, number>> = {},
): void {
  const slices = o.KSPLIT ?? 2;
  const yAt = o.OUT_NCHW ? nchwIndex : nhwcIndex;
  const pixels = p.batch * p.outH * p.outW;
  for (let m = 0; m < pixels; m++) {
    const ox = m % p.outW, oy = Math.floor(m / p.outW) % p.outH, n = Math.floor(m / (p.outW * p.outH));
    for (let c = 0; c < p.outC; c++) {
      let v = 0;
      for (let s = 0; s < slices; s++) v += buf.p[(s * pixels + m) * p.outC + c];
      v += buf.b[c];
      if (o.ACT === 1) v = silu(v);
      if (o.RESIDUAL) v += buf.r![yAt(p.rBase, p.rStride, p.rOff, p.outH, p.outW, n, oy, ox, c)];
      buf.y[yAt(p.yBase, p.yStride, p.yOff, p.outH, p.outW, n, oy, ox, c)] = v;
      if (o.UP_R) {
        const view = { base: p.rBase, stride: p.rStride, off: p.rOff };
        storeUpsampled(buf.r!, view, p.outH, p.outW, o.UP_R, { n, y: oy, x: ox, c }, v);
      }
    }
  }
}
