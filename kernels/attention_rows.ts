/**
 * Spec of `attention_rows.wgsl`: the attention of {@linkcode attention} (same bindings, `Params` and
 * results) for small maps. A workgroup of `WG` invocations owns `QB` queries (4 or 8) of one (image, head)
 * and keeps their whole score rows, `N <= MAX_N` keys, in workgroup memory; scores, softmax and `p * v`
 * each spread over all its invocations (the key streams of `attention.wgsl` give a 20x20 map, 400 keys,
 * only 50-150 streams of 32 invocations at batch 1). Workgroup memory: {@linkcode attentionRowsWorkgroupBytes}.
 *
 * @module
 */
import code from "./attention_rows.wgsl" with { type: "text" };
import { attention, type AttentionParam } from "./attention.ts";
import { ceilDiv, f16Variant, fold, type KernelSpec } from "./_spec.ts";

/** Names of the overrides of `attention_rows.wgsl`. */
export type AttentionRowsOverride = "KEY_DIM" | "HEAD_DIM" | "QB" | "MAX_N" | "WG" | "PE_K";

/** Override values of an attention_rows pipeline. */
export type AttentionRowsOverrides = Record<AttentionRowsOverride, number>;

/** The whole-row attention kernel: bindings x (qkv), o, v, pw, pb, params and `PE_K` as `attention`. */
export const attentionRows: KernelSpec<AttentionParam, AttentionRowsOverride> = {
  name: "attention_rows",
  code,
  bindings: attention.bindings,
  params: attention.params,
  overrides: { KEY_DIM: 32, HEAD_DIM: 64, QB: 8, MAX_N: 400, WG: 256, PE_K: 0 },
  dispatch(p, o) {
    const [x, z] = fold(ceilDiv(p.pixels, o.QB));
    return [x, p.batch * p.numHeads, z];
  },
  validate(o) {
    if (!(o.KEY_DIM >= 1 && o.MAX_N >= 1)) {
      throw new RangeError(`Give attention_rows positive KEY_DIM and MAX_N`);
    }
    if (!(Number.isInteger(o.PE_K) && o.PE_K >= 0 && (o.PE_K === 0 || o.PE_K % 2 === 1))) {
      throw new RangeError(`Give attention_rows PE_K 0 (none) or an odd window: got ${o.PE_K}`);
    }
    if (o.QB !== 4 && o.QB !== 8) throw new RangeError(`Use an attention_rows QB of 4 or 8: got ${o.QB}`);
    if (!(o.HEAD_DIM >= 4 && o.HEAD_DIM % 4 === 0)) {
      throw new RangeError(`Use an attention_rows HEAD_DIM that is a multiple of 4: got ${o.HEAD_DIM}`);
    }
    if (!(o.WG % o.QB === 0 && o.WG >= o.HEAD_DIM / 4)) {
      throw new RangeError(
        `Give attention_rows a WG that is a multiple of QB and at least HEAD_DIM / 4: got ${o.WG}`,
      );
    }
  },
};

/**
 * Bytes of workgroup memory an attention_rows pipeline uses: Q, the score rows, one vec4 per invocation
 * and the row sums.
 *
 * @param o The full override set.
 * @returns The byte count; 17,952 for the defaults (8 queries, 400 keys, 256 invocations).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionRows, attentionRowsWorkgroupBytes } from "./attention_rows.ts";
 * assert.equal(attentionRowsWorkgroupBytes(attentionRows.overrides), 17952);
 * ```
 */
export function attentionRowsWorkgroupBytes(o: Readonly<AttentionRowsOverrides>): number {
  return 4 * (o.KEY_DIM * o.QB + o.MAX_N * o.QB + 4 * o.WG + o.QB);
}

/**
 * The attention_rows tiles that fit a device for a map of `pixels` keys (`MAX_N` is `pixels`): `QB` 8 and
 * 4 with 256, 128 and 64 invocations, those within `maxWorkgroupBytes` and `maxInvocations`, most queries
 * and invocations first; empty when no row fits.
 *
 * @param keyDim Query/key channels per head.
 * @param headDim Value channels per head (a multiple of 4, else none).
 * @param pixels Keys per image (`H * W`).
 * @param maxWorkgroupBytes The device's `maxComputeWorkgroupStorageSize`.
 * @param maxInvocations The device's `maxComputeInvocationsPerWorkgroup`. @default {256}
 * @returns Full override sets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionRowsTiles } from "./attention_rows.ts";
 * // YOLO11 at 640 (20x20) in 16 KiB: 8 queries' rows with at most 128 invocations, 4 queries' with any.
 * const tiles = attentionRowsTiles(32, 64, 400, 16384).map((t) => [t.QB, t.WG]);
 * assert.deepEqual(tiles, [[8, 128], [8, 64], [4, 256], [4, 128], [4, 64]]);
 * assert.equal(attentionRowsTiles(32, 64, 400, 49152).length, 6);
 * assert.equal(attentionRowsTiles(32, 64, 6400, 49152).length, 0); // 80x80: rows too long
 * ```
 */
export function attentionRowsTiles(
  keyDim: number,
  headDim: number,
  pixels: number,
  maxWorkgroupBytes: number,
  maxInvocations = 256,
): AttentionRowsOverrides[] {
  if (headDim % 4 !== 0) return [];
  const tiles: AttentionRowsOverrides[] = [];
  for (const qb of [8, 4]) {
    for (const wg of [256, 128, 64]) {
      const t = { KEY_DIM: keyDim, HEAD_DIM: headDim, QB: qb, MAX_N: pixels, WG: wg, PE_K: 0 };
      if (wg <= maxInvocations && wg >= headDim / 4 && attentionRowsWorkgroupBytes(t) <= maxWorkgroupBytes) {
        tiles.push(t);
      }
    }
  }
  return tiles;
}

/** `attention_rows` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const attentionRowsF16: typeof attentionRows = f16Variant(attentionRows);
