/**
 * One image's detections from the GPU's NMS and masks (`kernels/nms.wgsl`, `kernels/instance_masks.wgsl`):
 * what {@linkcode postprocessImage} gives from the same forward, read from the header records and mask
 * windows instead of computed here. Boxes are scaled to the original image; detections whose mask is
 * empty are dropped (Ultralytics' `construct_result`), by the areas the GPU counted.
 * @module
 */
import { MASK_STORED, NMS_DET_WORDS, NMS_HEADER_WORDS } from "../../kernels/nms.ts";
import { scaleBoxes } from "./boxes.ts";
import type { ImageDetections } from "./segment.ts";

/** Four mask pixels as the bytes of a little-endian u32, from the 4 bits of a nibble (bit 0 first). */
const NIBBLE_BYTES = Uint32Array.from(
  { length: 16 },
  (_, v) => (v & 1) | (v & 2) << 7 | (v & 4) << 14 | (v & 8) << 21,
);

/** One image's header (records) and used mask pool, as the executor reads them back. */
export interface GpuImageOutputs {
  /** Count, status, pool words used, 0, then one record per detection. */
  header: Uint32Array;
  /** The stored masks' windows: 32 pixels a word, the first in bit 0. */
  pool: Uint32Array;
}

/**
 * The detections of one image's GPU records, masks at the letterbox resolution.
 *
 * @param out The image's header and pool.
 * @param letterboxShape `[height, width]` of the network input.
 * @param origShape `[height, width]` of the image.
 * @returns Boxes in original pixels, scores, classes and masks, best first.
 * @throws {RangeError} When a record's mask window lies outside the pool or the input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gpuDetections } from "./gpu_detections.ts";
 * // one detection: box (0, 0, 4, 2) in a 32x32 input, score 0.5, class 3; its mask 4 pixels in 2 rows
 * const header = new Uint32Array(4 + 20);
 * header[0] = 1;
 * header[2] = 2; // pool words used
 * new Float32Array(header.buffer, 16, 5).set([0, 0, 4, 2, 0.5]);
 * // class 3, anchor 0, slot 0; window x0 0, y0 0, 1 word per row, 2 rows, offset 0; area 8; stored
 * header.set([3, 0, 0, 0, 0, 1, 2, 0, 8, 1], 4 + 5);
 * const det = gpuDetections({ header, pool: Uint32Array.of(0b1111, 0b1111) }, [32, 32], [32, 32]);
 * assert.deepEqual([...det.boxes], [0, 0, 4, 2]);
 * assert.deepEqual([...det.cls], [3]);
 * assert.deepEqual([...det.masks!.data.subarray(0, 6)], [1, 1, 1, 1, 0, 0]);
 * assert.equal(det.masks!.data.reduce((s, v) => s + v, 0), 8);
 * ```
 */
export function gpuDetections(
  out: GpuImageOutputs,
  letterboxShape: [number, number],
  origShape: [number, number],
): ImageDetections {
  const { header, pool } = out;
  const [ih, iw] = letterboxShape;
  const k = header[0];
  const floats = new Float32Array(header.buffer, header.byteOffset, header.length);
  const keep: number[] = [];
  for (let d = 0; d < k; d++) if (header[NMS_HEADER_WORDS + d * NMS_DET_WORDS + 13] > 0) keep.push(d);
  const n = keep.length;
  const boxes = new Float32Array(4 * n), conf = new Float32Array(n), cls = new Int32Array(n);
  const plane = ih * iw;
  const masks = new Uint8Array(n * plane);
  const quads = new Uint32Array(masks.buffer);
  keep.forEach((d, j) => {
    const r = NMS_HEADER_WORDS + d * NMS_DET_WORDS;
    boxes.set(floats.subarray(r, r + 4), 4 * j);
    conf[j] = floats[r + 4];
    cls[j] = header[r + 5];
    const [x0, y0, words, rows, offset, , status] = header.subarray(r + 8, r + 15);
    if (
      status !== MASK_STORED || x0 + 32 * words > iw || y0 + rows > ih || offset + rows * words > pool.length
    ) {
      throw new RangeError(`Cannot read GPU mask ${d}: its window lies outside the pool or the input`);
    }
    for (let y = 0; y < rows; y++) {
      const src = offset + y * words;
      // Whole words of the plane: the window's x0, the width and the plane size are multiples of 32.
      let dst = (j * plane + (y0 + y) * iw + x0) / 4;
      for (let w = 0; w < words; w++, dst += 8) {
        const bits = pool[src + w];
        if (bits === 0) continue;
        for (let q = 0; q < 8; q++) {
          const nibble = (bits >>> (4 * q)) & 15;
          if (nibble !== 0) quads[dst + q] = NIBBLE_BYTES[nibble];
        }
      }
    }
  });
  return {
    boxes: scaleBoxes(boxes, letterboxShape, origShape),
    conf,
    cls,
    masks: { data: masks, shape: [n, ih, iw] },
  };
}
