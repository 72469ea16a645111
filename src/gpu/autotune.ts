/**
 * The conv autotuner: for each conv2d step of a program, every candidate tile (register tiles, workgroup
 * shapes, split-K with its reduce, prefetching) is built and timed on the GPU itself with timestamp queries
 * in one submit, and the fastest replaces the heuristic tile. Choices are remembered in the tuning cache
 * per adapter, kernel source, pipeline and layer shape. Candidates compute the same values (split-K only
 * reorders the sums); a candidate the driver rejects is skipped.
 *
 * @module
 */
import {
  conv2dBufferCandidates,
  conv2dDepthCandidates,
  conv2dFullTile,
  conv2dGroupCandidates,
  type Conv2dParams,
  conv2dPostGroupCandidates,
  conv2dPostRows,
  conv2dPostTiles,
  conv2dPrefetchCandidates,
  conv2dSplitCandidates,
  type Conv2dTile,
  conv2dTileCandidates,
  conv2dTileKey,
  conv2dVecFits,
} from "../../kernels/conv2d.ts";
import { conv2dSplitkReduce } from "../../kernels/conv2d_splitk_reduce.ts";
import type { KernelSpec } from "../../kernels/_spec.ts";
import { progress } from "../log.ts";
import type { KernelCall } from "../ops/kernel_call.ts";
import type { Gpu } from "./device.ts";
import type { PipelineCache } from "./pipeline_cache.ts";
import { type Dispatch, recordStep, type Step } from "./step.ts";
import { hashText, type TuneCache, type TuneEntry } from "./tune_cache.ts";
import type { FoldChoice } from "./autotune_folds.ts";

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** What the tuner needs of the executor. */
export interface TuneContext {
  gpu: Gpu;
  cache: PipelineCache;
  /** Workgroups that fill the device (the heuristic tiles aim for it). */
  targetWorkgroups: number;
  /** The kernel a call runs (its f16 variant in half mode). */
  spec(spec: KernelSpec): KernelSpec;
  /** Where choices are remembered. */
  tuneCache: Promise<TuneCache>;
  /** Restricts the candidates (see `ExecutorOptions.tuneFilter`). */
  tuneFilter?: (tile: Required<Conv2dTile>) => boolean;
  /**
   * Runs the program once on {@linkcode tuneImage} so that its buffers hold the activations of an image
   * while candidates are timed (called only when something is to be timed). Fresh buffers hold zeros, and on
   * the H200 the batch-32 convs timed on zeros took a third of their time in the network.
   */
  fill?: () => Promise<void>;
  /**
   * Half mode: the f16-arithmetic conv2d (`conv2d_f16_math`), timed in the second round on each layer's three
   * fastest tiles (`HALF_MATH: 1`) and kept where it is faster.
   */
  halfMath?: KernelSpec;
}

/** What the autotuner chose for one layer of a program. */
export interface TuneChoice {
  /** The op's Ultralytics module path. */
  label: string;
  /** GPU milliseconds of the heuristic tile (the untuned choice; NaN when `tuneFilter` excluded it). */
  heuristicMs: number;
  /** GPU milliseconds of the chosen tile. */
  bestMs: number;
  /** The chosen pipeline's key (kernel and overrides). */
  kernel: string;
  /** Tiles timed. */
  candidates: number;
  /** The choice came from the tuning cache (no timing this time). */
  cached: boolean;
}

/** The autotuner's report for one input shape. */
export interface TuneReport {
  /** `n x h x w`. */
  shape: string;
  /** Milliseconds spent tuning (pipeline builds, timing, cache reads and writes). */
  ms: number;
  /** One entry per tuned conv layer, in network order. */
  layers: TuneChoice[];
  /**
   * One entry per attention layer, whose kernel (key streams or whole rows) and tile were chosen by GPU time
   * (`tuneAttentionSteps`); empty until the executor adds them.
   */
  attention: TuneChoice[];
  /** Candidates were timed on the activations of {@linkcode tuneImage} (false: nothing timed, or zeros). */
  filled: boolean;
  /**
   * The kinds of fold the shape's program makes, where they were chosen by timing forwards (`fuse` true on a
   * hardware adapter; see `autotune_folds.ts`); then `ms` counts the other programs built and timed too.
   */
  folds?: FoldChoice;
}

