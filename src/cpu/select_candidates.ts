/**
 * CPU reference of `kernels/select_candidates.wgsl`, in anchor order: each image's anchors whose best class
 * score is > conf (compared in float32), with their columns of `output0`. Also the fallback the executor uses
 * when an image has more candidates than the GPU list holds.
 *
 * @module
 */

/** One image's candidates: `count` anchors and their columns of `output0`. */
export interface Candidates {
  /** Number of candidates `k`. */
  count: number;
  /** `[k]` anchor indices (columns of `output0`), ascending. */
  anchors: Int32Array;
  /** `[channels, k]` row-major: `output0` restricted to the candidates' columns, in anchor order. */
  data: Float32Array;
}

/**
 * The candidates of image `b` of a raw `output0` `[batch, channels, anchors]`.
 *
 * @param output0 The flat `output0` values.
 * @param b The image.
 * @param channels `4 + nc + nm`.
 * @param anchors Anchors per image.
 * @param nc Classes.
 * @param conf Threshold: a candidate's best score is `> conf` (as float32).
 * @returns The candidates in anchor order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectCandidates } from "./select_candidates.ts";
 * // 2 anchors, 1 class: rows cx, cy, w, h, score; anchor 1 passes 0.5.
 * const out = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 0.4, 0.6]);
 * const c = selectCandidates(out, 0, 5, 2, 1, 0.5);
 * assert.deepEqual([...c.anchors], [1]);
 * assert.deepEqual([...c.data], [2, 4, 6, 8, 0.6000000238418579]);
 * ```
 */
export function selectCandidates(
  output0: Float32Array,
  b: number,
  channels: number,
  anchors: number,
  nc: number,
  conf: number,
): Candidates {
  const thr = Math.fround(conf);
  const base = b * channels * anchors;
  const picked: number[] = [];
  for (let a = 0; a < anchors; a++) {
    let best = output0[base + 4 * anchors + a];
    for (let c = 1; c < nc; c++) best = Math.max(best, output0[base + (4 + c) * anchors + a]);
    if (best > thr) picked.push(a);
  }
  return fromColumns(
    picked.length,
    Int32Array.from(picked),
    (ch, j) => output0[base + ch * anchors + picked[j]],
    channels,
  );
}

/**
 * Candidates from rows of the GPU list (`[cap][channels + 1]`: anchor index, then the column), sorted into
 * anchor order.
 *
 * @param rows The image's rows of the list.
 * @param count How many rows are filled.
 * @param channels `4 + nc + nm`.
 * @returns The candidates in anchor order.
 */
export function candidatesFromRows(rows: Float32Array, count: number, channels: number): Candidates {
  const w = channels + 1;
  const order = Array.from({ length: count }, (_, j) => j).sort((i, j) => rows[i * w] - rows[j * w]);
  const anchors = Int32Array.from(order, (j) => rows[j * w]);
  return fromColumns(count, anchors, (ch, j) => rows[order[j] * w + 1 + ch], channels);
}

function fromColumns(
  count: number,
  anchors: Int32Array,
  at: (channel: number, j: number) => number,
  channels: number,
): Candidates {
  const data = new Float32Array(channels * count);
  for (let ch = 0; ch < channels; ch++) {
    for (let j = 0; j < count; j++) data[ch * count + j] = at(ch, j);
  }
  return { count, anchors, data };
}
