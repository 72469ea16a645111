/** A transposed conv (kernel == stride, Proto's 2x upsample) → `conv_transpose2d`. */
import { convTranspose2d, convTranspose2dTile } from "../../kernels/conv_transpose2d.ts";
import type { ConvTransposeOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import { type KernelCall, valueAt, viewParams } from "./kernel_call.ts";

/** The kernel call of one transposed conv at the plan's shape. */
export function convTransposeCall(op: ConvTransposeOp, plan: Plan, targetWorkgroups?: number): KernelCall {
  if (op.k !== op.s) throw new RangeError(`Cannot run "${op.name}": transposed conv needs kernel == stride`);
  const x = valueAt(plan, op.x);
  const y = valueAt(plan, op.y);
  return {
    label: op.name,
    spec: convTranspose2d,
    overrides: { KSIZE: op.k, ...convTranspose2dTile(op.cout, op.k, x.n * x.h * x.w, targetWorkgroups) },
    params: {
      batch: x.n,
      inH: x.h,
      inW: x.w,
      inC: op.cin,
      outC: op.cout,
      ...viewParams("x", x.loc),
      ...viewParams("y", y.loc),
    },
    bind: {
      x: { value: op.x },
      w: { weight: op.weight, packing: "conv_transpose2d" },
      b: { weight: op.bias, packing: "raw" },
      y: { value: op.y },
    },
  };
}
