/**
 * CPU reference of `kernels/maxpool2d_cascade.wgsl`, by its definition: three chained `maxpool2d` passes
 * (window `KSIZE`, stride 1, pad `KSIZE / 2`), each reading the previous one's output, written to the
 * three output views.
 *
 * @module
 */
import type { Maxpool2dCascadeParams } from "../../kernels/maxpool2d_cascade.ts";
import { maxpool2d } from "./maxpool2d.ts";

/** Buffers of a maxpool2d_cascade call; `y` (the three outputs' buffer) is written only inside the views. */
export interface Maxpool2dCascadeBuffers {
  x: Float32Array;
  y: Float32Array;
}

/** Runs the three chained pools on the CPU, writing `buf.y` like the GPU kernel. */
export function maxpool2dCascade(
  buf: Maxpool2dCascadeBuffers,
  p: Maxpool2dCascadeParams,
  o: { KSIZE?: number } = {},
): void {
  const k = o.KSIZE ?? 5;
  const size = { batch: p.batch, inH: p.height, inW: p.width, channels: p.channels };
  const out = { outH: p.height, outW: p.width, pad: Math.floor(k / 2) };
  const dense = { Base: 0, Stride: p.channels, Off: 0 };
  let from = { data: buf.x, Base: p.xBase, Stride: p.xStride, Off: p.xOff };
  for (
    const [base, stride, off] of [
      [p.y1Base, p.y1Stride, p.y1Off],
      [p.y2Base, p.y2Stride, p.y2Off],
      [p.y3Base, p.y3Stride, p.y3Off],
    ]
  ) {
    const next = new Float32Array(p.batch * p.height * p.width * p.channels);
    maxpool2d({ x: from.data, y: next }, {
      ...size,
      ...out,
      xBase: from.Base,
      xStride: from.Stride,
      xOff: from.Off,
      yBase: 0,
      yStride: p.channels,
      yOff: 0,
    }, { KSIZE: k, STRIDE: 1 });
    for (let i = 0; i < p.batch * p.height * p.width; i++) {
      for (let c = 0; c < p.channels; c++) buf.y[base + i * stride + off + c] = next[i * p.channels + c];
    }
    from = { data: next, ...dense };
  }
}
