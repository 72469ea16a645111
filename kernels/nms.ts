/**
 * Spec of `nms.wgsl`: predict's non-maximum suppression of each image's candidate list on the GPU (one
 * workgroup per image), writing a header of kept detections with their mask windows and pool room for
 * `instance_masks`, and that kernel's indirect dispatch.
 *
 * @module
 */
import code from "./nms.wgsl" with { type: "text" };
import { type KernelSpec, type ParamSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `nms.wgsl`, in order. */
export type NmsParam =
  | "batch"
  | "cap"
  | "channels"
  | "nc"
  | "maxDet"
  | "classFilter"
  | "agnostic"
  | "headerStride"
  | "ih"
  | "iw"
  | "mh"
  | "mw"
  | "poolWords"
  | "groups"
  | "iou"
  | "maxWh";

/** Params values of an nms dispatch. */
export type NmsParams = Record<NmsParam, number>;

/** Words of an image's header before its detection records: count, status, pool words used, 0. */
export const NMS_HEADER_WORDS = 4;

/** Words of one detection record (see `nms.wgsl`). */
export const NMS_DET_WORDS = 20;

/** Header words of one image holding up to `maxDet` records. */
export function nmsHeaderStride(maxDet: number): number {
  return NMS_HEADER_WORDS + maxDet * NMS_DET_WORDS;
}

/** Image status in the header: the candidates were NMS'd on the GPU. */
export const NMS_DONE = 0;
/** Image status in the header: more candidates than the list holds (nothing done; the CPU path runs). */
export const NMS_OVERFLOW = 1;

/** Mask status of a record: the crop is empty (no mask pixel can be set). */
export const MASK_EMPTY = 0;
/** Mask status of a record: the mask is in the pool. */
export const MASK_STORED = 1;
/** Mask status of a record: the image's pool had no room left for it. */
export const MASK_NO_ROOM = 2;

/**
 * The IoU threshold as the kernel compares it: the largest float32 not above `iou`, so that `ratio > t`
 * in float32 is `ratio > iou` in double (torchvision's CPU comparison of a float32 IoU).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nmsIouThreshold } from "./nms.ts";
 * assert.ok(nmsIouThreshold(0.7) <= 0.7 && Math.fround(nmsIouThreshold(0.7)) === nmsIouThreshold(0.7));
 * assert.equal(nmsIouThreshold(0.5), 0.5);
 * ```
 */
export function nmsIouThreshold(iou: number): number {
  const t = Math.fround(iou);
  if (t <= iou) return t;
  const bits = new Uint32Array(new Float32Array([t]).buffer);
  bits[0] += t > 0 ? -1 : 1;
  return new Float32Array(bits.buffer)[0];
}

/**
 * The nms kernel: bindings rows (select_candidates' lists `[batch][cap][channels + 1]`), count (their
 * u32 counts), classes (a bit per class index when `classFilter`), scratch (f32, `batch * cap * 16`), header
 * (u32, `batch * headerStride`), args (3 u32: instance_masks' indirect dispatch, zeroed before), params.
 * `MAXN` must be at least `cap` (workgroup arrays of that length: 12 bytes each).
 */
export const nms: KernelSpec<NmsParam, "WG" | "MAXN"> = {
  name: "nms",
  code,
  bindings: [
    { name: "rows", access: "read" },
    { name: "count", access: "read" },
    { name: "classes", access: "read" },
    { name: "scratch", access: "read_write" },
    { name: "header", access: "read_write" },
    { name: "args", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: [
    ...u32Params<NmsParam>(
      "batch",
      "cap",
      "channels",
      "nc",
      "maxDet",
      "classFilter",
      "agnostic",
      "headerStride",
      "ih",
      "iw",
      "mh",
      "mw",
      "poolWords",
      "groups",
    ),
    ...(["iou", "maxWh"] as const).map((name) => ({ name, type: "f32" }) satisfies ParamSpec<NmsParam>),
  ],
  overrides: { WG: 256, MAXN: 1024 },
  dispatch(p) {
    return [p.batch, 1, 1];
  },
  validate(o) {
    if (!(o.WG >= 32 && o.MAXN >= 1)) {
      throw new RangeError(`Give nms a WG of at least 32 and a positive MAXN: got ${o.WG}, ${o.MAXN}`);
    }
  },
};
