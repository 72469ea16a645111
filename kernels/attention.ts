/**
 * Spec of `attention.wgsl`: the core of Ultralytics `Attention` (YOLO11 C2PSA) over NHWC views. Per
 * image and head, from the qkv conv output (head h's channels `h*(2kd+hd) + [q | k | v]`, N pixels):
 * `attn[i, j] = softmax_j(scale * Σ_d q[d, i] k[d, j])`, `o[h*hd + d, i] = Σ_j v[d, j] attn[i, j]`;
 * `v` (heads concatenated) is also written out for the positional depthwise conv.
 *
 * Streaming (online) softmax over key blocks, so any N runs in fixed workgroup memory: a workgroup of
 * `WG_Q * HEAD_DIM / 8` invocations owns `4 * WG_Q` queries of one (image, head) and walks the keys
 * `HEAD_DIM / 2` at a time (`HEAD_DIM` a multiple of 8; YOLO11: 64). With `KV_SPLIT` > 1 a workgroup runs
 * that many key streams side by side (each its own K/V/score tiles, every `KV_SPLIT`-th key block) and
 * merges them at the end: {@linkcode attentionKvSplit} picks it for maps too small to fill a big GPU.
 * Workgroup memory: {@linkcode attentionWorkgroupBytes} (20 KiB by default, 16 KiB with `WG_Q` 4).
 *
 * @module
 */
import code from "./attention.wgsl" with { type: "text" };
import { ceilDiv, f16Variant, fold, type KernelSpec, type ParamSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `attention.wgsl`, in order. */
export type AttentionParam =
  | "batch"
  | "pixels"
  | "numHeads"
  | "scale"
  | "xBase"
  | "xStride"
  | "xOff"
  | "oBase"
  | "oStride"
  | "oOff"
  | "vBase"
  | "vStride"
  | "vOff"
  | "width";

/** Names of the overrides of `attention.wgsl`. */
export type AttentionOverride = "KEY_DIM" | "HEAD_DIM" | "WG_Q" | "KV_SPLIT" | "PE_K";

/**
 * Params values of an attention dispatch: `pixels` is `H * W` (`width` is W), `scale` usually
 * `KEY_DIM ** -0.5`.
 */
export type AttentionParams = Record<AttentionParam, number>;

/** Override values of an attention pipeline. */
export type AttentionOverrides = Record<AttentionOverride, number>;

/**
 * The attention kernel: bindings x (qkv), o, v (a dummy with `PE_K` > 0), pw, pb (with `PE_K` > 0 the
 * positional depthwise conv's weights, PyTorch order `[channels, 1, PE_K, PE_K]`, and bias, whose conv of v
 * the kernel adds to o; dummies otherwise), params.
 */
export const attention: KernelSpec<AttentionParam, AttentionOverride> = {
  name: "attention",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "o", access: "read_write" },
    { name: "v", access: "read_write" },
    { name: "pw", access: "read" },
    { name: "pb", access: "read" },
    { name: "params", access: "uniform" },
  ],
  params: [
    ...u32Params<AttentionParam>("batch", "pixels", "numHeads"),
    { name: "scale", type: "f32" } satisfies ParamSpec<AttentionParam>,
    ...u32Params<AttentionParam>(
      "xBase",
      "xStride",
      "xOff",
      "oBase",
      "oStride",
      "oOff",
      "vBase",
      "vStride",
      "vOff",
      "width",
    ),
  ],
  overrides: { KEY_DIM: 32, HEAD_DIM: 64, WG_Q: 8, KV_SPLIT: 1, PE_K: 0 },
  dispatch(p, o) {
    const [x, z] = fold(ceilDiv(p.pixels, 4 * o.WG_Q));
    return [x, p.batch * p.numHeads, z];
  },
  validate(o) {
    if (!(o.KEY_DIM >= 1 && o.HEAD_DIM >= 1 && o.WG_Q >= 1)) {
      throw new RangeError(`Give attention positive KEY_DIM, HEAD_DIM and WG_Q`);
    }
    if (o.HEAD_DIM % 8 !== 0) {
      throw new RangeError(`Use an attention HEAD_DIM that is a multiple of 8: got ${o.HEAD_DIM}`);
    }
    if (!(Number.isInteger(o.PE_K) && o.PE_K >= 0 && (o.PE_K === 0 || o.PE_K % 2 === 1))) {
      throw new RangeError(`Give attention PE_K 0 (none) or an odd window: got ${o.PE_K}`);
    }
    if (!(Number.isInteger(o.KV_SPLIT) && o.KV_SPLIT >= 1) || !attentionStatesFit(o)) {
      throw new RangeError(
        `Give attention a whole KV_SPLIT >= 1 with (KV_SPLIT - 1) * WG_Q * 10 <= KV_SPLIT * HEAD_DIM: got ${o.KV_SPLIT}`,
      );
    }
  },
};

