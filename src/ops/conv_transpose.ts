/**
 * A transposed conv (kernel == stride, Proto's 2x upsample) → `conv_transpose2d`; on a software
 * adapter, `conv2d_uniform` as one 1x1 conv per output phase (and output-channel chunk).
 */
import {
  conv2dUniformChunks,
  conv2dUniformSlices,
  conv2dUniformTile,
  conv2dUniformVec4In,
  conv2dUniformVec4Out,
} from "../../kernels/conv2d_uniform.ts";
import { convTranspose2d, convTranspose2dTile } from "../../kernels/conv_transpose2d.ts";
import type { ConvTransposeOp } from "../graph/ir.ts";
import type { Plan } from "../graph/plan.ts";
import { UNIFORM_WINDOW_BYTES, uniformConvSpec } from "./conv.ts";
import { type KernelCall, noView, valueAt, viewParams } from "./kernel_call.ts";
import type { CallLimits } from "./plan_calls.ts";

/** The kernel calls of one transposed conv at the plan's shape. */
export function convTransposeCalls(op: ConvTransposeOp, plan: Plan, limits: CallLimits = {}): KernelCall[] {
  if (op.k !== op.s) throw new RangeError(`Cannot run "${op.name}": transposed conv needs kernel == stride`);
  const x = valueAt(plan, op.x);
  const y = valueAt(plan, op.y);
  const tn4 = conv2dUniformTile(op.cout);
  const slices = limits.software ? conv2dUniformSlices(op.cin, 1, tn4) : 0;
  if (slices > 0) {
    const calls: KernelCall[] = [];
    const yView = { outC: op.cout, groups: 1, ...viewParams("y", y.loc), ...noView("r"), residual: 0 };
    const VEC4_OUT = conv2dUniformVec4Out(yView, { OUT_NCHW: 0 }) ? 1 : 0;
    for (let tap = 0; tap < op.k * op.k; tap++) {
      for (const { offset, ...chunk } of conv2dUniformChunks(op.cout, op.cin, 1, 1, tn4, slices)) {
        const xView = { inC: op.cin, outC: op.cout, groups: 1, ...viewParams("x", x.loc), ...chunk };
        calls.push({
          label: op.name,
          spec: uniformConvSpec(tn4, limits),
          overrides: {
            KSIZE: 1,
            STRIDE: 1,
            OUT_STEP: op.k,
            TN4: tn4,
            WG: limits.lanes ?? 8,
            VEC4_OUT,
            VEC4_IN: conv2dUniformVec4In(xView, { IN_NCHW: 0 }) ? 1 : 0,
          },
          params: {
            batch: x.n,
            inH: x.h,
            inW: x.w,
            inC: op.cin,
            outH: x.h,
            outW: x.w,
            outC: op.cout,
            groups: 1,
            pad: 0,
            ...viewParams("x", x.loc),
            ...viewParams("y", y.loc),
            ...noView("r"),
            ...chunk,
            phaseY: Math.floor(tap / op.k),
            phaseX: tap % op.k,
            act: 0,
            residual: 0,
          },
          bind: {
            x: { value: op.x },
            w: {
              weight: op.weight,
              bias: op.bias,
              packing: "conv2d_uniform",
              tn4,
              slices,
              transposedTap: tap,
              range: { offset, size: UNIFORM_WINDOW_BYTES },
            },
            r: { dummy: true },
            y: { value: op.y },
          },
        });
      }
    }
    return calls;
  }
  return [{
    label: op.name,
    spec: convTranspose2d,
    overrides: {
      KSIZE: op.k,
      ...convTranspose2dTile(op.cout, op.k, x.n * x.h * x.w, limits.targetWorkgroups),
    },
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
  }];
}