/**
 * A deterministic stand-in for a batch of letterboxed photos, NCHW in [0, 1]: smooth colour gradients,
 * blocks with hard edges, fine noise and a grey (114) border, so that every layer of a network sees
 * activations of the spread and sign a real image gives (what the tuner times candidates on).
 */
export function tuneImage(n: number, h: number, w: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n * 3 * h * w);
  const border = Math.floor(h / 10);
  const sx = new Float32Array(w), cy = new Float32Array(h);
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < 3; c++) {
      for (let x = 0; x < w; x++) sx[x] = 0.25 * Math.sin(0.031 * x + 0.7 * c + b);
      for (let y = 0; y < h; y++) cy[y] = Math.cos(0.023 * y - 0.4 * c);
      for (let y = 0; y < h; y++) {
        if (y < border || y >= h - border) {
          out.fill(114 / 255, i, i + w);
          i += w;
          continue;
        }
        for (let x = 0; x < w; x++, i++) {
          const block = ((Math.floor(x / 37) + Math.floor(y / 29) + c) % 3 - 1) * 0.12;
          let hash = Math.imul(x + 7919 * y + 104729 * (c + 3 * b), 0x9e3779b1);
          hash ^= hash >>> 15;
          const noise = ((hash & 0xff) / 255 - 0.5) * 0.2;
          out[i] = Math.min(1, Math.max(0, 0.5 + sx[x] * cy[y] + block + noise));
        }
      }
    }
  }
  return out;
}

/** The adapter part of a tuning-cache key: vendor, architecture, device and description. */
export function tuneAdapterId(gpu: Gpu): string {
  const info = gpu.device.adapterInfo ?? gpu.adapter?.info;
  return info ? [info.vendor, info.architecture, info.device, info.description].join("/") : "unknown adapter";
}

/**
 * Autotune: for every conv2d step, build each tile candidate's pipeline, time them all on the GPU in one
 * submit (a compute pass with timestamps per dispatch, two rounds, the faster round counts) over the
 * program's own buffers, and swap in the fastest. Candidates compute the same sums (split-K in another
 * order). Layers of one key share one choice. Choices remembered in the tuning cache (same adapter, kernel source, pipeline and layer shape) are used
 * without timing; new ones are added to it.
 */
