/** Max pooling, nearest upsampling and channel copies → their kernels. */
import { copyChannels } from "../../kernels/copy_channels.ts";
import { maxpool2d } from "../../kernels/maxpool2d.ts";
import { upsampleNearest } from "../../kernels/upsample_nearest.ts";
import type { MaxPoolOp, UpsampleOp } from "../graph/ir.ts";
import type { CopyStep, Plan } from "../graph/plan.ts";
import { type KernelCall, valueAt, viewParams } from "./kernel_call.ts";

/** `maxpool2d` for a max-pool op. */
export function maxPoolCall(op: MaxPoolOp, plan: Plan, label: string): KernelCall {
  const x = valueAt(plan, op.x);
  const y = valueAt(plan, op.y);
  return {
    label,
    spec: maxpool2d,
    overrides: { KSIZE: op.k, STRIDE: op.s },
    params: {
      batch: x.n,
      inH: x.h,
      inW: x.w,
      channels: x.c,
      outH: y.h,
      outW: y.w,
      pad: op.p,
      ...viewParams("x", x.loc),
      ...viewParams("y", y.loc),
    },
    bind: { x: { value: op.x }, y: { value: op.y } },
  };
}

/** `upsample_nearest` for an upsample op. */
export function upsampleCall(op: UpsampleOp, plan: Plan, label: string): KernelCall {
  const x = valueAt(plan, op.x);
  const y = valueAt(plan, op.y);
  return {
    label,
    spec: upsampleNearest,
    overrides: { SCALE: op.scale },
    params: {
      batch: x.n,
      inH: x.h,
      inW: x.w,
      channels: x.c,
      ...viewParams("x", x.loc),
      ...viewParams("y", y.loc),
    },
    bind: { x: { value: op.x }, y: { value: op.y } },
  };
}

/** `copy_channels` for a concat input that could not be written in place. */
export function copyCall(copy: CopyStep, plan: Plan, label: string): KernelCall {
  const x = valueAt(plan, copy.from);
  return {
    label,
    spec: copyChannels,
    overrides: {},
    params: {
      batch: x.n,
      height: x.h,
      width: x.w,
      channels: x.c,
      ...viewParams("x", x.loc),
      ...viewParams("y", copy.to),
    },
    bind: { x: { value: copy.from }, y: { region: copy.to.region } },
  };
}
