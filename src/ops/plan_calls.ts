/** Every kernel call of a planned forward, in execution order (split and concat cost nothing). */
import type { Plan } from "../graph/plan.ts";
import { attentionCall } from "./attention.ts";
import { convCalls } from "./conv.ts";
import { convTransposeCalls } from "./conv_transpose.ts";
import { detectCalls } from "./detect.ts";
import type { KernelCall } from "./kernel_call.ts";
import { copyCall, maxPoolCall, maxPoolCascadeCall, poolChain, upsampleCall } from "./pool.ts";

/** Device limits that change a kernel's tiling. */
export interface CallLimits {
  /** `maxComputeWorkgroupStorageSize` of the device. @default 16384 */
  maxWorkgroupStorage?: number;
  /**
   * Workgroups a dispatch should have to fill the device: tiles shrink on small maps until they reach it.
   * Large for a big GPU; small for a CPU (software) adapter, where big tiles are fastest. @default 264
   */
  targetWorkgroups?: number;
  /**
   * A CPU-backed adapter (lavapipe, SwiftShader) that runs invocations as SIMD lanes: convs use
   * `conv2d_uniform` (weights from a uniform buffer, big register tiles) instead of conv2d's GEMM tiles.
   * @default false
   */
  software?: boolean;
  /**
   * SIMD lanes of a software adapter (its subgroup size: 8 on a 256-bit llvmpipe), the workgroup size of
   * `conv2d_uniform`. @default 8
   */
  lanes?: number;
  /**
   * The device's subgroups are whole workgroups of `lanes` lanes with working shuffles (`subgroupsWork`):
   * `conv2d_uniform` reads its weights through them (`conv2d_uniform_subgroups`). @default false
   */
  subgroups?: boolean;
  /** `maxComputeInvocationsPerWorkgroup` of the device. @default 256 */
  maxInvocations?: number;
}

/** The kernel calls of `plan`, copies placed where their concat stands. */
export function planCalls(plan: Plan, limits: CallLimits = {}): KernelCall[] {
  const calls: KernelCall[] = [];
  let fused = -1; // ops up to this index are already in a call
  plan.ops.forEach((op, i) => {
    if (i <= fused) return;
    for (const [j, copy] of plan.copies.entries()) {
      if (copy.at === i) calls.push(copyCall(copy, plan, `copy.${i}.${j}`));
    }
    switch (op.op) {
      case "conv":
        calls.push(...convCalls(op, plan, limits));
        break;
      case "conv_transpose":
        calls.push(...convTransposeCalls(op, plan, limits));
        break;
      case "maxpool": {
        const chain = poolChain(plan, i);
        if (chain) {
          calls.push(maxPoolCascadeCall(chain, plan, `maxpool.${i}-${i + 2}`, limits));
          fused = i + 2;
        } else {
          calls.push(maxPoolCall(op, plan, `maxpool.${i}`));
        }
        break;
      }
      case "upsample":
        calls.push(upsampleCall(op, plan, `upsample.${i}`, limits));
        break;
      case "attention":
        calls.push(attentionCall(op, plan, limits));
        break;
      case "detect":
        calls.push(...detectCalls(op, plan, limits));
        break;
      case "split":
      case "concat":
        break;
      case "add":
        throw new RangeError("Fuse residual adds into convs before planning calls");
    }
  });
  return calls;
}
