/**
 * Runs a loaded model on the GPU. Weights are uploaded once (packed per kernel); for each input shape the
 * memory plan, activation buffers, pipelines, Params uniforms and bind groups are built once; a forward is
 * then: write the input → one command encoder with every dispatch in one compute pass → one submit → read
 * back `output0` and `output1`.
 *
 * In half mode (a device with `shader-f16`) activations, and weights bound as storage, are f16 and every
 * kernel runs its `_f16` variant (f32 arithmetic; the tiled conv2d also in f16 arithmetic where the tuner finds
 * it faster, or everywhere with `halfMath`); `to_f16` turns the caller's f32 input into the f16 input
 * activation and `to_f32` widens each output before its readback. Uniform-window weights stay f32.
 */
import {
  conv2dF16Math,
  conv2dPostTiles,
  type Conv2dTile,
  packConv2dPostWeight,
  packConv2dPreWeight,
  packConv2dWeight,
  POST_CONV_MAX_CHANNELS,
  POST_FOLD_MAX_PIXELS,
} from "../../kernels/conv2d.ts";
import { supportsInstanceMasks } from "../../kernels/instance_masks.ts";
import {
  type Candidates,
  candidatesFromRows,
  selectCandidates as selectCpuCandidates,
} from "../cpu/select_candidates.ts";
import { packConv2dUniformWeight, transposedTapWeight } from "../../kernels/conv2d_uniform.ts";
import { packConvTranspose2dWeight } from "../../kernels/conv_transpose2d.ts";
import { packDwconv2dWeight } from "../../kernels/dwconv2d.ts";
import { packDwconv2dUniformWeight } from "../../kernels/dwconv2d_uniform.ts";
import type { KernelSpec } from "../../kernels/_spec.ts";
import { f16Kernels } from "../../kernels/mod.ts";
import { toF16 } from "../../kernels/to_f16.ts";
import { toF32 } from "../../kernels/to_f32.ts";
import {
  fuseAttentionPe,
  fuseConcatPostConvs,
  fuseDepthwisePreConvs,
  fusePostConvs,
  fuseResidualAdds,
  fuseSiblingConvs,
  fuseUpsamples,
} from "../graph/fuse.ts";
import type { ConvOp, Graph } from "../graph/ir.ts";
import { type Plan, planMemory } from "../graph/plan.ts";
import type { LoadedModel } from "../load_model.ts";
import { type CallLimits, planCalls } from "../ops/plan_calls.ts";
import type { BindingTarget, KernelCall } from "../ops/kernel_call.ts";
import { concatFloats, type StateDict } from "../tensor.ts";
import { type Gpu, simdLanes } from "./device.ts";
import * as log from "../log.ts";
import { type BindingResource, PipelineCache } from "./pipeline_cache.ts";
import { defaultTuneCachePath, hashText, TuneCache } from "./tune_cache.ts";
import { tuneAdapterId, type TuneContext, tuneConvSteps, tuneImage, type TuneReport } from "./autotune.ts";
import { tuneAttentionSteps } from "./autotune_attention.ts";
import { chooseFolds, DEFAULT_FOLDS, FOLD_KINDS, type FoldChoice, type FoldKind } from "./autotune_folds.ts";
import { recordStep, type Step } from "./step.ts";
import {
  buildNms,
  buildSelect,
  destroyNms,
  destroySelect,
  type DeviceOutput,
  maskGroups,
  NMS_POOL_IMAGES,
  type NmsImage,
  nmsMaxDet,
  type NmsOptions,
  type NmsState,
  prepareNms,
  prepareSelect,
  readCandidateLists,
  readNms,
  recordNms,
  type SelectState,
} from "./postprocess.ts";

export type { TuneChoice, TuneReport } from "./autotune.ts";
export {
  DEFAULT_FOLDS,
  FOLD_KINDS,
  type FoldChoice,
  type FoldKind,
  type FoldTiming,
} from "./autotune_folds.ts";
export { NMS_POOL_IMAGES, type NmsImage, type NmsOptions, SELECT_CAP } from "./postprocess.ts";

/** One raw output of the network, laid out as in Ultralytics' ONNX export. */
export interface Output {
  /** The values, row-major. */
  data: Float32Array;
  /** Dimensions, outermost first. */
  shape: number[];
}

/** Options of `Executor.submit`. */
export interface SubmitOptions {
  /**
   * Read back only `output0`'s candidates for NMS (anchors whose best class score is `> conf`), found on the
   * GPU by `select_candidates`, instead of all of `output0`: `result.candidates` holds them per image and
   * `result.output0.data` is empty (its `shape` stays). `nc` is the number of classes.
   */
  select?: { conf: number; nc: number };
  /**
   * With `select`, on a segmentation model: predict's NMS and masks on the GPU as well (`kernels/nms.wgsl`,
   * `kernels/instance_masks.wgsl`): `result.nms` holds each image's kept detections and their masks, and
   * only those are read back. An image the GPU leaves to the CPU (more candidates than the list holds, or
   * masks beyond its pool) gets `result.nms[b]` undefined, its `result.candidates[b]`, and `output1` is
   * read. Ultralytics' names: `iou`, `max_det`, `classes`, `agnostic_nms`.
   */
  nms?: NmsOptions;
}

/** A submitted forward (see `Executor.submit`). */
export interface PendingForward {
  /** Waits for the GPU and reads the outputs back; the same promise on every call. */
  read(): Promise<ForwardResult>;
}

/** Raw network outputs: `output0` [n, 4 + nc + nm, anchors] and `output1` [n, nm, h/4, w/4]. */
export interface ForwardResult {
  /** Detections: xywh boxes in input pixels, class scores after sigmoid, mask coefficients. */
  output0: Output;
  /** Mask prototypes (segmentation models). */
  output1?: Output;
  /**
   * With `SubmitOptions.select`: each image's NMS candidates (then `output0.data` is empty); with
   * `SubmitOptions.nms` only those of images left to the CPU.
   */
  candidates?: (Candidates | undefined)[];
  /**
   * With `SubmitOptions.nms`: each image's GPU detections, or undefined for an image left to the CPU.
   * `output1.data` is then empty unless an image was.
   */
  nms?: (NmsImage | undefined)[];
}

interface Program {
  plan: Plan;
  tune?: TuneReport;
  /** Runs one forward of {@linkcode tuneImage} (once), so that timings see an image's activations. */
  fill: () => Promise<void>;
  buffers: GPUBuffer[];
  uniforms: GPUBuffer[];
  steps: Step[];
  input: GPUBuffer;
  outputs: { name: string; buffer: GPUBuffer; bytes: number; elements: number; shape: number[] }[];
  /** The candidate list of `select` forwards, built on first use. */
  select?: Promise<SelectState>;
  /** GPU NMS and masks of `nms` forwards, built on first use (again for a larger `max_det`). */
  nms?: Promise<NmsState>;
  /** Idle readback buffer sets (one set per forward in flight; reused). */
  free: StagingSet[];
  /** Evicted: sets coming back from reads in flight are destroyed. */
  released: boolean;
}