export async function tuneConvSteps(
  ctx: TuneContext,
  shape: string,
  calls: KernelCall[],
  specs: KernelSpec[],
  steps: Step[],
  buffers: GPUBuffer[],
  uniforms: GPUBuffer[],
): Promise<TuneReport> {
  const t0 = performance.now();
  const device = ctx.gpu.device;
  const limits = device.limits;
  const cache = await ctx.tuneCache;
  const adapterId = tuneAdapterId(ctx.gpu);
  interface Trial extends Dispatch {
    tile: Required<Conv2dTile>;
    extra?: Dispatch[];
  }
  interface Tuned {
    step: number;
    key: string;
    trials: Trial[];
    cached?: TuneEntry;
    /** An earlier layer of the same key (same shape, views and pipeline): it takes that one's choice. */
    dupOf?: Tuned;
    chosen?: { tile: Required<Conv2dTile>; report: TuneChoice };
  }
  const byKey = new Map<string, Tuned>();
  const tuned: Tuned[] = [];
  const pending: Promise<void>[] = [];
  // Split-K trials share one partial-sum buffer, sized for the largest of them; dropped if none is chosen.
  const maxScratch = Math.min(limits.maxStorageBufferBindingSize, 2 ** 26) / 4;
  const candidatesOf = new Map<number, Required<Conv2dTile>[]>();
  let scratchElements = 0;
  steps.forEach((step, i) => {
    if (calls[i].spec.name !== "conv2d" || !step.resources) return;
    const p = calls[i].params as Conv2dParams;
    const pixels = p.batch * p.outH * p.outW;
    const postN = calls[i].overrides.POST_N ?? 0;
    if (postN > 0) {
      // A fused post-conv: tiles spanning all the layer's channels, unsplit (the heuristic's first), with the
      // heuristic's rows per post-conv work item (conv2dPostRows).
      const withRows = (t: Conv2dTile) => ({ ...conv2dFullTile(t), POST_ROWS: conv2dPostRows(t, postN) });
      const post = conv2dPostTiles(
        p.outC,
        pixels,
        ctx.targetWorkgroups,
        limits.maxComputeWorkgroupStorageSize,
        limits.maxComputeInvocationsPerWorkgroup,
      ).map(withRows);
      const prefetch = conv2dPrefetchCandidates(post.slice(0, 3)); // of the heuristic tile and the next two
      // On small maps: the reduction split over invocation groups inside the workgroup (no split-K here).
      const ksize = calls[i].overrides.KSIZE ?? 1;
      const grouped = conv2dPostGroupCandidates(
        post,
        ksize * ksize * p.inC,
        pixels,
        ctx.targetWorkgroups,
        limits.maxComputeWorkgroupStorageSize,
        limits.maxComputeInvocationsPerWorkgroup,
        1,
      ).map(withRows);
      // The other rows per work item (1 <-> 4) on the heuristic tile. (Every candidate is a pipeline to build:
      // more variants here took the lavapipe tuner test from 3.5 to 17 minutes.)
      const flipped = post.slice(0, 1).map((t) => ({ ...t, POST_ROWS: 5 - t.POST_ROWS }));
      candidatesOf.set(
        i,
        [...post, ...prefetch, ...grouped, ...flipped].filter((t) => ctx.tuneFilter?.(t) ?? true),
      );
      return;
    }
    const tiles = conv2dTileCandidates(
      p.outC / p.groups,
      pixels,
      p.groups,
      ctx.targetWorkgroups,
      limits.maxComputeWorkgroupStorageSize,
      limits.maxComputeInvocationsPerWorkgroup,
    );
    const ksize = calls[i].overrides.KSIZE ?? 1;
    const kTotal = ksize * ksize * (p.inC / p.groups);
    const splits = conv2dSplitCandidates(
      tiles,
      kTotal,
      pixels,
      p.outC / p.groups,
      p.groups,
      ctx.targetWorkgroups,
      maxScratch,
    );
    // Prefetching variants of the heuristic tile and of the split ones (the layers bound by load latency).
    const prefetch = conv2dPrefetchCandidates([...tiles.slice(0, 1).map(conv2dFullTile), ...splits]);
    // Deeper reduction steps (BK 32) for the single-pass tiles of long reductions.
    const deep = conv2dDepthCandidates(
      tiles.map(conv2dFullTile),
      kTotal,
      limits.maxComputeWorkgroupStorageSize,
    );
    // Double-buffered workgroup tiles (one barrier per step), plain and prefetching.
    const double = conv2dBufferCandidates(tiles.map(conv2dFullTile), limits.maxComputeWorkgroupStorageSize);
    // Reduction steps split over invocation groups inside the workgroup (no reduce dispatch).
    const grouped = conv2dGroupCandidates(
      tiles,
      kTotal,
      pixels,
      p.outC / p.groups,
      p.groups,
      ctx.targetWorkgroups,
      limits.maxComputeWorkgroupStorageSize,
      limits.maxComputeInvocationsPerWorkgroup,
      maxScratch,
    );
    const all = [...tiles.map(conv2dFullTile), ...deep, ...double, ...splits, ...prefetch, ...grouped].filter(
      (t) => ctx.tuneFilter?.(t) ?? true,
    );
    candidatesOf.set(i, all);
    for (const t of all) {
      if (t.KSPLIT > 1) scratchElements = Math.max(scratchElements, t.KSPLIT * pixels * p.outC);
    }
  });
  const scratch = scratchElements > 0
    ? device.createBuffer({ label: "splitk.partials", size: scratchElements * 4, usage: USAGE })
    : undefined;
  const reduceSpec = ctx.spec(conv2dSplitkReduce);
  const trial = async (i: number, tile: Required<Conv2dTile>): Promise<Trial> => {
    const step = steps[i];
    const { HALF_MATH, ...overrides } = tile; // HALF_MATH picks the kernel; the rest are its overrides
    const spec = HALF_MATH && ctx.halfMath ? ctx.halfMath : specs[i];
    const kernel = await ctx.cache.get(spec, { ...calls[i].overrides, ...overrides });
    const dispatch = spec.dispatch(calls[i].params, kernel.overrides);
    if (tile.KSPLIT === 1) {
      const bindGroup = kernel.key === step.kernel.key
        ? step.bindGroup
        : ctx.cache.bindGroup(kernel, step.resources!, `${step.label}.tune`);
      return { tile, kernel, bindGroup, dispatch };
    }
    const res = step.resources!;
    const p = calls[i].params as Conv2dParams;
    const o = calls[i].overrides;
    const reduceParams = {
      batch: p.batch,
      outH: p.outH,
      outW: p.outW,
      outC: p.outC,
      yBase: p.yBase,
      yStride: p.yStride,
      yOff: p.yOff,
      rBase: p.rBase,
      rStride: p.rStride,
      rOff: p.rOff,
    };
    const reduce = await ctx.cache.get(reduceSpec, {
      KSPLIT: tile.KSPLIT,
      ACT: o.ACT ?? 0,
      RESIDUAL: o.RESIDUAL ?? 0,
      OUT_NCHW: o.OUT_NCHW ?? 0,
      UP_R: o.UP_R ?? 0,
      R_IN_Y: o.R_IN_Y ?? 0,
    });
    const params = ctx.cache.params(reduceSpec, reduceParams, `${step.label}.reduce.params`);
    uniforms.push(params);
    return {
      tile,
      kernel,
      bindGroup: ctx.cache.bindGroup(kernel, { ...res, p: scratch! }, `${step.label}.splitk`),
      dispatch,
      extra: [{
        kernel: reduce,
        bindGroup: ctx.cache.bindGroup(
          reduce,
          { p: scratch!, b: res.b, r: res.r, y: res.y, params },
          `${step.label}.reduce`,
        ),
        dispatch: reduceSpec.dispatch(reduceParams, reduce.overrides),
      }],
    };
  };
  /** Stores a built trial; a candidate whose pipeline or bind group fails is skipped, not fatal. */
  const keep = (entry: Tuned, j: number, built: Promise<Trial>) =>
    built.then((t) => void (entry.trials[j] = t), () => {});
  steps.forEach((step, i) => {
    const tiles = candidatesOf.get(i);
    if (!tiles || tiles.length === 0 || (tiles.length === 1 && !ctx.tuneFilter)) return;
    const key = [
      adapterId,
      hashText(specs[i].code),
      step.kernel.key,
      JSON.stringify(calls[i].params),
    ].join("|");
    const entry: Tuned = { step: i, key, trials: [], dupOf: byKey.get(key) };
    tuned.push(entry);
    if (entry.dupOf) return;
    byKey.set(key, entry);
    const hit = cache.get(key);
    const hitTile = hit?.tile as Conv2dTile | undefined;
    // A cached second-round choice (f16 arithmetic in half mode, vec4 A staging) stands in for its base tile.
    const usable = hitTile && !hit!.kernel && !(hitTile.HALF_MATH && !ctx.halfMath);
    const known = usable &&
      tiles.find((t) => conv2dTileKey(t) === conv2dTileKey({ ...hitTile, HALF_MATH: 0, VEC_A: 0 })) &&
      conv2dFullTile(hitTile);
    if (known) {
      entry.cached = hit;
      pending.push(keep(entry, 0, trial(i, known)));
      return;
    }
    tiles.forEach((tile, j) => pending.push(keep(entry, j, trial(i, tile))));
  });
  await Promise.all(pending);
  for (const e of tuned) {
    e.trials = e.trials.filter(Boolean); // a candidate this driver rejected is left out
    if (e.cached && e.trials.length === 0) e.cached = undefined;
  }
  const toTime = tuned.filter((e) => !e.cached && !e.dupOf && e.trials.length > 0);
  const where = cache.path ? `; choices kept in ${cache.path}` : "";
  if (toTime.length > 0) {
    progress(
      `autotune ${shape}: timing the tiles of ${toTime.length} conv layers (once per GPU and shape)`,
    );
  }
  const filled = toTime.length > 0 && ctx.fill !== undefined;
  if (filled) await ctx.fill!();
  const best = await timeTrials(ctx.gpu.device, toTime.flatMap((e) => e.trials));
  const times = new Map<Tuned, number[]>();
  let offset = 0;
  for (const e of toTime) {
    times.set(e, [...best.subarray(offset, offset + e.trials.length)]);
    offset += e.trials.length;
  }
  // Second round, on each layer's three fastest tiles: vec4 A staging where the input view allows it (not with
  // PREFETCH), and in half mode f16 arithmetic (WG_K 1 only), alone and together.
  const extra: { e: Tuned; t: Trial }[] = [];
  await Promise.all(toTime.map(async (e) => {
    const ms = times.get(e)!;
    const o = calls[e.step].overrides;
    const vec = conv2dVecFits(calls[e.step].params as Conv2dParams, !!o.IN_NCHW);
    const fastest = e.trials.map((_, j) => j).filter((j) => Number.isFinite(ms[j]))
      .sort((a, b) => ms[a] - ms[b]).slice(0, 3);
    for (const j of fastest) {
      const t = e.trials[j].tile;
      const variants: Required<Conv2dTile>[] = [];
      if (vec && !t.PREFETCH) variants.push({ ...t, VEC_A: 1 });
      if (ctx.halfMath && t.WG_K === 1) {
        variants.push({ ...t, HALF_MATH: 1 });
        if (vec && !t.PREFETCH) variants.push({ ...t, HALF_MATH: 1, VEC_A: 1 });
      }
      for (const v of variants.filter((v) => ctx.tuneFilter?.(v) ?? true)) {
        await trial(e.step, v).then((built) => extra.push({ e, t: built }), () => {});
      }
    }
  }));
  if (extra.length > 0) {
    const ms = await timeTrials(ctx.gpu.device, extra.map((x) => x.t));
    extra.forEach(({ e, t }, k) => {
      e.trials.push(t);
      times.get(e)!.push(ms[k]);
    });
  }
  const use = (i: number, t: Trial) => {
    steps[i] = {
      ...steps[i],
      kernel: t.kernel,
      bindGroup: t.bindGroup,
      dispatch: t.dispatch,
      extra: t.extra,
    };
  };
  const layers: TuneChoice[] = [];
  for (const e of tuned) {
    const step = steps[e.step];
    if (e.dupOf) {
      if (!e.dupOf.chosen) continue;
      const { tile, report } = e.dupOf.chosen;
      use(e.step, await trial(e.step, tile));
      layers.push({ ...report, label: step.label });
      continue;
    }
    if (e.cached) {
      const t = e.trials[0];
      use(e.step, t);
      e.chosen = {
        tile: t.tile,
        report: {
          label: step.label,
          heuristicMs: e.cached.heuristicMs ?? NaN,
          bestMs: e.cached.bestMs,
          kernel: t.kernel.key,
          candidates: e.cached.candidates,
          cached: true,
        },
      };
      layers.push(e.chosen.report);
      continue;
    }
    if (e.trials.length === 0) continue; // nothing could be built: the heuristic tile stays
    const ms = times.get(e)!;
    let pick = 0;
    for (let j = 1; j < ms.length; j++) if (ms[j] < ms[pick]) pick = j;
    // trials[0] is the heuristic tile unless the filter dropped it
    const heuristic = e.trials[0].kernel.key === step.kernel.key ? ms[0] : NaN;
    const t = Number.isFinite(ms[pick]) ? e.trials[pick] : e.trials[0];
    use(e.step, t);
    if (Number.isFinite(ms[pick])) {
      cache.set(e.key, { tile: t.tile, heuristicMs: heuristic, bestMs: ms[pick], candidates: ms.length });
    }
    e.chosen = {
      tile: t.tile,
      report: {
        label: step.label,
        heuristicMs: heuristic,
        bestMs: ms[pick],
        kernel: t.kernel.key,
        candidates: ms.length,
        cached: false,
      },
    };
    layers.push(e.chosen.report);
  }
  await cache.save();
  if (toTime.length > 0) {
    const sum = (k: "heuristicMs" | "bestMs") => layers.reduce((a, l) => a + l[k], 0);
    const before = sum("heuristicMs"); // NaN when tuneFilter dropped heuristic tiles
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    const gain = `${Number.isNaN(before) ? "" : `${before.toFixed(2)} -> `}${sum("bestMs").toFixed(2)} ms`;
    progress(
      `autotune ${shape}: ${toTime.length} conv layers in ${seconds} s, their GPU time ${gain}${where}`,
      "done",
    );
  }
  if (scratch) {
    if (steps.some((st) => st.extra)) buffers.push(scratch);
    else scratch.destroy();
  }
  return { shape, ms: performance.now() - t0, layers, attention: [], filled };
}

