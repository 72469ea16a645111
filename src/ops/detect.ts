/**
 * The Detect/Segment decode → `detect`: reads each level's [box | cls | coeff] channels from the shared
 * head region (the planner places the three branches' last convs there) and writes `output0`.
 */
import { detect, detectParams } from "../../kernels/detect.ts";
import type { DetectOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import type { KernelCall } from "./kernel_call.ts";
import type { CallLimits } from "./plan_calls.ts";

/**
 * Output rows per invocation on a software adapter, where one row per invocation spends its time on
 * index arithmetic: the decode of 8400 anchors at 640 on lavapipe took 138 ms with 1, 56 with 8,
 * 64 with 16, 99 with 64.
 */
const SOFTWARE_JOBS = 8;

/**
 * The kernel calls of the detect op at the plan's shape: one, or on a software adapter two (the box axes,
 * then the class and coefficient channels: see `PART` in detect.wgsl).
 */
export function detectCalls(op: DetectOp, plan: Plan, limits: CallLimits = {}): KernelCall[] {
  const levels = op.boxes.map((box, l) => {
    const loc = plan.locs[box];
    const s = plan.shapes[box];
    const channels = 4 * op.regMax + op.nc + op.nm;
    if (loc.cOff !== 0 || loc.cStride !== channels) {
      throw new RangeError(`Cannot decode "${op.name}": level ${l} is not laid out as [box | cls | coeff]`);
    }
    return { xBase: loc.base, h: s.h, w: s.w, stride: op.strides[l] };
  });
  const n = plan.shapes[op.boxes[0]].n;
  const call = (overrides: Record<string, number>): KernelCall => ({
    label: op.name,
    spec: detect,
    overrides: { REG_MAX: op.regMax, ...overrides },
    params: detectParams(n, op.nc, op.nm, levels, plan.locs[op.y].base),
    bind: { x: { value: op.boxes[0] }, y: { value: op.y } },
  });
  if (!limits.software) return [call({ JOBS: 1 })];
  return [call({ JOBS: 2, PART: 1 }), call({ JOBS: SOFTWARE_JOBS, PART: 2 })];
}