/**
 * The readback buffers of one forward in flight: one per output, the candidate lists' of `select`, the
 * header and pool of `nms`; and device copies (`kept`) of what is read back only when needed (all of
 * `output0` with `select`; also `output1` and the lists with `nms`), copied to the readback buffers then.
 */
interface StagingSet {
  outputs: GPUBuffer[];
  count?: GPUBuffer;
  rows?: GPUBuffer;
  header?: GPUBuffer;
  pool?: GPUBuffer;
  kept?: { outputs: (GPUBuffer | undefined)[]; count?: GPUBuffer; rows?: GPUBuffer };
}

function destroySet(set: StagingSet): void {
  const kept = set.kept ? [...set.kept.outputs, set.kept.count, set.kept.rows] : [];
  for (const b of [...set.outputs, set.count, set.rows, set.header, set.pool, ...kept]) b?.destroy();
}

/** Options of an {@linkcode Executor}. */
export interface ExecutorOptions {
  /**
   * Hold activations (and storage-bound weights) as f16: Ultralytics' `half=True`. Needs a device with
   * `shader-f16`. @default false
   */
  half?: boolean;
  /**
   * In half mode, f16 arithmetic in the tiled convolutions (`conv2d_f16_math`: each reduction step's
   * products summed in f16, steps added in f32): true everywhere, false nowhere; by default the autotuner
   * tries it on each layer's fastest tiles and keeps it where it is faster (f32 arithmetic without tuning).
   */
  halfMath?: boolean;
  /**
   * Time every conv2d tile candidate of each conv layer on this GPU when a shape's program is built
   * (GPU timestamps, one submit) and keep the fastest per layer. Default: on for hardware adapters with
   * `timestamp-query`, off for software adapters (which run other kernels) and without timestamps.
   */
  tune?: boolean;
  /**
   * The tuning cache file (JSON; choices per adapter, kernel source and layer shape), or false to keep
   * choices in memory only. @default {defaultTuneCachePath()} (`$YOLO_WGSL_CACHE_DIR/tune.json`, else
   * `~/.cache/yolo-wgsl/tune.json`)
   */
  tuneCache?: string | false;
  /**
   * Restricts the tiles the autotuner may pick (say, `(t) => t.KSPLIT === 1` to keep every conv's
   * summation order unsplit, or `(t) => t.KSPLIT > 1` to force split-K where it applies). Layers left
   * with no candidate keep the heuristic tile. @default every candidate
   */
  tuneFilter?: (tile: Required<Conv2dTile>) => boolean;
  /**
   * On hardware adapters, run neighbouring layers in one `conv2d` dispatch: a depthwise conv inside the 1x1
   * conv that alone reads it (`pre`: `PRE_K`), C2PSA's positional conv inside its attention (`pe`: `PE_K`), a
   * 1x1 conv over a concat inside the conv of its tile part (`cat`: `POST_CAT`), a 1x1 conv inside the conv
   * of at most 128 channels whose output it alone reads (`post`: `POST_N`), a nearest upsample inside the
   * conv whose output it copies (`up`: `UP_R`); `cat` and `post` for layers of at most
   * {@linkcode POST_FOLD_MAX_PIXELS} output pixels, and also for larger ones with `large`. See
   * {@linkcode Executor.graphAt}. Same outputs up to f32 rounding. True: with `tune`, the kinds whose forwards
   * are faster on this GPU, chosen per input shape by timing whole forwards from {@linkcode DEFAULT_FOLDS} with
   * each kind toggled (`autotune_folds.ts`; remembered in the tuning cache), else `DEFAULT_FOLDS` (every kind
   * but `large`); an array: exactly those kinds, untimed; false: every layer on its own (for comparing).
   * @default true
   */
  fuse?: boolean | readonly FoldKind[];
  /**
   * Room for masks per image in `SubmitOptions.nms` forwards, in input images' worth of 1-bit masks (each
   * kept detection's mask window takes its share; an image whose masks do not fit is post-processed on
   * the CPU). @default {NMS_POOL_IMAGES}
   */
  maskPool?: number;
  /**
   * Input shapes whose programs (activation buffers, bind groups) stay resident at once; building another
   * releases the least recently used one. @default {MAX_PROGRAMS}
   */
  maxPrograms?: number;
}

/** Forwards timed per program by the fold tuner (the median counts). */
export const FOLD_TIMED_RUNS = 7;

/** Input shapes whose programs (activation buffers, bind groups) stay resident at once. */
export const MAX_PROGRAMS = 6;

/** Frees the GPU buffers a program owns (weights are the executor's and stay). */
function releaseProgram(prog: Program): void {
  // Forwards already submitted finish on the GPU (destroy waits for them); their readback sets are
  // destroyed when their reads settle.
  prog.released = true;
  for (const b of [...prog.buffers, ...prog.uniforms]) b.destroy();
  for (const set of prog.free.splice(0)) destroySet(set);
  prog.select?.then(destroySelect).catch(() => {});
  prog.nms?.then(destroyNms).catch(() => {});
}

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** GPU time of one kernel call of a profiled forward. */
export interface StepTime {
  /** The op's Ultralytics module path (or kernel label). */
  label: string;
  /** The kernel and its compiled-in overrides. */
  kernel: string;
  /** GPU milliseconds between the start and end of its compute pass. */
  ms: number;
}

