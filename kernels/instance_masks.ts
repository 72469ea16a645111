/**
 * Spec of `instance_masks.wgsl`: the binary masks (process_mask, `retina_masks=False`) of the detections
 * `nms` kept, written as bits (32 pixels a word) into each image's pool at the windows nms gave them, with
 * their areas.
 *
 * @module
 */
import code from "./instance_masks.wgsl" with { type: "text" };
import { type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `instance_masks.wgsl`, in order. */
export type InstanceMasksParam =
  | "batch"
  | "maxDet"
  | "cap"
  | "channels"
  | "nc"
  | "nm"
  | "ih"
  | "iw"
  | "mh"
  | "mw"
  | "headerStride"
  | "poolWords"
  | "protoBase";

/** Params values of an instance_masks dispatch. */
export type InstanceMasksParams = Record<InstanceMasksParam, number>;

/**
 * Whether the kernel supports an input of `[ih, iw]` with `[mh, mw]` prototypes: one integer ratio of at
 * least 3 on both axes (a 32-pixel tile's taps then fit its 16x16 logits), as YOLO's stride-4 prototypes,
 * and a width of whole 32-pixel words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { supportsInstanceMasks } from "./instance_masks.ts";
 * assert.equal(supportsInstanceMasks([480, 640], [120, 160]), true);
 * assert.equal(supportsInstanceMasks([480, 640], [240, 320]), false);
 * ```
 */
export function supportsInstanceMasks(input: readonly number[], protos: readonly number[]): boolean {
  const [ih, iw] = input, [mh, mw] = protos;
  const r = ih / mh;
  return Number.isInteger(r) && r >= 3 && iw === r * mw && iw % 32 === 0;
}

/**
 * The instance_masks kernel: bindings rows (select_candidates' lists), protos (f32 output1 `[batch][nm][mh][mw]`
 * from `protoBase`), header (nms's, u32; areas are added), pool (u32, `batch * poolWords`), params. A
 * direct dispatch covers `maxDet` records of `batch` images with `GROUPS` workgroups each; the executor
 * dispatches it indirectly with nms's arguments instead.
 */
export const instanceMasks: KernelSpec<InstanceMasksParam, "GROUPS"> = {
  name: "instance_masks",
  code,
  bindings: [
    { name: "rows", access: "read" },
    { name: "protos", access: "read" },
    { name: "header", access: "read_write" },
    { name: "pool", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<InstanceMasksParam>(
    "batch",
    "maxDet",
    "cap",
    "channels",
    "nc",
    "nm",
    "ih",
    "iw",
    "mh",
    "mw",
    "headerStride",
    "poolWords",
    "protoBase",
  ),
  overrides: { GROUPS: 8 },
  dispatch(p, o) {
    return [o.GROUPS, Math.max(1, p.maxDet), p.batch];
  },
};
