/** A conv op → `dwconv2d` when depthwise, else `conv2d` with a tile chosen for its shape. */
import { conv2d, conv2dTile } from "../../kernels/conv2d.ts";
import { dwconv2d } from "../../kernels/dwconv2d.ts";
import type { ConvOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import { type KernelCall, noView, valueAt, viewParams } from "./kernel_call.ts";

/** The kernel call of one conv at the plan's shape, tiled to give about `targetWorkgroups` workgroups. */
export function convCall(op: ConvOp, plan: Plan, targetWorkgroups?: number): KernelCall {
  const x = valueAt(plan, op.x);
  const y = valueAt(plan, op.y);
  const residual = op.r === undefined ? undefined : valueAt(plan, op.r);
  const r = residual ? viewParams("r", residual.loc) : noView("r");
  const shape = { batch: x.n, inH: x.h, inW: x.w, outH: y.h, outW: y.w, pad: op.p };
  const bind = {
    x: { value: op.x },
    b: { weight: op.bias, packing: "raw" as const },
    r: op.r === undefined ? { dummy: true as const } : { value: op.r },
    y: { value: op.y },
  };
  const depthwise = op.g > 1 && op.g === op.cin && op.g === op.cout;
  const xNchw = plan.regions[x.loc.region].nchw;
  const yNchw = plan.regions[y.loc.region].nchw;
  if (depthwise && !xNchw && !yNchw) {
    return {
      label: op.name,
      spec: dwconv2d,
      overrides: { ACT: op.act === "silu" ? 1 : 0, KSIZE: op.k, STRIDE: op.s, RESIDUAL: residual ? 1 : 0 },
      params: { ...shape, channels: op.cin, ...viewParams("x", x.loc), ...viewParams("y", y.loc), ...r },
      bind: { ...bind, w: { weight: op.weight, packing: "dwconv2d" } },
    };
  }
  return {
    label: op.name,
    spec: conv2d,
    overrides: {
      ACT: op.act === "silu" ? 1 : 0,
      KSIZE: op.k,
      STRIDE: op.s,
      RESIDUAL: residual ? 1 : 0,
      IN_NCHW: xNchw ? 1 : 0,
      OUT_NCHW: yNchw ? 1 : 0,
      ...conv2dTile(op.cout / op.g, y.n * y.h * y.w, op.g, targetWorkgroups),
    },
    params: {
      ...shape,
      inC: op.cin,
      outC: op.cout,
      groups: op.g,
      ...viewParams("x", x.loc),
      ...viewParams("y", y.loc),
      ...r,
    },
    bind: { ...bind, w: { weight: op.weight, packing: "conv2d", groups: op.g } },
  };
}
