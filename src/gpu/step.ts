/**
 * A recorded dispatch of a forward, and a step of a program: one kernel call with what it binds, and the
 * dispatches that must follow it in the same pass (a split-K conv's reduce).
 *
 * @module
 */
import type { BindingResource, CompiledKernel } from "./pipeline_cache.ts";

/** One step of a program. */
export interface Step {
  label: string;
  kernel: CompiledKernel;
  bindGroup: GPUBindGroup;
  dispatch: readonly [number, number, number];
  /** What the bind group binds (the autotuner rebinds it for other pipelines of the same kernel). */
  resources?: Record<string, BindingResource>;
  /** Dispatches that follow in the same pass (a split-K conv's reduce). */
  extra?: Dispatch[];
}

/** One recorded dispatch. */
export interface Dispatch {
  kernel: CompiledKernel;
  bindGroup: GPUBindGroup;
  dispatch: readonly [number, number, number];
}

/** Records a step (and its extra dispatches) into a compute pass. */
export function recordStep(pass: GPUComputePassEncoder, step: Dispatch & { extra?: Dispatch[] }): void {
  for (const d of [step, ...(step.extra ?? [])]) {
    pass.setPipeline(d.kernel.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.dispatch);
  }
}
