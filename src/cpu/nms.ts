/**
 * CPU reference of `kernels/nms.wgsl`: each image's header built from {@linkcode nonMaxSuppression} (the
 * tested port of Ultralytics' NMS) over its candidate list, with the same records, mask windows and pool
 * room as the kernel.
 *
 * @module
 */
import {
  MASK_EMPTY,
  MASK_NO_ROOM,
  MASK_STORED,
  NMS_DET_WORDS,
  NMS_DONE,
  NMS_HEADER_WORDS,
  NMS_OVERFLOW,
  type NmsParams,
} from "../../kernels/nms.ts";
import { nonMaxSuppression } from "../postprocess/nms.ts";
import { candidatesFromRows } from "./select_candidates.ts";

/** Buffers of an nms call: the inputs, and `header` written in place. */
export interface NmsBuffers {
  /** select_candidates' lists `[batch][cap][channels + 1]`. */
  rows: Float32Array;
  /** Candidates per image (may exceed cap). */
  counts: ArrayLike<number>;
  /** Kept class indices, or null for all (`params.classFilter` must agree). */
  classes: readonly number[] | null;
  /** `[batch][headerStride]` words. */
  header: Uint32Array;
}

/**
 * Runs nms on the CPU. `iou` is the caller's threshold (the kernel's `params.iou` is
 * `nmsIouThreshold(iou)`), `maxWh` the class offset.
 */
export function nms(buf: NmsBuffers, p: NmsParams, iou: number): void {
  const width = p.channels + 1;
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  const asBits = (v: number) => (f[0] = v, bits[0]);
  for (let b = 0; b < p.batch; b++) {
    const hb = b * p.headerStride;
    const count = buf.counts[b];
    buf.header.fill(0, hb, hb + NMS_HEADER_WORDS);
    if (count > p.cap) {
      buf.header[hb + 1] = NMS_OVERFLOW;
      continue;
    }
    const rows = buf.rows.subarray(b * p.cap * width, (b + 1) * p.cap * width);
    const cand = candidatesFromRows(rows, count, p.channels);
    const slotOf = new Map<number, number>();
    for (let s = 0; s < count; s++) slotOf.set(rows[s * width], s);
    const det = nonMaxSuppression(cand.data, [p.channels, count], {
      conf: 0,
      iou,
      maxDet: p.maxDet,
      classes: buf.classes,
      agnostic: p.agnostic !== 0,
      maxWh: p.maxWh,
      nc: p.nc,
    });
    const rx = p.iw / p.mw, ry = p.ih / p.mh;
    const wr = Math.fround(p.mw / p.iw), hr = Math.fround(p.mh / p.ih);
    let used = 0;
    for (let d = 0; d < det.count; d++) {
      const h = hb + NMS_HEADER_WORDS + d * NMS_DET_WORDS;
      const [x1, y1, x2, y2] = det.boxes.subarray(4 * d, 4 * d + 4);
      const rec = buf.header.subarray(h, h + NMS_DET_WORDS);
      rec.fill(0);
      [x1, y1, x2, y2, det.conf[d]].forEach((v, i) => rec[i] = asBits(v));
      rec[5] = det.cls[d];
      rec[6] = cand.anchors[det.indices[d]];
      rec[7] = slotOf.get(rec[6])!;
      const crop = (v: number, r: number, hi: number) =>
        Math.min(Math.max(Math.ceil(Math.fround(v * r)), 0), hi);
      const c0 = crop(x1, wr, p.mw),
        c1 = crop(x2, wr, p.mw),
        r0 = crop(y1, hr, p.mh),
        r1 = crop(y2, hr, p.mh);
      rec[15] = c0 | (c1 << 16);
      rec[16] = r0 | (r1 << 16);
      rec[14] = MASK_EMPTY;
      if (c0 < c1 && r0 < r1) {
        const wx0 = Math.floor((Math.max(c0, 1) - 1) * rx / 32) * 32;
        const wx1 = Math.min(Math.min(c1 + 1, p.mw) * rx, p.iw);
        rec[8] = wx0;
        rec[9] = (Math.max(r0, 1) - 1) * ry;
        rec[10] = Math.ceil((wx1 - wx0) / 32);
        rec[11] = Math.min(Math.min(r1 + 1, p.mh) * ry, p.ih) - rec[9];
        const size = rec[10] * rec[11];
        if (used + size <= p.poolWords) {
          rec[12] = used;
          rec[14] = MASK_STORED;
          used += size;
        } else rec[14] = MASK_NO_ROOM;
      }
    }
    buf.header[hb] = det.count;
    buf.header[hb + 1] = NMS_DONE;
    buf.header[hb + 2] = used;
  }
}
