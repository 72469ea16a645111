/**
 * CPU reference of `kernels/conv_transpose2d.wgsl`: transposed convolution with kernel == stride and
 * no padding over the same NHWC views, weights in PyTorch order `[cin, cout, k, k]`, accumulated in
 * f64.
 *
 * @module
 */
import type { ConvTranspose2dOverrides, ConvTranspose2dParams } from "../../kernels/conv_transpose2d.ts";
import { nhwcIndex } from "./_view.ts";

/** Buffers of a conv_transpose2d call; `y` is written in place, only inside its view. */
export interface ConvTranspose2dBuffers {
  x: Float32Array;
  /** Unpacked weights `[inC, outC, KSIZE, KSIZE]`. */
  w: Float32Array;
  b: Float32Array;
  y: Float32Array;
}

/** Runs conv_transpose2d on the CPU, writing `buf.y` like the GPU kernel (tile overrides are ignored). */
export function convTranspose2d(
  buf: ConvTranspose2dBuffers,
  p: ConvTranspose2dParams,
  o: Partial<ConvTranspose2dOverrides> = {},
): void {
  const k = o.KSIZE ?? 2;
  const outH = p.inH * k;
  const outW = p.inW * k;
  for (let n = 0; n < p.batch; n++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const iy = Math.floor(oy / k);
        const ix = Math.floor(ox / k);
        const tap = (oy % k) * k + (ox % k);
        for (let co = 0; co < p.outC; co++) {
          let s = buf.b[co];
          for (let ci = 0; ci < p.inC; ci++) {
            const xi = nhwcIndex(p.xBase, p.xStride, p.xOff, p.inH, p.inW, n, iy, ix, ci);
            s += buf.x[xi] * buf.w[(ci * p.outC + co) * k * k + tap];
          }
          buf.y[nhwcIndex(p.yBase, p.yStride, p.yOff, outH, outW, n, oy, ox, co)] = s;
        }
      }
    }
  }
}