/** A model resident on one GPU device. */
export class Executor {
  readonly gpu: Gpu;
  readonly cache: PipelineCache;
  /** The graph small inputs run, every fold made (see {@linkcode Executor.graphAt}). */
  readonly graph: Graph;
  /** Activations are f16 (see {@linkcode ExecutorOptions.half}). */
  readonly half: boolean;
  /** Conv tiles are autotuned per shape (see {@linkcode ExecutorOptions.tune}). */
  readonly tune: boolean;
  #state: StateDict;
  #limits: CallLimits;
  #tuneCachePath?: string;
  #tuneFilter?: (tile: Required<Conv2dTile>) => boolean;
  #halfMath?: boolean;
  #maskPool: number;
  #maxPrograms: number;
  /** The kinds of fold the executor may make (none on software adapters or with `fuse` false). */
  #kinds: readonly FoldKind[];
  /** The kinds it makes untimed: `DEFAULT_FOLDS` for `fuse` true, else `#kinds`. */
  #defaultKinds: readonly FoldKind[];
  /** Which of those a shape's program makes is chosen by timing forwards (`fuse` true, tuning on). */
  #timeFolds: boolean;
  /** The graph before those folds. */
  #unfolded: Graph;
  #tuneCache?: Promise<TuneCache>;
  #weights = new Map<string, GPUBuffer>();
  #programs = new Map<string, Promise<Program>>();
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  /** @throws {RangeError} For `half` on a device without `shader-f16`. */
  constructor(
    gpu: Gpu,
    model: LoadedModel,
    options: ExecutorOptions = {},
    cache = new PipelineCache(gpu.device),
  ) {
    this.gpu = gpu;
    this.half = options.half ?? false;
    if (this.half && !gpu.features.f16) {
      throw new RangeError("Cannot run in half precision on this device: it lacks the shader-f16 feature");
    }
    this.tune = (options.tune ?? (!gpu.software && gpu.features.timestamps)) && gpu.features.timestamps;
    this.#tuneFilter = options.tuneFilter;
    this.#halfMath = options.halfMath;
    this.#maskPool = options.maskPool ?? NMS_POOL_IMAGES;
    if (!(this.#maskPool > 0)) throw new RangeError(`Give a maskPool above 0: got ${options.maskPool}`);
    this.#maxPrograms = options.maxPrograms ?? MAX_PROGRAMS;
    if (!(Number.isInteger(this.#maxPrograms) && this.#maxPrograms >= 1)) {
      throw new RangeError(`Give maxPrograms as a whole number >= 1: got ${options.maxPrograms}`);
    }
    this.#tuneCachePath = options.tuneCache === false
      ? undefined
      : options.tuneCache ?? defaultTuneCachePath();
    this.cache = cache;
    // Residual adds into conv epilogues; convs sharing an input into one conv and a split; on hardware
    // adapters the folds of graphAt, per input shape.
    const fused = fuseSiblingConvs(fuseResidualAdds(model.parsed.graph), model.state);
    const fuse = options.fuse ?? true;
    if (typeof fuse !== "boolean") {
      const bad = fuse.find((k) => !FOLD_KINDS.includes(k));
      if (bad !== undefined || !Array.isArray(fuse)) {
        throw new RangeError(
          `Give fuse as true, false or kinds among ${FOLD_KINDS.join(", ")}: got ${bad ?? fuse}`,
        );
      }
    }
    this.#kinds = gpu.software || fuse === false
      ? []
      : fuse === true
      ? FOLD_KINDS
      : FOLD_KINDS.filter((k) => fuse.includes(k));
    this.#defaultKinds = fuse === true ? this.#kinds.filter((k) => DEFAULT_FOLDS.includes(k)) : this.#kinds;
    this.#timeFolds = fuse === true && this.tune;
    this.#unfolded = fused.graph;
    this.graph = this.graphAt(1, 0, 0);
    this.#state = fused.state;
    this.#limits = {
      maxWorkgroupStorage: gpu.device.limits.maxComputeWorkgroupStorageSize,
      targetWorkgroups: gpu.software ? 8 : 264,
      software: gpu.software,
      lanes: simdLanes(gpu),
      subgroups: gpu.features.subgroups,
      maxInvocations: gpu.device.limits.maxComputeInvocationsPerWorkgroup,
    };
    this.#uploadWeights();
  }

  /**
   * The graph a forward at `[n, 3, h, w]` runs with the given kinds of fold (those the executor may make among
   * them; by default its untimed kinds; a program whose folds were timed makes the kinds its `TuneReport.folds`
   * names): on hardware adapters
   * (unless `fuse` is false) depthwise convs folded into the 1x1 convs that read them (`pre`), C2PSA's
   * positional conv into its attention (`pe`), 1x1 convs over a concat into the conv of its tile part (C2f/C3k2
   * `cv2`, head `cv1`; `cat`), 1x1 convs into the convs (of at most {@linkcode POST_CONV_MAX_CHANNELS}
   * channels) whose output they alone read (`post`), both only for layers of at most
   * {@linkcode POST_FOLD_MAX_PIXELS} output pixels unless `large` is made too, and nearest upsamples into the
   * convs whose output they copy (`up`). `graph` is the one of the smallest inputs.
   */
  graphAt(n: number, h: number, w: number, kinds: readonly FoldKind[] = this.#defaultKinds): Graph {
    const on = (k: FoldKind) => this.#kinds.includes(k) && kinds.includes(k);
    const limits = this.gpu.device.limits;
    const postFits = (conv: ConvOp) => {
      const stride = this.#unfolded.values[conv.y].stride;
      return conv.cout <= POST_CONV_MAX_CHANNELS &&
        (on("large") || n * (h / stride) * (w / stride) <= POST_FOLD_MAX_PIXELS) &&
        conv2dPostTiles(
            conv.cout,
            1,
            264,
            limits.maxComputeWorkgroupStorageSize,
            limits.maxComputeInvocationsPerWorkgroup,
          ).length > 0;
    };
    let g = this.#unfolded;
    if (on("pre")) g = fuseDepthwisePreConvs(g);
    if (on("pe")) g = fuseAttentionPe(g);
    if (on("cat")) g = fuseConcatPostConvs(g, postFits);
    if (on("post")) g = fusePostConvs(g, postFits);
    if (on("up")) g = fuseUpsamples(g);
    return g;
  }

  /** Upload every weight once, in the packing its kernel reads. */
  #uploadWeights(): void {
    // Packings follow from the ops at any shape; plan a tiny shape to enumerate the calls.
    const plan = planMemory(this.graph, 1, 32 * 2, 32 * 2);
    for (const call of planCalls(plan, this.#limits)) {
      const spec = this.#spec(call.spec);
      for (const [name, target] of Object.entries(call.bind)) {
        if ("weight" in target) this.#weight(target, !!spec.f16?.includes(name));
      }
    }
  }

  /** The kernel a call runs: its f16 variant in half mode. */
  #spec(spec: KernelSpec): KernelSpec {
    if (!this.half) return spec;
    if (spec.name === "conv2d" && this.#halfMath === true) return conv2dF16Math;
    const variant = f16Kernels[spec.name];
    if (!variant) {
      throw new RangeError(`Cannot run kernel "${spec.name}" in half precision: it has no f16 variant`);
    }
    return variant;
  }

  /** The packed weight buffer of a binding, its elements f16 when `f16` (a storage binding in half mode). */
  #weight(target: Extract<BindingTarget, { weight: string }>, f16: boolean): GPUBuffer {
    const key = `${target.weight}|${target.packing}${f16 ? "|f16" : ""}${
      target.tn4 ? `|TN4=${target.tn4}` : ""
    }${target.slices ? `|slices=${target.slices}` : ""}${target.bias ? `|bias=${target.bias}` : ""}${
      target.transposedTap === undefined ? "" : `|tap=${target.transposedTap}`
    }${target.post ? `|post=${target.post.weight},${target.post.bias}` : ""}`;
    let buffer = this.#weights.get(key);
    if (buffer) return buffer;
    const t = this.#state.get(target.weight);
    if (!t) throw new RangeError(`Cannot upload weights: tensor "${target.weight}" is missing`);
    const shape4 = t.shape as [number, number, number, number];
    const bias = target.bias === undefined ? undefined : this.#state.get(target.bias)?.data;
    if (target.bias !== undefined && !bias) {
      throw new RangeError(`Cannot upload weights: tensor "${target.bias}" is missing`);
    }
    const uniformPacking = { tn4: target.tn4 ?? 1, groups: target.groups, slices: target.slices, bias };
    const data = target.packing === "conv2d"
      ? packConv2dWeight(t.data, shape4, target.groups ?? 1)
      : target.packing === "conv2d_uniform" && target.transposedTap !== undefined
      ? packConv2dUniformWeight(
        transposedTapWeight(t.data, shape4, target.transposedTap),
        [shape4[1], shape4[0], 1, 1],
        uniformPacking,
      )
      : target.packing === "conv2d_uniform"
      ? packConv2dUniformWeight(t.data, shape4, uniformPacking)
      : target.packing === "conv2d_post"
      ? packConv2dPostWeight(t.data, shape4, bias ?? new Float32Array(shape4[0]))
      : target.packing === "conv2d_pre" && target.post
      ? concatFloats([
        packConv2dPreWeight(t.data, shape4, bias ?? new Float32Array(shape4[0])),
        this.#postPacking(target.post),
      ])
      : target.packing === "conv2d_pre"
      ? packConv2dPreWeight(t.data, shape4, bias ?? new Float32Array(shape4[0]))
      : target.packing === "dwconv2d"
      ? packDwconv2dWeight(t.data, shape4)
      : target.packing === "dwconv2d_uniform"
      ? packDwconv2dUniformWeight(t.data, shape4, bias ?? new Float32Array(shape4[0]))
      : target.packing === "conv_transpose2d"
      ? packConvTranspose2dWeight(t.data, shape4)
      : t.data;
    const bytes = data.length * (f16 ? 2 : 4);
    buffer = this.gpu.device.createBuffer({
      label: key,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new (f16 ? Float16Array : Float32Array)(buffer.getMappedRange(), 0, data.length).set(data);
    buffer.unmap();
    this.#weights.set(key, buffer);
    return buffer;
  }

  /** A 1x1 post-conv's `conv2d_post` packing (following a pre-conv's in one `aux` buffer). */
  #postPacking(post: { weight: string; bias: string }): Float32Array {
    const t = this.#state.get(post.weight);
    const bias = this.#state.get(post.bias);
    if (!t || !bias) {
      throw new RangeError(`Cannot upload weights: tensor "${t ? post.bias : post.weight}" is missing`);
    }
    return packConv2dPostWeight(t.data, t.shape as [number, number, number, number], bias.data);
  }

  /**
   * Build (once) everything a forward at `[n, 3, h, w]` needs. At most `maxPrograms` shapes stay
   * resident: the least recently used one is released when another is built (forwards run one at a time, so
   * none is in use then).
   */
  #program(n: number, h: number, w: number): Promise<Program> {
    const key = `${n}x${h}x${w}`;
    let p = this.#programs.get(key);
    if (p) {
      this.#programs.delete(key); // re-insert: Map order is the recency order
      this.#programs.set(key, p);
      return p;
    }
    while (this.#programs.size >= this.#maxPrograms) {
      const [oldest, old] = this.#programs.entries().next().value!;
      this.#programs.delete(oldest);
      old.then(releaseProgram).catch(() => {});
    }
    p = this.#build(n, h, w);
    this.#programs.set(key, p);
    p.catch(() => this.#programs.delete(key));
    return p;
  }

  /** Input shapes with a resident program, least recently used first (for tests and diagnostics). */
  get residentShapes(): string[] {
    return [...this.#programs.keys()];
  }

  /**
   * The program of shape `[n, 3, h, w]`: making the kinds of fold the tuner chooses by forward time (or the
   * tuning cache remembers) when folds are timed, else every kind that folds something at this shape.
   */
  async #build(n: number, h: number, w: number): Promise<Program> {
    const ops = (kinds: readonly FoldKind[]) => JSON.stringify(this.graphAt(n, h, w, kinds).ops);
    const every = ops(this.#kinds);
    // The kinds that change the program at this shape.
    const present = this.#kinds.filter((k) => ops(this.#kinds.filter((x) => x !== k)) !== every);
    if (!this.#timeFolds || present.length === 0) {
      return await this.#buildWith(n, h, w, present.filter((k) => this.#defaultKinds.includes(k)));
    }
    const t0 = performance.now();
    const cache = await this.#tuneContext().tuneCache;
    const key = this.#foldKey(n, h, w, present);
    const hit = cache.get(key);
    if (hit && hit.kernel === "folds") {
      const kinds = present.filter((k) => (hit.tile as Record<string, number>)[k] === 1);
      const program = await this.#buildWith(n, h, w, kinds);
      if (program.tune) program.tune.folds = { kinds, present, timings: [], cached: true };
      return program;
    }
    let chosen: { program: Program; choice: FoldChoice };
    try {
      chosen = await chooseFolds(
        present,
        DEFAULT_FOLDS,
        (kinds) => this.#buildWith(n, h, w, kinds),
        (program) => this.#forwardMs(program),
        releaseProgram,
        (a, b) => ops(a) === ops(b),
      );
    } catch (e) {
      // Say, no memory for a second program on a small GPU: the default folds, untimed (what fails there throws).
      log.warn(
        `fold tuning ${n}x${h}x${w} failed, making the default folds: ${e instanceof Error ? e.message : e}`,
      );
      return await this.#buildWith(n, h, w, present.filter((k) => DEFAULT_FOLDS.includes(k)));
    }
    const { program, choice } = chosen;
    const all = choice.timings[0].ms;
    const best = Math.min(
      ...choice.timings.filter((t) => t.kinds.join() === choice.kinds.join()).map((t) => t.ms),
    );
    cache.set(key, {
      tile: Object.fromEntries(present.map((k) => [k, choice.kinds.includes(k) ? 1 : 0])),
      kernel: "folds",
      heuristicMs: all,
      bestMs: best,
      candidates: choice.timings.length,
    });
    await cache.save();
    if (program.tune) {
      program.tune.folds = choice;
      program.tune.ms = performance.now() - t0;
    }
    const start = present.filter((k) => DEFAULT_FOLDS.includes(k));
    const dropped = start.filter((k) => !choice.kinds.includes(k));
    const added = choice.kinds.filter((k) => !start.includes(k));
    log.progress(
      `fold tuning ${n}x${h}x${w}: ${choice.timings.length} programs timed (${FOLD_TIMED_RUNS} forwards each) in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s; ${
        dropped.length || added.length
          ? [
            dropped.length ? `without ${dropped.join(", ")}` : "",
            added.length ? `with ${added.join(", ")}` : "",
          ]
            .filter(Boolean).join(", ")
          : "the default folds kept"
      } (${all.toFixed(3)} -> ${best.toFixed(3)} ms)`,
      "done",
    );
    return program;
  }

  /**
   * The tuning-cache key of a shape's fold choice: the adapter, the graph with every fold, the kernels its
   * calls run (their sources), precision and shape.
   */
  #foldKey(n: number, h: number, w: number, present: FoldKind[]): string {
    const all = this.graphAt(n, h, w, this.#kinds);
    const codes = new Set(
      planCalls(planMemory(all, n, h, w), this.#limits).map((c) => this.#spec(c.spec).code),
    );
    const graph = hashText(JSON.stringify(all.ops) + [...codes].join("\n"));
    return [
      "folds",
      tuneAdapterId(this.gpu),
      graph,
      this.half ? "f16" : "f32",
      `${n}x${h}x${w}`,
      present.join(),
    ]
      .join("|");
  }

  /**
   * Median GPU milliseconds of a program's forward: {@linkcode FOLD_TIMED_RUNS} forwards after two
   * unmeasured ones, each in its own compute pass with timestamps at its start and end, in one submit, on
   * the activations of {@linkcode tuneImage}.
   */
  async #forwardMs(program: Program): Promise<number> {
    await program.fill();
    const device = this.gpu.device;
    const runs = FOLD_TIMED_RUNS + 2;
    const querySet = device.createQuerySet({ label: "folds.time", type: "timestamp", count: 2 * runs });
    const resolve = device.createBuffer({
      label: "folds.time.resolve",
      size: 16 * runs,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const readback = device.createBuffer({
      label: "folds.time.readback",
      size: 16 * runs,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = device.createCommandEncoder({ label: "folds.time" });
      for (let r = 0; r < runs; r++) {
        const pass = encoder.beginComputePass({
          label: "folds.time",
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * r, endOfPassWriteIndex: 2 * r + 1 },
        });
        for (const step of program.steps) recordStep(pass, step);
        pass.end();
      }
      encoder.resolveQuerySet(querySet, 0, 2 * runs, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16 * runs);
      device.queue.submit([encoder.finish()]);
      const t = new BigInt64Array(await this.gpu.reader.read(readback, 0, 16 * runs));
      const ms = Array.from({ length: FOLD_TIMED_RUNS }, (_, i) => Number(t[2 * i + 5] - t[2 * i + 4]) / 1e6);
      ms.sort((a, b) => a - b);
      return ms[Math.floor(ms.length / 2)];
    } finally {
      querySet.destroy();
      resolve.destroy();
      readback.destroy();
    }
  }

  /** Builds the program of shape `[n, 3, h, w]` making exactly `kinds` of fold (and tunes its kernels). */
  async #buildWith(n: number, h: number, w: number, kinds: FoldKind[]): Promise<Program> {
    const device = this.gpu.device;
    const plan = planMemory(this.graphAt(n, h, w, kinds), n, h, w);
    const maxBinding = device.limits.maxStorageBufferBindingSize;
    const elementBytes = this.half ? 2 : 4;
    const buffers = plan.buffers.map((elements, i) => {
      const size = Math.max(16, Math.ceil((elements * elementBytes) / 16) * 16);
      if (size > maxBinding) {
        throw new RangeError(
          `Cannot run batch ${n} at ${h}x${w} on this adapter: an activation buffer of ${
            (size / 2 ** 20).toFixed(0)
          } MiB exceeds its ${
            (maxBinding / 2 ** 20).toFixed(0)
          } MiB binding limit; use a smaller batch or image size`,
        );
      }
      return device.createBuffer({ label: `activations.${i}`, size, usage: USAGE });
    });
    const bufferOfRegion = (region: number) => buffers[plan.regions[region].buffer];
    const calls = planCalls(plan, this.#limits);
    const specs = calls.map((c) => this.#spec(c.spec));
    const kernels = await Promise.all(calls.map((c, i) => this.cache.get(specs[i], c.overrides)));
    const uniforms: GPUBuffer[] = [];
    const steps = calls.map((call: KernelCall, i): Step => {
      const kernel = kernels[i];
      const spec = specs[i];
      const params = this.cache.params(spec, call.params, `${call.label}.params`);
      uniforms.push(params);
      const resources: Record<string, BindingResource> = { params };
      for (const [name, target] of Object.entries(call.bind)) {
        resources[name] = "value" in target
          ? bufferOfRegion(plan.locs[target.value].region)
          : "region" in target
          ? bufferOfRegion(target.region)
          : "weight" in target
          ? { buffer: this.#weight(target, !!spec.f16?.includes(name)), ...target.range }
          : this.cache.dummyFor(name);
      }
      return {
        label: call.label,
        kernel,
        bindGroup: this.cache.bindGroup(kernel, resources, call.label),
        dispatch: spec.dispatch(call.params, kernel.overrides),
        resources,
      };
    });
    let input = bufferOfRegion(plan.locs[plan.input].region);
    let cast: Step | undefined;
    if (this.half) {
      // The caller's f32 input goes to its own buffer; to_f16 writes the f16 input activation from it.
      const s = plan.shapes[plan.input];
      const count = s.n * s.c * s.h * s.w;
      const f32 = device.createBuffer({ label: "input.f32", size: Math.max(16, count * 4), usage: USAGE });
      buffers.push(f32);
      cast = await this.#castStep(
        toF16,
        "input.to_f16",
        f32,
        input,
        count,
        plan.locs[plan.input].base,
        uniforms,
      );
      input = f32;
    }
    let filling: Promise<void> | undefined;
    const fill = () => (filling ??= fillNow());
    const fillNow = async () => {
      // One forward of a synthetic image, so the tuner times candidates on activations rather than zeros.
      const data = tuneImage(n, h, w);
      device.queue.writeBuffer(input, 0, data);
      const encoder = device.createCommandEncoder({ label: "tune.fill" });
      const pass = encoder.beginComputePass({ label: "tune.fill" });
      for (const step of cast ? [cast, ...steps] : steps) recordStep(pass, step);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
    const tune = this.tune
      ? await tuneConvSteps(
        { ...this.#tuneContext(), fill },
        `${n}x${h}x${w}`,
        calls,
        specs,
        steps,
        buffers,
        uniforms,
      )
      : undefined;
    if (tune) {
      const t0 = performance.now();
      const attn = await tuneAttentionSteps(
        this.#tuneContext(),
        tune.shape,
        calls,
        steps,
        tune.filled ? undefined : fill,
      );
      tune.attention = attn.layers;
      tune.filled ||= attn.timed;
      tune.ms += performance.now() - t0;
    }
    if (cast) steps.unshift(cast);
    const outputs = Object.entries(plan.outputs).map(([name, v]) => {
      const s = plan.shapes[v];
      const isDetect = name === "output0";
      const elements = isDetect ? n * s.c * plan.anchors : s.n * s.c * s.h * s.w;
      const shape = isDetect ? [n, s.c, plan.anchors] : [s.n, s.c, s.h, s.w];
      const bytes = Math.max(16, Math.ceil((elements * 4) / 16) * 16);
      return { name, buffer: bufferOfRegion(plan.locs[v].region), bytes, elements, shape };
    });
    if (this.half) {
      // Each f16 output is widened into an f32 buffer, which the readback copies.
      for (const o of outputs) {
        const f32 = device.createBuffer({ label: `${o.name}.f32`, size: o.bytes, usage: USAGE });
        buffers.push(f32);
        const base = plan.locs[plan.outputs[o.name]].base;
        steps.push(
          await this.#castStep(toF32, `${o.name}.to_f32`, o.buffer, f32, o.elements, base, uniforms),
        );
        o.buffer = f32;
      }
    }
    return { plan, tune, fill, buffers, uniforms, steps, input, outputs, free: [], released: false };
  }

  /** What the autotuner needs; a filtered search neither reads nor writes the shared cache. */
  #tuneContext(): TuneContext {
    this.#tuneCache ??= TuneCache.open(this.#tuneFilter ? undefined : this.#tuneCachePath);
    return {
      gpu: this.gpu,
      cache: this.cache,
      targetWorkgroups: this.#limits.targetWorkgroups ?? 264,
      spec: (spec) => this.#spec(spec),
      tuneCache: this.#tuneCache,
      tuneFilter: this.#tuneFilter,
      // Tried as an alternative only when neither forced on nor off.
      halfMath: this.half && this.#halfMath === undefined ? conv2dF16Math : undefined,
    };
  }

  /**
   * The autotuner's choices for the program of input shape `[n, 3, h, w]` (built on demand), or undefined
   * when tuning is off.
   */
  async tuneReport(shape: readonly number[]): Promise<TuneReport | undefined> {
    this.#checkShape(shape);
    return (await this.#program(shape[0], shape[2], shape[3])).tune;
  }

  /** One `to_f16` / `to_f32` dispatch of `count` elements, from `x` at offset 0 or `base` into `y`. */
  async #castStep(
    spec: typeof toF16,
    label: string,
    x: GPUBuffer,
    y: GPUBuffer,
    count: number,
    base: number,
    uniforms: GPUBuffer[],
  ): Promise<Step> {
    const kernel = await this.cache.get(spec);
    const values = spec === toF16 ? { count, xBase: 0, yBase: base } : { count, xBase: base, yBase: 0 };
    const params = this.cache.params(spec, values, `${label}.params`);
    uniforms.push(params);
    return {
      label,
      kernel,
      bindGroup: this.cache.bindGroup(kernel, { x, y, params }, label),
      dispatch: spec.dispatch(values, kernel.overrides),
    };
  }

  /**
   * Run the network on an NCHW float input (RGB, 0..1) of shape `[n, 3, h, w]`, `h` and `w` multiples of 32:
   * {@linkcode submit} and read. Forwards run on the GPU in call order.
   */
  async forward(data: Float32Array, shape: readonly number[]): Promise<ForwardResult> {
    return await (await this.submit(data, shape)).read();
  }

  /**
   * Submit a forward without waiting for it: the returned {@linkcode PendingForward}'s `read()` waits for
   * the GPU and reads the outputs back. Between the two the caller's CPU work overlaps the GPU's (in Deno
   * a readback blocks the thread until the GPU is idle, so this is the way to overlap them). Several
   * forwards may be in flight (each has its own readback buffers, pooled); they run in submit order. Call
   * `read()` of each, also on error paths: an unread forward keeps its readback buffers.
   */
  submit(data: Float32Array, shape: readonly number[], options: SubmitOptions = {}): Promise<PendingForward> {
    return this.#hold(() =>
      this.#submit(shape, this.#upload(data, shape), undefined, options.select, options.nms)
    );
  }

  /**
   * {@linkcode submit} for an input that `writeInput` records into the forward's own command encoder (the
   * `letterbox` kernel writing the batch from image bytes, say) instead of uploading floats: `input` is the
   * f32 NCHW input buffer of `shape`, at offset 0.
   */
  submitEncoded(
    shape: readonly number[],
    writeInput: (encoder: GPUCommandEncoder, input: GPUBuffer) => void,
    options: SubmitOptions = {},
  ): Promise<PendingForward> {
    return this.#hold(() => this.#submit(shape, writeInput, undefined, options.select, options.nms));
  }

  /** Runs `start` (a submit) in queue order; the queue moves on once it has submitted. */
  #hold(start: () => Promise<() => Promise<ForwardResult>>): Promise<PendingForward> {
    const started = this.#queue.then(start);
    this.#queue = started.then(() => {}, () => {});
    return started.then((readBack) => {
      let read: Promise<ForwardResult> | undefined;
      return { read: () => (read ??= readBack()) };
    });
  }

  /**
   * A readback set for one forward of `program` (from its pool, or new), with `select`'s lists, `nms`'s
   * header and pool and the device copies of what those forwards read only when needed.
   */
  #acquire(program: Program, sel?: SelectState, nms?: NmsState): StagingSet {
    const device = this.gpu.device;
    const make = (label: string, size: number) =>
      device.createBuffer({ label, size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const keep = (label: string, size: number) =>
      device.createBuffer({ label, size, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const set = program.free.pop() ??
      { outputs: program.outputs.map((o) => make(`${o.name}.readback`, o.bytes)) };
    if (sel && !set.count) {
      set.count = make("select.count.readback", sel.count.size);
      set.rows = make("select.rows.readback", sel.rows.size);
    }
    // Device copies: output0 with select; output1 and the lists too with nms.
    const kept = sel ? (set.kept ??= { outputs: [] }) : undefined;
    program.outputs.forEach((o, i) => {
      if (kept && (o.name === "output0" || nms)) kept.outputs[i] ??= keep(`${o.name}.kept`, o.bytes);
    });
    if (nms && kept) {
      kept.count ??= keep("select.count.kept", sel!.count.size);
      kept.rows ??= keep("select.rows.kept", sel!.rows.size);
    }
    if (nms && set.header?.size !== nms.header.size) {
      set.header?.destroy();
      set.header = make("nms.header.readback", nms.header.size);
    }
    if (nms && !set.pool) set.pool = make("nms.pool.readback", nms.pool.size);
    return set;
  }

  /** Returns a set to its program's pool after its read (destroyed instead after an error or eviction). */
  #release(program: Program, set: StagingSet, ok: boolean): void {
    if (ok && !program.released) program.free.push(set);
    else destroySet(set);
  }

  /** The input writer of a float input: checks its length and uploads it. */
  #upload(
    data: Float32Array,
    shape: readonly number[],
  ): (encoder: GPUCommandEncoder, input: GPUBuffer) => void {
    this.#checkShape(shape);
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new RangeError(`Give ${count} input values for shape [${shape.join(", ")}]: got ${data.length}`);
    }
    return (_, input) => {
      // WebGPU in Deno takes no SharedArrayBuffer-backed views: copy those first.
      const src = data.buffer instanceof ArrayBuffer ? data : new Float32Array(data);
      this.gpu.device.queue.writeBuffer(input, 0, src.buffer as ArrayBuffer, src.byteOffset, src.byteLength);
    };
  }

  #checkShape(shape: readonly number[]): void {
    if (this.#disposed) throw new TypeError("Cannot run a disposed model: load it again");
    const [n, c] = shape;
    if (shape.length !== 4 || c !== this.graph.values[this.graph.input].c || !(n >= 1)) {
      throw new RangeError(`Give an input of shape [n, 3, h, w]: got [${shape.join(", ")}]`);
    }
  }

  async #run(
    shape: readonly number[],
    writeInput: (encoder: GPUCommandEncoder, input: GPUBuffer) => void,
    timer?: { querySet: GPUQuerySet; resolve: GPUBuffer; readback: GPUBuffer },
  ): Promise<ForwardResult> {
    return (await this.#submit(shape, writeInput, timer))();
  }

  /** Records and submits one forward; returns the function that reads its outputs back. */
  async #submit(
    shape: readonly number[],
    writeInput: (encoder: GPUCommandEncoder, input: GPUBuffer) => void,
    timer?: { querySet: GPUQuerySet; resolve: GPUBuffer; readback: GPUBuffer },
    select?: { conf: number; nc: number },
    nmsOptions?: SubmitOptions["nms"],
  ): Promise<() => Promise<ForwardResult>> {
    this.#checkShape(shape);
    const [n, , h, w] = shape;
    const program = await this.#program(n, h, w);
    // Probed before the submit: in Deno a mapAsync blocks until the GPU is idle, which would end the overlap
    // a caller of submit() wants between this forward and its own CPU work.
    const reader = this.gpu.reader;
    await reader.behaviour();
    const device = this.gpu.device;
    const out0 = program.outputs.find((o) => o.name === "output0")!;
    const out1 = program.outputs.find((o) => o.name === "output1");
    const sel = select ? await (program.select ??= buildSelect(device, this.cache, out0)) : undefined;
    const gpuNms = sel && nmsOptions && out1 && supportsInstanceMasks([h, w], out1.shape.slice(2))
      ? await this.#nmsState(program, sel, out1, nmsOptions.max_det)
      : undefined;
    const encoder = device.createCommandEncoder({ label: "forward" });
    writeInput(encoder, program.input);
    if (sel) prepareSelect(device, encoder, sel, select!);
    if (gpuNms) prepareNms(device, encoder, gpuNms, select!.nc, nmsOptions!);
    const pass = encoder.beginComputePass({
      label: "forward",
      ...(timer
        ? {
          timestampWrites: { querySet: timer.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
        }
        : {}),
    });
    for (const step of program.steps) recordStep(pass, step);
    if (sel) recordStep(pass, sel);
    if (gpuNms) recordNms(pass, gpuNms);
    pass.end();
    // What the reader needs is copied to this forward's readback set; what it needs only on a fallback
    // (all of output0 with select; output1 and the lists too with nms) goes to device copies (a copy on the
    // device is cheap; one to the readback buffers crosses to host memory), copied over when needed.
    const set = this.#acquire(program, sel, gpuNms);
    program.outputs.forEach((o, i) => {
      const later = sel && (o === out0 || (gpuNms && o === out1));
      encoder.copyBufferToBuffer(o.buffer, 0, later ? set.kept!.outputs[i]! : set.outputs[i], 0, o.bytes);
    });
    if (sel) {
      encoder.copyBufferToBuffer(sel.count, 0, gpuNms ? set.kept!.count! : set.count!, 0, sel.count.size);
      encoder.copyBufferToBuffer(sel.rows, 0, gpuNms ? set.kept!.rows! : set.rows!, 0, sel.rows.size);
    }
    if (gpuNms) {
      encoder.copyBufferToBuffer(gpuNms.header, 0, set.header!, 0, gpuNms.header.size);
      encoder.copyBufferToBuffer(gpuNms.pool, 0, set.pool!, 0, gpuNms.pool.size);
    }
    if (timer) {
      encoder.resolveQuerySet(timer.querySet, 0, 2, timer.resolve, 0);
      encoder.copyBufferToBuffer(timer.resolve, 0, timer.readback, 0, 16);
    }
    device.queue.submit([encoder.finish()]);
    const read = async (i: number): Promise<Output> => {
      const o = program.outputs[i];
      return { data: new Float32Array(await reader.read(set.outputs[i], 0, o.elements * 4)), shape: o.shape };
    };
    /** Copies device copies to their readback buffers (one more submit; the forward's buffers may be reused). */
    const fetchKept = (which: (GPUBuffer | undefined)[]) => {
      const enc = device.createCommandEncoder({ label: "forward.kept" });
      const kept = set.kept!;
      const pairs: [GPUBuffer | undefined, GPUBuffer | undefined][] = [
        ...kept.outputs.map((k, i) => [k, set.outputs[i]] as [GPUBuffer | undefined, GPUBuffer]),
        [kept.count, set.count],
        [kept.rows, set.rows],
      ];
      for (const [from, to] of pairs) {
        if (from && to && which.includes(from)) enc.copyBufferToBuffer(from, 0, to, 0, from.size);
      }
      device.queue.submit([enc.finish()]);
    };
    const i0 = program.outputs.indexOf(out0);
    const i1 = out1 ? program.outputs.indexOf(out1) : -1;
    const [, channels, anchors] = out0.shape;
    const empty = (o: Program["outputs"][number]): Output => ({ data: new Float32Array(0), shape: o.shape });
    /** The CPU path's candidates of images `which` (from all of output0 for those past the list's cap). */
    const candidatesOf = (
      which: number[],
      { counts, rows }: { counts: number[]; rows: Float32Array },
      full?: Float32Array,
    ): (Candidates | undefined)[] => {
      const width = sel!.cap * (channels + 1);
      const out: (Candidates | undefined)[] = new Array(n).fill(undefined);
      for (const b of which) {
        out[b] = counts[b] > sel!.cap
          ? selectCpuCandidates(full!, b, channels, anchors, select!.nc, select!.conf)
          : candidatesFromRows(rows.subarray(b * width, (b + 1) * width), counts[b], channels);
      }
      return out;
    };
    return async () => {
      let ok = false;
      try {
        if (gpuNms) {
          const { images, fallback, overflow } = await readNms(
            set.header!,
            set.pool!,
            gpuNms,
            n,
            reader,
          );
          const result: ForwardResult = { output0: empty(out0), output1: empty(out1!), nms: images };
          if (fallback.length > 0) {
            const kept = set.kept!;
            fetchKept([...(overflow ? [kept.outputs[i0]] : []), kept.outputs[i1], kept.count!, kept.rows!]);
            const [lists, protos, full] = await Promise.all([
              readCandidateLists(set.count!, set.rows!, n, reader),
              read(i1),
              overflow ? read(i0) : undefined,
            ]);
            result.candidates = candidatesOf(fallback, lists, full?.data);
            result.output1 = protos;
          }
          ok = true;
          return result;
        }
        const result: Record<string, Output> = {};
        const [lists] = await Promise.all([
          sel ? readCandidateLists(set.count!, set.rows!, n, reader) : undefined,
          ...program.outputs.map(async (o, i) => {
            if (!(sel && i === i0)) result[o.name] = await read(i);
          }),
        ]);
        if (!sel) {
          ok = true;
          return result as unknown as ForwardResult;
        }
        // An image with more candidates than the list holds: copy over and read all of output0.
        let full: Float32Array | undefined;
        if (lists!.counts.some((c) => c > sel.cap)) {
          fetchKept([set.kept!.outputs[i0]]);
          full = (await read(i0)).data;
        }
        const candidates = candidatesOf(lists!.counts.map((_, b) => b), lists!, full);
        ok = true;
        return { ...result, output0: empty(out0), candidates } as unknown as ForwardResult;
      } finally {
        this.#release(program, set, ok);
      }
    };
  }

  /** The program's GPU NMS state (built on first use, again for a larger `max_det`). */
  async #nmsState(program: Program, sel: SelectState, out1: DeviceOutput, maxDet: number): Promise<NmsState> {
    // No image keeps more detections than its list holds candidates.
    const need = Math.min(nmsMaxDet(maxDet), sel.cap);
    const old = await program.nms;
    if (old && old.maxDet >= need) return old;
    const { h, w } = program.plan.shapes[program.plan.input];
    const groups = maskGroups(this.gpu.software);
    const next = buildNms(this.gpu.device, this.cache, sel, out1, [h, w], need, this.#maskPool, groups);
    program.nms = next;
    // The smaller state's buffers go once forwards already recorded with them have finished (destroy waits).
    if (old) next.then(() => destroyNms(old)).catch(() => {});
    return await next;
  }

  /**
   * GPU milliseconds of one whole forward as {@linkcode forward} records it (one compute pass, timestamps at
   * its start and end; needs `timestamp-query`). Upload and readback are outside the pass.
   */
  gpuTime(data: Float32Array, shape: readonly number[]): Promise<number> {
    const run = this.#queue.then(async () => {
      if (!this.gpu.features.timestamps) {
        throw new RangeError("Cannot time the GPU on this device: it lacks the timestamp-query feature");
      }
      const device = this.gpu.device;
      const timer = {
        querySet: device.createQuerySet({ label: "forward.time", type: "timestamp", count: 2 }),
        resolve: device.createBuffer({
          label: "forward.time.resolve",
          size: 16,
          usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
        }),
        readback: device.createBuffer({
          label: "forward.time.readback",
          size: 16,
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        }),
      };
      try {
        await this.#run(shape, (_, input) => {
          const src = data.buffer instanceof ArrayBuffer ? data : new Float32Array(data);
          device.queue.writeBuffer(input, 0, src.buffer as ArrayBuffer, src.byteOffset, src.byteLength);
        }, timer);
        const t = new BigInt64Array(await this.gpu.reader.read(timer.readback, 0, 16));
        return Number(t[1] - t[0]) / 1e6;
      } finally {
        timer.querySet.destroy();
        timer.resolve.destroy();
        timer.readback.destroy();
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Run one forward with each kernel in its own compute pass and GPU timestamps around it (needs the
   * `timestamp-query` feature), returning the time of every step. Slower than {@linkcode forward}: for
   * finding the slowest layers, not for timing the whole network.
   */
  profile(data: Float32Array, shape: readonly number[]): Promise<StepTime[]> {
    const run = this.#queue.then(() => this.#profile(data, shape));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #profile(data: Float32Array, shape: readonly number[]): Promise<StepTime[]> {
    if (!this.gpu.features.timestamps) {
      throw new RangeError("Cannot profile on this device: it lacks the timestamp-query feature");
    }
    await this.#run(shape, this.#upload(data, shape)); // builds the program and warms up
    const program = await this.#program(shape[0], shape[2], shape[3]);
    const device = this.gpu.device;
    const count = program.steps.length * 2;
    const querySet = device.createQuerySet({ label: "profile", type: "timestamp", count });
    const resolve = device.createBuffer({
      label: "profile.resolve",
      size: count * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const readback = device.createBuffer({
      label: "profile.readback",
      size: count * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = device.createCommandEncoder({ label: "profile" });
    program.steps.forEach((step, i) => {
      const pass = encoder.beginComputePass({
        label: step.label,
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      recordStep(pass, step);
      pass.end();
    });
    encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, count * 8);
    device.queue.submit([encoder.finish()]);
    const t = new BigInt64Array(await this.gpu.reader.read(readback));
    for (const b of [resolve, readback]) b.destroy();
    querySet.destroy();
    return program.steps.map((step, i) => ({
      label: step.label,
      kernel: step.kernel.key,
      ms: Number(t[2 * i + 1] - t[2 * i]) / 1e6,
    }));
  }

  /** Release every GPU buffer of this model (the device stays). */
  dispose(): void {
    this.#disposed = true;
    for (const b of this.#weights.values()) b.destroy();
    this.#weights.clear();
    for (const p of this.#programs.values()) p.then(releaseProgram).catch(() => {});
    this.#programs.clear();
  }
}
