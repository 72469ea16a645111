/** The attention core of C2PSA → `attention` (one workgroup column per image and head). */
import {
  attention,
  attentionKvSplit,
  attentionTile,
  attentionWorkgroupBytes,
} from "../../kernels/attention.ts";
import type { AttentionOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import { type KernelCall, valueAt, viewParams } from "./kernel_call.ts";

/**
 * The kernel call of one attention op at the plan's shape; the query tile shrinks to fit
 * `maxWorkgroupStorage` bytes of workgroup memory (16 KiB is WebGPU's default limit). On hardware adapters
 * a small map also gets several key streams per workgroup (`attentionKvSplit`); software adapters, whose few
 * cores are busy anyway, keep one.
 */
export function attentionCall(
  op: AttentionOp,
  plan: Plan,
  maxWorkgroupStorage = 16384,
  targetWorkgroups?: number,
  software = false,
  maxInvocations = 256,
): KernelCall {
  const x = valueAt(plan, op.qkv);
  const tile = {
    KEY_DIM: op.keyDim,
    HEAD_DIM: op.headDim,
    ...attentionTile(x.h * x.w, op.numHeads * x.n, targetWorkgroups),
  };
  while (tile.WG_Q > 1 && attentionWorkgroupBytes(tile) > maxWorkgroupStorage) tile.WG_Q /= 2;
  const split = software ? 1 : attentionKvSplit(
    { ...tile, KV_SPLIT: 1 },
    x.h * x.w,
    op.numHeads * x.n,
    targetWorkgroups,
    maxWorkgroupStorage,
    maxInvocations,
  );
  return {
    label: op.name,
    spec: attention,
    overrides: { ...tile, KV_SPLIT: split },
    params: {
      batch: x.n,
      pixels: x.h * x.w,
      numHeads: op.numHeads,
      scale: op.scale,
      ...viewParams("x", x.loc),
      ...viewParams("o", plan.locs[op.o]),
      ...viewParams("v", plan.locs[op.v]),
    },
    bind: { x: { value: op.qkv }, o: { value: op.o }, v: { value: op.v } },
  };
}