/**
 * Bytes of workgroup memory an attention pipeline uses (compare with the device's
 * `maxComputeWorkgroupStorageSize`): Q, K, V and score tiles of vec4s (K, V and scores once per key stream).
 *
 * @param o The full override set.
 * @returns The byte count; 20480 for the defaults (`WG_Q` 4 gives 16384).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attention, attentionWorkgroupBytes } from "./attention.ts";
 * assert.equal(attentionWorkgroupBytes(attention.overrides), 20480);
 * ```
 */
export function attentionWorkgroupBytes(
  o: Readonly<Omit<AttentionOverrides, "KV_SPLIT" | "PE_K"> & { KV_SPLIT?: number }>,
): number {
  const hd = o.HEAD_DIM;
  const stream = (o.KEY_DIM * hd) / 8 + (hd * hd) / 8 + (hd / 2) * o.WG_Q;
  return 16 * (o.KEY_DIM * o.WG_Q + (o.KV_SPLIT ?? 1) * stream);
}

/** Whether the key streams' states (10 vec4s per invocation of streams 1..) fit the V tiles they are merged in. */
function attentionStatesFit(o: Readonly<Omit<AttentionOverrides, "PE_K">>): boolean {
  return (o.KV_SPLIT - 1) * o.WG_Q * 10 <= o.KV_SPLIT * o.HEAD_DIM;
}

/**
 * Picks the attention `KV_SPLIT` (key streams per workgroup) for a tile: 1 when the query blocks alone give
 * `targetWorkgroups` workgroups, else the most streams, at most 4 and at most one per key block, whose
 * workgroup fits `maxWorkgroupBytes` and `maxInvocations` (and whose states fit the V tiles).
 *
 * @param o The tile (`KEY_DIM`, `HEAD_DIM`, `WG_Q`; `KV_SPLIT` is ignored).
 * @param pixels Pixels per image (`H * W`).
 * @param heads Heads times images.
 * @param targetWorkgroups Workgroups wanted to fill the device. @default {264}
 * @param maxWorkgroupBytes The device's `maxComputeWorkgroupStorageSize`. @default {16384}
 * @param maxInvocations The device's `maxComputeInvocationsPerWorkgroup`. @default {256}
 * @returns The `KV_SPLIT` override.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionKvSplit } from "./attention.ts";
 * const tile = { KEY_DIM: 32, HEAD_DIM: 64, WG_Q: 4, KV_SPLIT: 1 };
 * // YOLO11 at 640, batch 1: 25 query blocks x 2 heads; 3 streams fit 48 KiB.
 * assert.equal(attentionKvSplit(tile, 400, 2, 264, 49152), 3);
 * assert.equal(attentionKvSplit(tile, 400, 2, 264, 16384), 1);
 * assert.equal(attentionKvSplit(tile, 400, 64, 264, 49152), 1); // batch 32 fills the GPU
 * ```
 */
export function attentionKvSplit(
  o: Readonly<Omit<AttentionOverrides, "PE_K">>,
  pixels: number,
  heads: number,
  targetWorkgroups = 264,
  maxWorkgroupBytes = 16384,
  maxInvocations = 256,
): number {
  if (ceilDiv(pixels, 4 * o.WG_Q) * heads >= targetWorkgroups) return 1;
  const blocks = ceilDiv(pixels, o.HEAD_DIM / 2);
  for (let split = Math.min(4, blocks); split > 1; split--) {
    const t = { ...o, KV_SPLIT: split };
    if (
      attentionWorkgroupBytes(t) <= maxWorkgroupBytes &&
      (o.WG_Q * o.HEAD_DIM / 8) * split <= maxInvocations &&
      attentionStatesFit(t)
    ) {
      return split;
    }
  }
  return 1;
}

/**
 * Picks the attention `WG_Q`: 8 (32 queries per workgroup, each K/V block shared by more queries)
 * unless that leaves fewer than `targetWorkgroups` workgroups (small maps at batch 1 would leave most
 * of a large GPU idle), then 4 (one 32-wide warp per workgroup).
 *
 * @param pixels Pixels per image (`H * W`).
 * @param heads Heads times images (`numHeads * batch`).
 * @param targetWorkgroups Workgroups wanted to fill the device. @default {264}
 * @returns The `WG_Q` override.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionTile } from "./attention.ts";
 * assert.deepEqual(attentionTile(400, 2), { WG_Q: 4 });
 * assert.deepEqual(attentionTile(2040, 6), { WG_Q: 8 });
 * ```
 */
export function attentionTile(pixels: number, heads: number, targetWorkgroups = 264): { WG_Q: number } {
  return { WG_Q: ceilDiv(pixels, 32) * heads >= targetWorkgroups ? 8 : 4 };
}

/** `attention` with f16 activations (its `.wgsl` made f16 by `f16Variant`), for devices with `shader-f16`. */
export const attentionF16: typeof attention = f16Variant(attention);
