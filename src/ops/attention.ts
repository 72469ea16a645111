/** The attention core of C2PSA → `attention` (one workgroup column per image and head). */
import { attention } from "../../kernels/attention.ts";
import type { AttentionOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import { type KernelCall, valueAt, viewParams } from "./kernel_call.ts";

/** The kernel call of one attention op at the plan's shape. */
export function attentionCall(op: AttentionOp, plan: Plan): KernelCall {
  const x = valueAt(plan, op.qkv);
  return {
    label: op.name,
    spec: attention,
    overrides: { KEY_DIM: op.keyDim, HEAD_DIM: op.headDim },
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