/**
 * GPU milliseconds of each trial dispatch: every trial in its own timed compute pass, all of them twice
 * in one submit; the faster of the two rounds (Infinity when the timestamps were unusable).
 */
export async function timeTrials(
  device: GPUDevice,
  trials: (Dispatch & { extra?: Dispatch[] })[],
): Promise<Float64Array> {
  const best = new Float64Array(trials.length).fill(Infinity);
  if (trials.length === 0) return best;
  const rounds = 2;
  const passes = trials.length * rounds;
  const maxPerSet = 2048; // passes per query set (2 timestamps each; WebGPU allows 4096 queries per set)
  const sets: { querySet: GPUQuerySet; resolve: GPUBuffer; readback: GPUBuffer; count: number }[] = [];
  for (let start = 0; start < passes; start += maxPerSet) {
    const count = 2 * Math.min(maxPerSet, passes - start);
    sets.push({
      querySet: device.createQuerySet({ label: "tune", type: "timestamp", count }),
      resolve: device.createBuffer({
        label: "tune.resolve",
        size: count * 8,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      }),
      readback: device.createBuffer({
        label: "tune.readback",
        size: count * 8,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      }),
      count,
    });
  }
  try {
    const encoder = device.createCommandEncoder({ label: "tune" });
    for (let k = 0; k < passes; k++) {
      const trial = trials[k % trials.length];
      const set = sets[Math.floor(k / maxPerSet)];
      const q = 2 * (k % maxPerSet);
      const pass = encoder.beginComputePass({
        label: "tune",
        timestampWrites: {
          querySet: set.querySet,
          beginningOfPassWriteIndex: q,
          endOfPassWriteIndex: q + 1,
        },
      });
      recordStep(pass, trial);
      pass.end();
    }
    for (const set of sets) {
      encoder.resolveQuerySet(set.querySet, 0, set.count, set.resolve, 0);
      encoder.copyBufferToBuffer(set.resolve, 0, set.readback, 0, set.count * 8);
    }
    device.queue.submit([encoder.finish()]);
    await Promise.all(sets.map(async (set, si) => {
      await set.readback.mapAsync(GPUMapMode.READ);
      const t = new BigInt64Array(set.readback.getMappedRange(0, set.count * 8));
      for (let q = 0; q < set.count / 2; q++) {
        const ms = Number(t[2 * q + 1] - t[2 * q]) / 1e6;
        const i = (si * maxPerSet + q) % trials.length;
        if (ms > 0) best[i] = Math.min(best[i], ms);
      }
      set.readback.unmap();
    }));
  } finally {
    for (const set of sets) {
      set.querySet.destroy();
      set.resolve.destroy();
      set.readback.destroy();
    }
  }
  return best;
}
