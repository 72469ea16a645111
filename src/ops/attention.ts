/** The attention core of C2PSA → `attention` (one workgroup column per image and head). */
import { attention, attentionTile, attentionWorkgroupBytes } from "../../kernels/attention.ts";
import type { AttentionOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import { type KernelCall, valueAt, viewParams } from "./kernel_call.ts";

/**
 * The kernel call of one attention op at the plan's shape; the query tile shrinks to fit
 * `maxWorkgroupStorage` bytes of workgroup memory (16 KiB is WebGPU's default limit).
 */
export function attentionCall(
  op: AttentionOp,
  plan: Plan,
  maxWorkgroupStorage = 16384,
  targetWorkgroups?: number,
): KernelCall {
  const x = valueAt(plan, op.qkv);
  const tile = {
    KEY_DIM: op.keyDim,
    HEAD_DIM: op.headDim,
    ...attentionTile(x.h * x.w, op.numHeads * x.n, targetWorkgroups),
  };
  while (tile.WG_Q > 1 && attentionWorkgroupBytes(tile) > maxWorkgroupStorage) tile.WG_Q /= 2;
  return {
    label: op.name,
    spec: attention,
    overrides: tile,
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
