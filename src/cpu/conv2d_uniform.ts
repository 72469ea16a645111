/**
 * CPU reference of `kernels/conv2d_uniform.wgsl`: direct convolution over the same views, weights in
 * PyTorch order `[cout, cinPerGroup, k, k]`, accumulated in f64, for the dispatch's output-channel
 * chunk `[coBase, coBase + coCount)` and input-channel slice `[ciBase, ciBase + ciCount)` of the group
 * only: with `accumulate` the value already in `y` is added, and only with `finish` bias, activation
 * and residual are applied; with `OUT_STEP` > 1, computed pixel (oy, ox) lands at
 * (oy * OUT_STEP + phaseY, ox * OUT_STEP + phaseX) of the larger output map. Every other element of
 * `y` is left as it was.
 *
 * @module
 */
import type { Conv2dUniformOverrides, Conv2dUniformParams } from "../../kernels/conv2d_uniform.ts";
import type { Conv2dBuffers } from "./conv2d.ts";
import { nchwIndex, nhwcIndex, silu } from "./_view.ts";

/** Runs one conv2d_uniform dispatch on the CPU (`TM`, `TN4`, `WG` and `ROW` are ignored). */
export function conv2dUniform(
  buf: Conv2dBuffers,
  p: Conv2dUniformParams,
  o: Partial<Conv2dUniformOverrides> = {},
): void {
  const k = o.KSIZE ?? 3;
  const stride = o.STRIDE ?? 1;
  const step = o.OUT_STEP ?? 1;
  const xAt = o.IN_NCHW ? nchwIndex : nhwcIndex;
  const yAt = o.OUT_NCHW ? nchwIndex : nhwcIndex;
  const cinG = p.inC / p.groups;
  const coutG = p.outC / p.groups;
  const [h, w] = [p.outH * step, p.outW * step];
  for (let n = 0; n < p.batch; n++) {
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        const [ty, tx] = [oy * step + p.phaseY, ox * step + p.phaseX];
        for (let c = p.coBase; c < p.coBase + p.coCount; c++) {
          const g = Math.floor(c / coutG);
          let s = 0;
          for (let ky = 0; ky < k; ky++) {
            const iy = oy * stride - p.pad + ky;
            if (iy < 0 || iy >= p.inH) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * stride - p.pad + kx;
              if (ix < 0 || ix >= p.inW) continue;
              for (let ci = p.ciBase; ci < p.ciBase + p.ciCount; ci++) {
                const xi = xAt(p.xBase, p.xStride, p.xOff, p.inH, p.inW, n, iy, ix, g * cinG + ci);
                s += buf.x[xi] * buf.w[((c * cinG + ci) * k + ky) * k + kx];
              }
            }
          }
          const yi = yAt(p.yBase, p.yStride, p.yOff, h, w, n, ty, tx, c);
          let v = p.accumulate ? s + buf.y[yi] : s;
          if (p.finish) {
            v += buf.b[c];
            if (p.act === 1) v = silu(v);
            if (p.residual) v += buf.r![yAt(p.rBase, p.rStride, p.rOff, h, w, n, ty, tx, c)];
          }
          buf.y[yi] = v;
        }
      }
    }
  }
}
