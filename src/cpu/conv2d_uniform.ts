/**
 * CPU reference of `kernels/conv2d_uniform.wgsl`: the conv2d reference, restricted to the
 * dispatch's output-channel chunk `[coBase, coBase + coCount)`; every other element of `y` is left
 * as it was.
 *
 * @module
 */
import type { Conv2dUniformOverrides, Conv2dUniformParams } from "../../kernels/conv2d_uniform.ts";
import { conv2d, type Conv2dBuffers } from "./conv2d.ts";
import { nchwIndex, nhwcIndex } from "./_view.ts";

/** Runs one conv2d_uniform dispatch on the CPU (`TN4` and `WG` are ignored). */
export function conv2dUniform(
  buf: Conv2dBuffers,
  p: Conv2dUniformParams,
  o: Partial<Conv2dUniformOverrides> = {},
): void {
  const full = buf.y.slice();
  conv2d({ ...buf, y: full }, p, o);
  const yAt = o.OUT_NCHW ? nchwIndex : nhwcIndex;
  for (let n = 0; n < p.batch; n++) {
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        for (let c = p.coBase; c < p.coBase + p.coCount; c++) {
          const i = yAt(p.yBase, p.yStride, p.yOff, p.outH, p.outW, n, oy, ox, c);
          buf.y[i] = full[i];
        }
      }
    }
  }
}
