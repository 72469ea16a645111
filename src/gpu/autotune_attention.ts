/**
 * The attention autotuner: for each attention step of a program, every variant of `attentionVariants`
 * (the key streams of `attention` with each query tile and stream count, and the whole-row `attention_rows`
 * tiles that fit the device) is built and timed on the GPU with timestamp queries, over the program's own
 * buffers, and the fastest replaces the heuristic choice. All variants compute the same attention (the
 * softmax sums in another order). Choices are remembered in the tuning cache like the conv tiles.
 *
 * @module
 */
import { attention } from "../../kernels/attention.ts";
import { attentionRows } from "../../kernels/attention_rows.ts";
import type { KernelSpec } from "../../kernels/_spec.ts";
import { progress } from "../log.ts";
import { type AttentionVariant, attentionVariants } from "../ops/attention.ts";
import type { KernelCall } from "../ops/kernel_call.ts";
import { timeTrials, tuneAdapterId, type TuneChoice, type TuneContext } from "./autotune.ts";
import type { Dispatch, Step } from "./step.ts";
import { hashText } from "./tune_cache.ts";

/** The attention kernels the tuner chooses among, by stem. */
const KERNELS: Readonly<Record<string, KernelSpec>> = {
  attention: attention as unknown as KernelSpec,
  attention_rows: attentionRows as unknown as KernelSpec,
};

/** What {@linkcode tuneAttentionSteps} did. */
export interface AttentionTuneResult {
  /** One entry per attention step, in network order. */
  layers: TuneChoice[];
  /** Variants were timed (not all choices came from the cache). */
  timed: boolean;
}

/**
 * Times every attention variant of each attention step (all in one submit, after `fill` when given) and
 * swaps the fastest into `steps`; cached choices are used without timing. A variant the driver rejects is
 * left out.
 */
export async function tuneAttentionSteps(
  ctx: TuneContext,
  shape: string,
  calls: KernelCall[],
  steps: Step[],
  fill?: () => Promise<void>,
): Promise<AttentionTuneResult> {
  const t0 = performance.now();
  const limits = ctx.gpu.device.limits;
  const cache = await ctx.tuneCache;
  const adapterId = tuneAdapterId(ctx.gpu);
  const codeHash = hashText(Object.values(KERNELS).map((k) => ctx.spec(k).code).join("\n"));
  interface Trial extends Dispatch {
    variant: AttentionVariant;
  }
  interface Tuned {
    step: number;
    key: string;
    trials: Trial[];
    cached: boolean;
    heuristicMs: number;
    candidates: number;
  }
  const tuned: Tuned[] = [];
  await Promise.all(steps.map(async (step, i) => {
    const call = calls[i];
    if (!(call.spec.name in KERNELS) || !step.resources) return;
    const p = call.params;
    const variants = attentionVariants(
      call.overrides.KEY_DIM,
      call.overrides.HEAD_DIM,
      p.pixels,
      p.numHeads * p.batch,
      {
        maxWorkgroupStorage: limits.maxComputeWorkgroupStorageSize,
        maxInvocations: limits.maxComputeInvocationsPerWorkgroup,
        targetWorkgroups: ctx.targetWorkgroups,
      },
      call.overrides.PE_K ?? 0,
    );
    const { KEY_DIM, HEAD_DIM, PE_K = 0 } = call.overrides;
    const key = [adapterId, codeHash, ctx.spec(attention).name, JSON.stringify(p), KEY_DIM, HEAD_DIM, PE_K]
      .join("|");
    const hit = cache.get(key);
    const known = hit?.kernel && hit.kernel in KERNELS
      ? variants.find((v) =>
        variantKey(v.spec.name, v.overrides) ===
          variantKey(hit.kernel!, hit.tile as Readonly<Record<string, number>>)
      )
      : undefined;
    const entry: Tuned = {
      step: i,
      key,
      trials: [],
      cached: !!known,
      heuristicMs: hit?.heuristicMs ?? NaN,
      candidates: known ? hit!.candidates : variants.length,
    };
    const built = await Promise.all((known ? [known] : variants).map(async (variant) => {
      try {
        const spec = ctx.spec(variant.spec);
        const kernel = await ctx.cache.get(spec, variant.overrides);
        return {
          variant,
          kernel,
          bindGroup: ctx.cache.bindGroup(kernel, step.resources!, `${step.label}.tune`),
          dispatch: spec.dispatch(p, kernel.overrides),
        };
      } catch {
        return undefined; // rejected by this driver: left out
      }
    }));
    entry.trials = built.filter((t): t is Trial => t !== undefined);
    if (entry.trials.length > 0) tuned.push(entry); // else nothing could be built: the heuristic stays
  }));
  tuned.sort((a, b) => a.step - b.step);
  const toTime = tuned.filter((e) => !e.cached);
  if (toTime.length > 0 && fill) await fill();
  const times = await timeTrials(ctx.gpu.device, toTime.flatMap((e) => e.trials));
  let offset = 0;
  const layers: TuneChoice[] = [];
  for (const e of tuned) {
    const step = steps[e.step];
    let pick = 0;
    let bestMs = cache.get(e.key)?.bestMs ?? NaN;
    if (!e.cached) {
      const ms = times.subarray(offset, offset + e.trials.length);
      offset += e.trials.length;
      for (let j = 1; j < ms.length; j++) if (ms[j] < ms[pick]) pick = j;
      if (!Number.isFinite(ms[pick])) continue; // unusable timestamps: the heuristic stays
      bestMs = ms[pick];
      e.heuristicMs = e.trials[0].kernel.key === step.kernel.key ? ms[0] : NaN;
      const t = e.trials[pick];
      cache.set(e.key, {
        kernel: t.variant.spec.name,
        tile: t.variant.overrides,
        heuristicMs: e.heuristicMs,
        bestMs,
        candidates: e.trials.length,
      });
    }
    const t = e.trials[pick];
    steps[e.step] = { ...step, kernel: t.kernel, bindGroup: t.bindGroup, dispatch: t.dispatch };
    layers.push({
      label: step.label,
      heuristicMs: e.heuristicMs,
      bestMs,
      kernel: t.kernel.key,
      candidates: e.candidates,
      cached: e.cached,
    });
  }
  await cache.save();
  if (toTime.length > 0) {
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    const gains = layers.filter((l) => !l.cached).map((l) =>
      `${l.label} ${l.heuristicMs.toFixed(3)} -> ${l.bestMs.toFixed(3)} ms`
    );
    progress(`autotune ${shape}: attention in ${seconds} s, ${gains.join(", ")}`, "done");
  }
  return { layers, timed: toTime.length > 0 };
}

/** A kernel stem and override set as one comparable string (overrides in name order). */
function variantKey(kernel: string, overrides: Readonly<Record<string, number>>): string {
  return `${kernel}|${Object.keys(overrides).sort().map((k) => `${k}=${overrides[k]}`).join(",")}`;
}
