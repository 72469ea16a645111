/**
 * CPU reference of `kernels/maxpool2d.wgsl`: max pooling over the same NHWC views, padding
 * ignored (PyTorch pads with -inf).
 *
 * @module
 */
import type { Maxpool2dOverrides, Maxpool2dParams } from "../../kernels/maxpool2d.ts";
import { nhwcIndex } from "./_view.ts";

/** Buffers of a maxpool2d call; `y` is written in place, only inside its view. */
export interface Maxpool2dBuffers {
  x: Float32Array;
  y: Float32Array;
}

/** Runs maxpool2d on the CPU, writing `buf.y` like the GPU kernel. */
export function maxpool2d(
  buf: Maxpool2dBuffers,
  p: Maxpool2dParams,
  o: Partial<Maxpool2dOverrides> = {},
): void {
  const k = o.KSIZE ?? 5;
  const stride = o.STRIDE ?? 1;
  for (let n = 0; n < p.batch; n++) {
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        for (let c = 0; c < p.channels; c++) {
          let v = -Infinity;
          for (let ky = 0; ky < k; ky++) {
            const iy = oy * stride - p.pad + ky;
            if (iy < 0 || iy >= p.inH) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * stride - p.pad + kx;
              if (ix < 0 || ix >= p.inW) continue;
              v = Math.max(v, buf.x[nhwcIndex(p.xBase, p.xStride, p.xOff, p.inH, p.inW, n, iy, ix, c)]);
            }
          }
          buf.y[nhwcIndex(p.yBase, p.yStride, p.yOff, p.outH, p.outW, n, oy, ox, c)] = v;
        }
      }
    }
  }
}
