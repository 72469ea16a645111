/**
 * CPU reference of `kernels/conv2d.wgsl`: direct convolution over the same views, weights in
 * PyTorch order `[cout, cinPerGroup, k, k]`, accumulated in f64.
 *
 * @module
 */
import type { Conv2dOverrides, Conv2dParams } from "../../kernels/conv2d.ts";
import { nchwIndex, nhwcIndex, silu } from "./_view.ts";

/** Buffers of a conv2d call; `y` is written in place, only inside its view. */
export interface Conv2dBuffers {
  x: Float32Array;
  /** Unpacked weights `[cout, inC / groups, KSIZE, KSIZE]`. */
  w: Float32Array;
  b: Float32Array;
  /** Residual, read when `RESIDUAL` is 1. */
  r?: Float32Array;
  y: Float32Array;
}

/** Runs conv2d on the CPU, writing `buf.y` like the GPU kernel (tile overrides are ignored). */
export function conv2d(buf: Conv2dBuffers, p: Conv2dParams, o: Partial<Conv2dOverrides> = {}): void {
  const k = o.KSIZE ?? 3;
  const stride = o.STRIDE ?? 1;
  const xAt = o.IN_NCHW ? nchwIndex : nhwcIndex;
  const yAt = o.OUT_NCHW ? nchwIndex : nhwcIndex;
  const cinG = p.inC / p.groups;
  const coutG = p.outC / p.groups;
  for (let n = 0; n < p.batch; n++) {
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        for (let c = 0; c < p.outC; c++) {
          const g = Math.floor(c / coutG);
          let s = 0;
          for (let ky = 0; ky < k; ky++) {
            const iy = oy * stride - p.pad + ky;
            if (iy < 0 || iy >= p.inH) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * stride - p.pad + kx;
              if (ix < 0 || ix >= p.inW) continue;
              for (let ci = 0; ci < cinG; ci++) {
                const xi = xAt(p.xBase, p.xStride, p.xOff, p.inH, p.inW, n, iy, ix, g * cinG + ci);
                s += buf.x[xi] * buf.w[((c * cinG + ci) * k + ky) * k + kx];
              }
            }
          }
          let v = s + buf.b[c];
          if (o.ACT === 1) v = silu(v);
          if (o.RESIDUAL) {
            v += buf.r![yAt(p.rBase, p.rStride, p.rOff, p.outH, p.outW, n, oy, ox, c)];
          }
          buf.y[yAt(p.yBase, p.yStride, p.yOff, p.outH, p.outW, n, oy, ox, c)] = v;
        }
      }
    }
  }
}
