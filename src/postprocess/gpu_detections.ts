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

/** One image's header (records) and used mask pool, as the executor reads them back. */
export interface GpuImageOutputs {
  /** Count, status, pool words used, 0, then one record per detection. */
  header: Uint32Array;
  /** The stored masks' windows, a 0/1 byte per pixel. */
  pool: Uint8Array;
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
 * // one detection: box (0, 0, 4, 2) in an 8x8 input, score 0.5, class 3, its mask the window's 2 rows x 4
 * const header = new Uint32Array(4 + 20);
 * header[0] = 1;
 * header[2] = 2; // pool words used
 * new Float32Array(header.buffer, 16, 5).set([0, 0, 4, 2, 0.5]);
 * // class 3, anchor 0, slot 0; window x0 0, y0 0, 1 word per row, 2 rows, offset 0; area 8; stored
 * header.set([3, 0, 0, 0, 0, 1, 2, 0, 8, 1], 4 + 5);
 * const det = gpuDetections({ header, pool: new Uint8Array(8).fill(1) }, [8, 8], [8, 8]);
 * assert.deepEqual([...det.boxes], [0, 0, 4, 2]);
 * assert.deepEqual([...det.cls], [3]);
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
  keep.forEach((d, j) => {
    const r = NMS_HEADER_WORDS + d * NMS_DET_WORDS;
    boxes.set(floats.subarray(r, r + 4), 4 * j);
    conf[j] = floats[r + 4];
    cls[j] = header[r + 5];
    const [x0, y0, words, rows, offset, , status] = header.subarray(r + 8, r + 15);
    const width = 4 * words, start = 4 * offset;
    if (status !== MASK_STORED || x0 + width > iw || y0 + rows > ih || start + rows * width > pool.length) {
      throw new RangeError(`Cannot read GPU mask ${d}: its window lies outside the pool or the input`);
    }
    for (let y = 0; y < rows; y++) {
      masks.set(pool.subarray(start + y * width, start + (y + 1) * width), j * plane + (y0 + y) * iw + x0);
    }
  });
  return {
    boxes: scaleBoxes(boxes, letterboxShape, origShape),
    conf,
    cls,
    masks: { data: masks, shape: [n, ih, iw] },
  };
}
