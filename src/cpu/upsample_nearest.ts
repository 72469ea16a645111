/**
 * CPU reference of `kernels/upsample_nearest.wgsl`: nearest-neighbour upsampling by an integer
 * scale over the same NHWC views.
 *
 * @module
 */
import type { UpsampleNearestOverrides, UpsampleNearestParams } from "../../kernels/upsample_nearest.ts";
import { nhwcIndex } from "./_view.ts";

/** Buffers of an upsample_nearest call; `y` is written in place, only inside its view. */
export interface UpsampleNearestBuffers {
  x: Float32Array;
  y: Float32Array;
}

/** Runs upsample_nearest on the CPU, writing `buf.y` like the GPU kernel. */
export function upsampleNearest(
  buf: UpsampleNearestBuffers,
  p: UpsampleNearestParams,
  o: Partial<UpsampleNearestOverrides> = {},
): void {
  const s = o.SCALE ?? 2;
  const outH = p.inH * s;
  const outW = p.inW * s;
  for (let n = 0; n < p.batch; n++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let c = 0; c < p.channels; c++) {
          const xi = nhwcIndex(
            p.xBase,
            p.xStride,
            p.xOff,
            p.inH,
            p.inW,
            n,
            Math.floor(oy / s),
            Math.floor(ox / s),
            c,
          );
          buf.y[nhwcIndex(p.yBase, p.yStride, p.yOff, outH, outW, n, oy, ox, c)] = buf.x[xi];
        }
      }
    }
  }
}
