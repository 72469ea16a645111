/**
 * CPU reference of `kernels/instance_masks.wgsl`: each stored record's window of the pool filled with the
 * bits of {@linkcode processMask} (the tested port of Ultralytics' `process_mask`; 32 pixels a word, the
 * first in bit 0), its area added to the record.
 *
 * @module
 */
import type { InstanceMasksParams } from "../../kernels/instance_masks.ts";
import { MASK_STORED, NMS_DET_WORDS, NMS_HEADER_WORDS } from "../../kernels/nms.ts";
import { processMask } from "../postprocess/masks.ts";

/** Buffers of an instance_masks call; `header` (areas) and `pool` are written in place. */
export interface InstanceMasksBuffers {
  /** select_candidates' lists `[batch][cap][channels + 1]`. */
  rows: Float32Array;
  /** `output1` values, the images' prototypes from `protoBase`. */
  protos: Float32Array;
  /** nms's header. */
  header: Uint32Array;
  /** `[batch][poolWords]` words. */
  pool: Uint32Array;
}

/** Runs instance_masks on the CPU. */
export function instanceMasks(buf: InstanceMasksBuffers, p: InstanceMasksParams): void {
  const width = p.channels + 1;
  const plane = p.nm * p.mh * p.mw;
  const f = new Float32Array(4);
  const bits = new Uint32Array(f.buffer);
  for (let b = 0; b < p.batch; b++) {
    const hb = b * p.headerStride;
    const protos = {
      data: buf.protos.subarray(p.protoBase + b * plane, p.protoBase + (b + 1) * plane),
      shape: [p.nm, p.mh, p.mw],
    };
    for (let d = 0; d < Math.min(buf.header[hb], p.maxDet); d++) {
      const rec = buf.header.subarray(hb + NMS_HEADER_WORDS + d * NMS_DET_WORDS);
      if (rec[14] !== MASK_STORED) continue;
      bits.set(rec.subarray(0, 4));
      const r = (b * p.cap + rec[7]) * width + 5 + p.nc;
      const mask = processMask(protos, buf.rows.slice(r, r + p.nm), f, [p.ih, p.iw]).data;
      const [x0, y0, words, rows] = rec.subarray(8, 12);
      const base = b * p.poolWords + rec[12];
      let area = 0;
      for (let y = 0; y < rows; y++) {
        for (let w = 0; w < words; w++) {
          let word = 0;
          for (let i = 0; i < 32; i++) {
            const v = mask[(y0 + y) * p.iw + x0 + 32 * w + i];
            word |= v << i;
            area += v;
          }
          buf.pool[base + y * words + w] = word >>> 0;
        }
      }
      rec[13] += area;
    }
  }
}
