/**
 * CPU reference of `kernels/copy_channels.wgsl`: copies one view into another of the same shape,
 * NHWC or NCHW on either side.
 *
 * @module
 */
import type { CopyChannelsOverrides, CopyChannelsParams } from "../../kernels/copy_channels.ts";
import { nchwIndex, nhwcIndex } from "./_view.ts";

/** Buffers of a copy_channels call; `y` is written in place, only inside its view. */
export interface CopyChannelsBuffers {
  x: Float32Array;
  y: Float32Array;
}

/** Runs copy_channels on the CPU, writing `buf.y` like the GPU kernel. */
export function copyChannels(
  buf: CopyChannelsBuffers,
  p: CopyChannelsParams,
  o: Partial<CopyChannelsOverrides> = {},
): void {
  const xAt = o.IN_NCHW ? nchwIndex : nhwcIndex;
  const yAt = o.OUT_NCHW ? nchwIndex : nhwcIndex;
  for (let n = 0; n < p.batch; n++) {
    for (let py = 0; py < p.height; py++) {
      for (let px = 0; px < p.width; px++) {
        for (let c = 0; c < p.channels; c++) {
          const v = buf.x[xAt(p.xBase, p.xStride, p.xOff, p.height, p.width, n, py, px, c)];
          buf.y[yAt(p.yBase, p.yStride, p.yOff, p.height, p.width, n, py, px, c)] = v;
        }
      }
    }
  }
}
