/**
 * The kernel registry: every kernel spec, for the executor and for tests that iterate all
 * kernels (binding/Params consistency, compilation).
 *
 * @module
 */
import type { KernelSpec } from "./_spec.ts";
import { attention, attentionF16 } from "./attention.ts";
import { attentionRows, attentionRowsF16 } from "./attention_rows.ts";
import { conv2d, conv2dF16 } from "./conv2d.ts";
import { conv2dSplitkReduce, conv2dSplitkReduceF16 } from "./conv2d_splitk_reduce.ts";
import {
  conv2dUniform,
  conv2dUniformF16,
  conv2dUniformSubgroups,
  conv2dUniformSubgroupsF16,
} from "./conv2d_uniform.ts";
import { convTranspose2d, convTranspose2dF16 } from "./conv_transpose2d.ts";
import { copyChannels, copyChannelsF16 } from "./copy_channels.ts";
import { detect, detectF16 } from "./detect.ts";
import { dwconv2d, dwconv2dF16 } from "./dwconv2d.ts";
import { dwconv2dUniform, dwconv2dUniformF16 } from "./dwconv2d_uniform.ts";
import { instanceMasks } from "./instance_masks.ts";
import { letterbox } from "./letterbox.ts";
import { maxpool2d, maxpool2dF16 } from "./maxpool2d.ts";
import { maxpool2dCascade, maxpool2dCascadeF16 } from "./maxpool2d_cascade.ts";
import { nms } from "./nms.ts";
import { selectCandidates } from "./select_candidates.ts";
import { subgroupProbe } from "./subgroup_probe.ts";
import { toF16 } from "./to_f16.ts";
import { toF32 } from "./to_f32.ts";
import { upsampleNearest, upsampleNearestF16 } from "./upsample_nearest.ts";

export {
  attention,
  attentionRows,
  conv2d,
  conv2dSplitkReduce,
  conv2dUniform,
  conv2dUniformSubgroups,
  convTranspose2d,
  copyChannels,
  detect,
  dwconv2d,
  dwconv2dUniform,
  instanceMasks,
  letterbox,
  maxpool2d,
  maxpool2dCascade,
  nms,
  selectCandidates,
  subgroupProbe,
  toF16,
  toF32,
  upsampleNearest,
};

/** Every kernel spec, by stem. */
export const kernels: Readonly<Record<string, KernelSpec>> = {
  conv2d,
  conv2d_splitk_reduce: conv2dSplitkReduce,
  conv2d_uniform: conv2dUniform,
  conv2d_uniform_subgroups: conv2dUniformSubgroups,
  dwconv2d,
  dwconv2d_uniform: dwconv2dUniform,
  maxpool2d,
  maxpool2d_cascade: maxpool2dCascade,
  upsample_nearest: upsampleNearest,
  copy_channels: copyChannels,
  conv_transpose2d: convTranspose2d,
  attention,
  attention_rows: attentionRows,
  detect,
  letterbox,
  select_candidates: selectCandidates,
  nms,
  instance_masks: instanceMasks,
  subgroup_probe: subgroupProbe,
};

/**
 * The f16 variant of each kernel that has one, keyed by the f32 kernel's stem: what a half-precision
 * forward runs instead (`select_candidates`, `nms` and `instance_masks` read f32 outputs and have none).
 */
export const f16Kernels: Readonly<Record<string, KernelSpec>> = {
  conv2d: conv2dF16,
  conv2d_splitk_reduce: conv2dSplitkReduceF16,
  conv2d_uniform: conv2dUniformF16,
  conv2d_uniform_subgroups: conv2dUniformSubgroupsF16,
  dwconv2d: dwconv2dF16,
  dwconv2d_uniform: dwconv2dUniformF16,
  maxpool2d: maxpool2dF16,
  maxpool2d_cascade: maxpool2dCascadeF16,
  upsample_nearest: upsampleNearestF16,
  copy_channels: copyChannelsF16,
  conv_transpose2d: convTranspose2dF16,
  attention: attentionF16,
  attention_rows: attentionRowsF16,
  detect: detectF16,
};

/** Kernels that exist only in half mode: the input and output casts (they need `shader-f16`). */
export const castKernels: Readonly<Record<string, KernelSpec>> = { to_f16: toF16, to_f32: toF32 };
