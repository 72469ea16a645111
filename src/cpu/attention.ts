/**
 * CPU reference of `kernels/attention.wgsl`: direct attention per image and head over the same NHWC
 * views (full score row, max-subtracted softmax), accumulated in f64.
 *
 * @module
 */
import type { AttentionOverrides, AttentionParams } from "../../kernels/attention.ts";

/** Buffers of an attention call; `o` and `v` are written in place, only inside their views. */
export interface AttentionBuffers {
  /** The qkv conv output. */
  x: Float32Array;
  o: Float32Array;
  /** Written when `PE_K` is 0. */
  v?: Float32Array;
  /** With `PE_K` > 0: the positional depthwise conv's weights `[channels, 1, PE_K, PE_K]` and bias. */
  pw?: Float32Array;
  pb?: Float32Array;
}

/**
 * Runs attention on the CPU, writing `buf.o` and `buf.v` like the GPU kernel (`WG_Q` is ignored); with
 * `PE_K` > 0, `o` plus the positional depthwise conv of v instead (v not written).
 */
export function attention(
  buf: AttentionBuffers,
  p: AttentionParams,
  o: Partial<AttentionOverrides> = {},
): void {
  const kd = o.KEY_DIM ?? 32;
  const hd = o.HEAD_DIM ?? 64;
  const pe = o.PE_K ?? 0;
  const width = p.width, height = p.pixels / p.width;
  const n = p.pixels;
  const at = (img: number, i: number, c: number) => p.xBase + (img * n + i) * p.xStride + p.xOff + c;
  const scores = new Float64Array(n);
  for (let img = 0; img < p.batch; img++) {
    for (let h = 0; h < p.numHeads; h++) {
      const qc = h * (2 * kd + hd);
      const kc = qc + kd;
      const vc = kc + kd;
      for (let i = 0; i < n; i++) {
        let max = -Infinity;
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let d = 0; d < kd; d++) s += buf.x[at(img, i, qc + d)] * buf.x[at(img, j, kc + d)];
          scores[j] = s * p.scale;
          max = Math.max(max, scores[j]);
        }
        let sum = 0;
        for (let j = 0; j < n; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        const oRow = p.oBase + (img * n + i) * p.oStride + p.oOff + h * hd;
        const vRow = p.vBase + (img * n + i) * p.vStride + p.vOff + h * hd;
        for (let d = 0; d < hd; d++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += buf.x[at(img, j, vc + d)] * scores[j];
          if (pe === 0) {
            buf.o[oRow + d] = s / sum;
            buf.v![vRow + d] = buf.x[at(img, i, vc + d)];
            continue;
          }
          // The positional conv of v at pixel i, channel h * hd + d.
          const c = h * hd + d;
          let conv = buf.pb![c];
          const [iy, ix] = [Math.floor(i / width), i % width];
          for (let ty = 0; ty < pe; ty++) {
            for (let tx = 0; tx < pe; tx++) {
              const [y, x] = [iy + ty - (pe >> 1), ix + tx - (pe >> 1)];
              if (y < 0 || y >= height || x < 0 || x >= width) continue;
              conv += buf.pw![(c * pe + ty) * pe + tx] * buf.x[at(img, y * width + x, vc + d)];
            }
          }
          buf.o[oRow + d] = s / sum + conv;
        }
      }
    }
  }
}
