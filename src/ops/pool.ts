/** Max pooling (SPPF's chain of three in one call), nearest upsampling and channel copies → their kernels. */
import { copyChannels } from "../../kernels/copy_channels.ts";
import { maxpool2d } from "../../kernels/maxpool2d.ts";
import { maxpool2dCascade, maxpool2dCascadeVec4Fits } from "../../kernels/maxpool2d_cascade.ts";
import { upsampleNearest, upsampleNearestVec4Fits } from "../../kernels/upsample_nearest.ts";
import type { MaxPoolOp, UpsampleOp } from "../graph/ir.ts";
import type { CopyStep, Plan } from "../graph/plan.ts";
import { type KernelCall, sameBuffer, valueAt, viewParams } from "./kernel_call.ts";
import type { CallLimits } from "./plan_calls.ts";

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

/**
 * SPPF's three chained pools starting at op `i`, when one `maxpool2d_cascade` call can run them: three max-pool
 * ops with the same odd window, stride 1 and pad `k / 2`, each reading the previous one's output, their
 * outputs in one buffer region (SPPF's concat) and no concat copy due between them. Undefined otherwise.
 */
export function poolChain(plan: Plan, i: number): [MaxPoolOp, MaxPoolOp, MaxPoolOp] | undefined {
  const ops = plan.ops.slice(i, i + 3);
  if (ops.length < 3 || !ops.every((o) => o.op === "maxpool")) return undefined;
  const [a, b, c] = ops as MaxPoolOp[];
  const same = (o: MaxPoolOp) => o.k === a.k && o.s === 1 && o.p === (a.k - 1) / 2;
  if (a.k % 2 !== 1 || !same(a) || !same(b) || !same(c) || b.x !== a.y || c.x !== b.y) return undefined;
  const region = plan.locs[a.y].region;
  if (plan.locs[b.y].region !== region || plan.locs[c.y].region !== region) return undefined;
  if (plan.copies.some((copy) => copy.at === i + 1 || copy.at === i + 2)) return undefined;
  return [a, b, c];
}

/** `maxpool2d_cascade` for a chain of three pools found by {@linkcode poolChain}. */
export function maxPoolCascadeCall(
  chain: [MaxPoolOp, MaxPoolOp, MaxPoolOp],
  plan: Plan,
  label: string,
  limits: CallLimits = {},
): KernelCall {
  const [a, b, c] = chain;
  const x = valueAt(plan, a.x);
  // SPPF's cv1 output (x) is the first part of the concat the pools write into: read through y then.
  const inY = sameBuffer(plan, a.x, a.y);
  const params = {
    batch: x.n,
    height: x.h,
    width: x.w,
    channels: x.c,
    ...viewParams("x", x.loc),
    ...viewParams("y1", plan.locs[a.y]),
    ...viewParams("y2", plan.locs[b.y]),
    ...viewParams("y3", plan.locs[c.y]),
  };
  // Four channels per invocation on software adapters, where each load is a loop over the lanes.
  const vec4 = limits.software === true && maxpool2dCascadeVec4Fits(params);
  return {
    label,
    spec: maxpool2dCascade,
    overrides: { KSIZE: a.k, X_IN_Y: inY ? 1 : 0, VEC4: vec4 ? 1 : 0 },
    params,
    bind: { x: inY ? { dummy: true } : { value: a.x }, y: { value: a.y } },
  };
}

/** `upsample_nearest` for an upsample op. */
export function upsampleCall(op: UpsampleOp, plan: Plan, label: string, limits: CallLimits = {}): KernelCall {
  const x = valueAt(plan, op.x);
  const y = valueAt(plan, op.y);
  const params = {
    batch: x.n,
    inH: x.h,
    inW: x.w,
    channels: x.c,
    ...viewParams("x", x.loc),
    ...viewParams("y", y.loc),
  };
  // Four channels per invocation on software adapters, where each load and store is a loop over the lanes.
  const vec4 = limits.software === true && upsampleNearestVec4Fits(params);
  return {
    label,
    spec: upsampleNearest,
    overrides: { SCALE: op.scale, VEC4: vec4 ? 1 : 0 },
    params,
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
