/**
 * CPU reference of `kernels/dwconv2d.wgsl`: depthwise convolution over the same NHWC views,
 * weights in PyTorch order `[c, 1, k, k]`, accumulated in f64.
 *
 * @module
 */
import type { Dwconv2dOverrides, Dwconv2dParams } from "../../kernels/dwconv2d.ts";
import { nhwcIndex, silu } from "./_view.ts";

/** Buffers of a dwconv2d call; `y` is written in place, only inside its view. */
export interface Dwconv2dBuffers {
  x: Float32Array;
  /** Unpacked weights `[channels, 1, KSIZE, KSIZE]`. */
  w: Float32Array;
  b: Float32Array;
  /** Residual, read when `RESIDUAL` is 1. */
  r?: Float32Array;
  y: Float32Array;
}

/** Runs dwconv2d on the CPU, writing `buf.y` like the GPU kernel. */
export function dwconv2d(buf: Dwconv2dBuffers, p: Dwconv2dParams, o: Partial<Dwconv2dOverrides> = {}): void {
  const k = o.KSIZE ?? 3;
  const stride = o.STRIDE ?? 1;
  for (let n = 0; n < p.batch; n++) {
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        for (let c = 0; c < p.channels; c++) {
          let s = 0;
          for (let ky = 0; ky < k; ky++) {
            const iy = oy * stride - p.pad + ky;
            if (iy < 0 || iy >= p.inH) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * stride - p.pad + kx;
              if (ix < 0 || ix >= p.inW) continue;
              const xi = nhwcIndex(p.xBase, p.xStride, p.xOff, p.inH, p.inW, n, iy, ix, c);
              s += buf.x[xi] * buf.w[(c * k + ky) * k + kx];
            }
          }
          let v = s + buf.b[c];
          if (o.ACT === 1) v = silu(v);
          if (o.RESIDUAL) v += buf.r![nhwcIndex(p.rBase, p.rStride, p.rOff, p.outH, p.outW, n, oy, ox, c)];
          buf.y[nhwcIndex(p.yBase, p.yStride, p.yOff, p.outH, p.outW, n, oy, ox, c)] = v;
        }
      }
    }
  }
}
