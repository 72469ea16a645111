/**
 * Spec of `letterbox.wgsl`: an 8-bit RGB image (bytes packed 4 per u32) letterboxed into NCHW float32
 * `byte / 255` at an element offset, bit for bit as `letterboxInto` (src/data/letterbox.ts, its CPU twin)
 * computes it. One invocation per output pixel. The tables `t` (float LUT, then OpenCV's fixed-point
 * column and row taps) come from `letterboxTables` in src/data/letterbox_gpu.ts.
 *
 * @module
 */
import code from "./letterbox.wgsl" with { type: "text" };
import { ceilDiv, fold, type KernelSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `letterbox.wgsl`, in order. */
export type LetterboxParam =
  | "srcW"
  | "srcH"
  | "resizedW"
  | "resizedH"
  | "outW"
  | "outH"
  | "top"
  | "left"
  | "offset"
  | "mode"
  | "pad";

/** Values of the `mode` Params field: how the source becomes the resized image. */
export const LETTERBOX_MODE = { copy: 0, area2x: 1, bilinear: 2 } as const;

/** The letterbox kernel: bindings x (image bytes), t (tables), y (output), params. */
export const letterbox: KernelSpec<LetterboxParam, "WG"> = {
  name: "letterbox",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "t", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params<LetterboxParam>(
    "srcW",
    "srcH",
    "resizedW",
    "resizedH",
    "outW",
    "outH",
    "top",
    "left",
    "offset",
    "mode",
    "pad",
  ),
  overrides: { WG: 64 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.outW * p.outH, o.WG));
    return [x, y, 1];
  },
};
