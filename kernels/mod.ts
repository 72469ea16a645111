/**
 * The kernel registry: every kernel spec, for the executor and for tests that iterate all
 * kernels (binding/Params consistency, compilation).
 *
 * @module
 */
import type { KernelSpec } from "./_spec.ts";
import { attention } from "./attention.ts";
import { conv2d } from "./conv2d.ts";
import { conv2dUniform } from "./conv2d_uniform.ts";
import { convTranspose2d } from "./conv_transpose2d.ts";
import { copyChannels } from "./copy_channels.ts";
import { detect } from "./detect.ts";
import { dwconv2d } from "./dwconv2d.ts";
import { dwconv2dUniform } from "./dwconv2d_uniform.ts";
import { maskMatmul } from "./mask_matmul.ts";
import { maxpool2d } from "./maxpool2d.ts";
import { upsampleNearest } from "./upsample_nearest.ts";

export {
  attention,
  conv2d,
  conv2dUniform,
  convTranspose2d,
  copyChannels,
  detect,
  dwconv2d,
  dwconv2dUniform,
  maskMatmul,
  maxpool2d,
  upsampleNearest,
};

/** Every kernel spec, by stem. */
export const kernels: Readonly<Record<string, KernelSpec>> = {
  conv2d,
  conv2d_uniform: conv2dUniform,
  dwconv2d,
  dwconv2d_uniform: dwconv2dUniform,
  maxpool2d,
  upsample_nearest: upsampleNearest,
  copy_channels: copyChannels,
  conv_transpose2d: convTranspose2d,
  attention,
  detect,
  mask_matmul: maskMatmul,
};
