/** The `YOLO` model handle of the public API. */
import { requestGpu, type WebGpuName } from "./gpu/device.ts";
import * as log from "./log.ts";
import {
  Executor,
  type FoldKind,
  type ForwardResult,
  type PendingForward,
  type StepTime,
  type SubmitOptions,
  type TuneReport,
} from "./gpu/executor.ts";
import { type LoadedModel, loadModel, type LoadModelOptions } from "./load_model.ts";
import { exportModel, type ExportOptions } from "./modes/export.ts";
import { type ModelSummary, summarize } from "./modes/info.ts";
import { predict, type PredictOptions } from "./modes/predict.ts";
import { val, type ValMetrics, type ValOptions } from "./modes/val.ts";
import type { Source } from "./data/sources.ts";
import { type LetterboxGeometry, letterboxGeometry, type LetterboxOptions } from "./data/letterbox.ts";
import { GpuLetterbox } from "./data/letterbox_gpu.ts";
import type { Image } from "./io/image.ts";
import type { Result } from "./results.ts";

/** Options of {@link YOLO.load}. */
export interface YoloLoadOptions extends LoadModelOptions {
  /** A GPU device to run on (e.g. shared with the caller's own WebGPU work). @default a new device */
  device?: GPUDevice;
  /**
   * The WebGPU implementation when no `device` is given: `"deno"`, Deno's own, or `"dawn"`, Chromium's Dawn
   * loaded from `npm:webgpu` on first use (the same kernels and outputs; a readback resolves as soon as the GPU
   * is done, where Deno 2.9.6's takes at least 10 ms). @default `$YOLO_WGSL_WEBGPU`, else `"deno"`
   */
  webgpu?: WebGpuName;
  /**
   * Half precision (Ultralytics' `half=True`): activations, and weights bound as storage, held as f16
   * (arithmetic in f32, see `halfMath`); inputs and outputs stay f32. Needs the adapter's `shader-f16`
   * feature; without it the model runs in f32 after a one-line warning. @default false
   */
  half?: boolean;
  /**
   * With `half`, f16 arithmetic in the tiled convolutions of hardware adapters (each reduction step's
   * products summed in f16, the steps in f32): true everywhere, false nowhere. @default where the autotuner
   * finds it faster
   */
  halfMath?: boolean;
  /**
   * Autotune conv tiles on this GPU the first time each input shape runs (timing every candidate tile of
   * each conv layer with GPU timestamps and keeping the fastest; takes a moment once per shape).
   * @default true on hardware adapters with `timestamp-query`, false on software adapters
   */
  tune?: boolean;
  /**
   * Where the tuner remembers its choices across runs (a JSON file), or false for this process only.
   * @default `$YOLO_WGSL_CACHE_DIR/tune.json`, else `~/.cache/yolo-wgsl/tune.json`
   */
  tuneCache?: string | false;
  /**
   * On hardware adapters, run neighbouring layers in one dispatch (a depthwise conv inside the 1x1 conv after
   * it, a 1x1 conv inside the conv before it, also over a concat, C2PSA's positional conv inside its attention,
   * an upsample inside the conv it copies): fewer dispatches, the same outputs up to f32 rounding. True: with
   * `tune`, the kinds of fold (`FoldKind`) that make this GPU's forwards faster, chosen per input shape by
   * timing whole forwards and remembered in the tuning cache; else `DEFAULT_FOLDS` (all but `large`). An
   * array: exactly those kinds. False runs every layer on its own. @default true
   */
  fuse?: boolean | readonly FoldKind[];
}

/**
 * A YOLO segmentation model loaded from an Ultralytics `.pt` checkpoint, a `.safetensors` export, or a
 * model `.yaml` (random weights).
 */
export class YOLO {
  /** What was loaded: architecture, names and BN-folded weights. */
  readonly model: LoadedModel;

  #device?: GPUDevice;
  #webgpu?: WebGpuName;
  #half: boolean;
  #tune: {
    tune?: boolean;
    tuneCache?: string | false;
    halfMath?: boolean;
    fuse?: boolean | readonly FoldKind[];
  };
  #executor?: Promise<Executor>;
  #letterboxes = new WeakMap<Executor, Promise<GpuLetterbox>>();

  private constructor(
    model: LoadedModel,
    device?: GPUDevice,
    half = false,
    tune: {
      tune?: boolean;
      tuneCache?: string | false;
      halfMath?: boolean;
      fuse?: boolean | readonly FoldKind[];
    } = {},
    webgpu?: WebGpuName,
  ) {
    this.model = model;
    this.#device = device;
    this.#webgpu = webgpu;
    this.#half = half;
    this.#tune = tune;
  }

  /**
   * Load a model from a path or the bytes of a model file.
   *
   * @param source A `.pt`, `.safetensors` or `.yaml` path, or that file's bytes. An official checkpoint
   * name (`yolo11n-seg.pt` ... `yolov8x-seg.pt`) that is not a file is read from the weights folder,
   * downloaded there from Ultralytics' release assets on first use.
   * @param options The task required, the seed of random weights, the weights folder.
   * @returns The loaded model.
   * @throws {CheckpointError} for an unreadable, non-YOLO or wrong-task checkpoint, or a failed download.
   * @throws {ModelConfigError} for a malformed or unknown model YAML.
   * @example Build YOLO11n-seg from its architecture
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "@yolo-wgsl/yolo-wgsl";
   * const model = await YOLO.load("yolo11n-seg.yaml");
   * assert.equal(model.task, "segment");
   * assert.deepEqual(model.stride, [8, 16, 32]);
   * ```
   */
  static async load(source: string | Uint8Array, options: YoloLoadOptions = {}): Promise<YOLO> {
    return new YOLO(await loadModel(source, options), options.device, options.half ?? false, {
      tune: options.tune,
      tuneCache: options.tuneCache,
      halfMath: options.halfMath,
      fuse: options.fuse,
    }, options.webgpu);
  }

  /**
   * The GPU executor, created on first use (weights uploaded once). When its device is lost, it is dropped
   * and the next call builds a new one on a new device.
   */
  #gpu(): Promise<Executor> {
    if (!this.#executor) {
      const executor = requestGpu({ device: this.#device, webgpu: this.#webgpu }).then((gpu) => {
        gpu.device.lost.then(() => this.#deviceLost(executor, gpu.device));
        if (this.#half && !gpu.features.f16) {
          log.warn("half=True needs the shader-f16 feature, which this GPU lacks: running in f32");
        }
        return new Executor(gpu, this.model, { half: this.#half && gpu.features.f16, ...this.#tune });
      });
      executor.catch(() => {
        if (this.#executor === executor) this.#executor = undefined;
      });
      this.#executor = executor;
    }
    return this.#executor;
  }

  #deviceLost(executor: Promise<Executor>, device: GPUDevice): void {
    if (this.#executor !== executor) return; // disposed, or already rebuilt
    this.#executor = undefined;
    if (this.#device === device) this.#device = undefined;
    executor.then((e) => e.dispose()).catch(() => {});
  }

  /**
   * The GPU device the model runs on, requested (and the weights uploaded to it) on first use. When that
   * device is lost (a driver reset, `destroy()`), the model drops its GPU state and the next call, or the
   * next forward, builds it again on a new device (also when the lost one was given to {@link YOLO.load}).
   *
   * @returns The device.
   * @throws {Error} When no WebGPU adapter is available, or the model was disposed.
   * @example Survive a lost device
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "@yolo-wgsl/yolo-wgsl";
   * const model = await YOLO.load("yolo11n-seg.yaml");
   * const device = await model.device();
   * device.destroy();
   * await device.lost;
   * assert.notEqual(await model.device(), device);
   * model.dispose();
   * ```
   */
  async device(): Promise<GPUDevice> {
    return (await this.#gpu()).gpu.device;
  }

  /**
   * Run the network on an NCHW float tensor (RGB in 0..1, letterboxed), returning Ultralytics' raw ONNX
   * outputs: `output0` [n, 4 + nc + 32, anchors] (xywh boxes in input pixels, class scores after sigmoid,
   * mask coefficients) and `output1` [n, 32, h/4, w/4] (mask prototypes).
   *
   * @param data The input values, `n * 3 * h * w` of them.
   * @param shape `[n, 3, h, w]` with `h` and `w` multiples of 32.
   * @returns The two outputs with their shapes.
   * @throws {RangeError} for a shape that does not fit the data or the model.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "@yolo-wgsl/yolo-wgsl";
   * const model = await YOLO.load("yolo11n-seg.yaml");
   * const { output0, output1 } = await model.forward(new Float32Array(3 * 64 * 64).fill(0.5), [1, 3, 64, 64]);
   * assert.deepEqual(output0.shape, [1, 116, 84]);
   * assert.deepEqual(output1!.shape, [1, 32, 16, 16]);
   * model.dispose();
   * ```
   */
  async forward(data: Float32Array, shape: readonly number[]): Promise<ForwardResult> {
    return (await this.#gpu()).forward(data, shape);
  }

  /**
   * {@linkcode forward} in two halves: submit now, read later. CPU work done between the two overlaps the
   * GPU's. The model runs nothing else until `read()` settles: call it exactly once, also on error paths.
   *
   * @param data The input values, `n * 3 * h * w` of them.
   * @param shape `[n, 3, h, w]`.
   * @param options `select: { conf, nc }` reads back only NMS's candidates of `output0` (found on the GPU);
   *   with it, `nms: { iou, max_det, classes, agnostic_nms }` runs predict's NMS and masks on the GPU too and
   *   reads back only the kept detections and their mask bits (`result.nms`; see `SubmitOptions`).
   * @returns The submitted forward; its `read()` gives what `forward` gives.
   * @example Overlap the next image's decoding with this forward
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "@yolo-wgsl/yolo-wgsl";
   * const model = await YOLO.load("yolo11n-seg.yaml");
   * const pending = await model.submit(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
   * // ... CPU work here runs while the GPU computes ...
   * const { output0 } = await pending.read();
   * assert.deepEqual(output0.shape, [1, 116, 21]);
   * model.dispose();
   * ```
   */
  async submit(
    data: Float32Array,
    shape: readonly number[],
    options: SubmitOptions = {},
  ): Promise<PendingForward> {
    return (await this.#gpu()).submit(data, shape, options);
  }

  /**
   * Whether the model runs on a software adapter (lavapipe, SwiftShader), requesting its GPU if needed.
   *
   * @returns True on a CPU-backed adapter.
   */
  async softwareAdapter(): Promise<boolean> {
    return (await this.#gpu()).gpu.software;
  }

  /**
   * Letterbox decoded images on the GPU (the `letterbox` kernel, bit for bit `letterboxInto`) and run the
   * network on them, in one command buffer: only the image bytes are uploaded.
   *
   * @param images RGB images that share one letterbox shape under `options` (a batch).
   * @param options The letterbox options (`newShape`, `auto`, `stride`, ...).
   * @returns The raw outputs, each image's geometry and the input shape.
   * @throws {RangeError} When the images' letterbox shapes differ or the shape does not fit the model.
   */
  async forwardImages(
    images: readonly Image[],
    options: LetterboxOptions = {},
  ): Promise<{ output: ForwardResult; geometries: LetterboxGeometry[]; shape: number[] }> {
    const { pending, geometries, shape } = await this.submitImages(images, options);
    return { output: await pending.read(), geometries, shape };
  }

  /**
   * {@linkcode forwardImages} in two halves, as {@linkcode submit}: the letterbox and the network are
   * submitted; `pending.read()` gives the outputs. Call `read()` exactly once.
   *
   * @param images RGB images that share one letterbox shape under `options` (a batch).
   * @param options The letterbox options.
   * @param submitOptions As in {@linkcode submit} (`select`).
   * @returns The submitted forward, each image's geometry and the input shape.
   * @throws {RangeError} When the images' letterbox shapes differ or the shape does not fit the model.
   */
  async submitImages(
    images: readonly Image[],
    options: LetterboxOptions = {},
    submitOptions: SubmitOptions = {},
  ): Promise<{ pending: PendingForward; geometries: LetterboxGeometry[]; shape: number[] }> {
    if (images.length === 0) throw new RangeError("Give at least one image to forward");
    const [H, W] = letterboxGeometry([images[0].height, images[0].width], options).letterboxShape;
    for (const img of images) {
      const [h, w] = letterboxGeometry([img.height, img.width], options).letterboxShape;
      if (h !== H || w !== W) {
        throw new RangeError(`Cannot batch a ${h}x${w} letterbox with ${H}x${W} ones: give one input shape`);
      }
    }
    const executor = await this.#gpu();
    let lb = this.#letterboxes.get(executor);
    if (!lb) {
      lb = GpuLetterbox.create(executor.cache);
      this.#letterboxes.set(executor, lb);
    }
    const letterbox = await lb;
    const shape = [images.length, 3, H, W];
    const geometries: LetterboxGeometry[] = [];
    const pending = await executor.submitEncoded(shape, (encoder, input) => {
      images.forEach((img, i) => {
        geometries[i] = letterbox.encode(encoder, img, input, { ...options, offset: i * 3 * H * W, slot: i });
      });
    }, submitOptions);
    return { pending, geometries, shape };
  }

  /**
   * Predict instance segmentations, as Ultralytics' `model.predict(source, ...)`: one image per forward
   * with the rect letterbox; a list of images goes as one batch (square letterbox when their shapes
   * differ). Nothing is written unless `save: true`. An unreadable image is a warning; the others go on.
   *
   * @param source A path, directory, glob, `.txt` of paths, `http(s)://` URL, an image file's bytes, or a
   * list of these.
   * @param options Ultralytics' predict arguments (`conf`, `iou`, `imgsz`, `retina_masks`, `save`, ...).
   * @returns One result per readable image, in source order.
   * @throws {DatasetError} for a source path that does not exist.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "@yolo-wgsl/yolo-wgsl";
   * const model = await YOLO.load("yolo11n-seg.yaml");
   * await assert.rejects(model.predict("no/such/image.jpg"), { name: "DatasetError" });
   * model.dispose();
   * ```
   */
  predict(source: Source, options: PredictOptions = {}): Promise<Result[]> {
    return predict(this, source, options);
  }

  /**
   * GPU time of every kernel of one forward (each in its own timed pass; needs `timestamp-query`).
   *
   * @param data The input values, `n * 3 * h * w` of them.
   * @param shape `[n, 3, h, w]`.
   * @returns One entry per kernel call, in execution order.
   * @throws {RangeError} when the device cannot record timestamps.
   */
  async profile(data: Float32Array, shape: readonly number[]): Promise<StepTime[]> {
    return (await this.#gpu()).profile(data, shape);
  }

  /**
   * GPU milliseconds of one whole forward (timestamps around its compute pass; needs `timestamp-query`).
   *
   * @param data The input values, `n * 3 * h * w` of them.
   * @param shape `[n, 3, h, w]`.
   * @returns Milliseconds between the start and the end of the forward's compute pass.
   * @throws {RangeError} when the device cannot record timestamps.
   */
  async gpuTime(data: Float32Array, shape: readonly number[]): Promise<number> {
    return (await this.#gpu()).gpuTime(data, shape);
  }

  /**
   * What the conv autotuner chose for input shape `[n, 3, h, w]` (see {@linkcode YoloLoadOptions.tune}),
   * building that shape's program if needed; undefined when tuning is off.
   *
   * @param shape `[n, 3, h, w]`.
   * @returns Tuning time and, per conv layer, the heuristic tile's and the chosen tile's GPU time; per attention
   * layer the chosen kernel; where the kinds of fold were chosen by timing forwards (`fuse` true), `folds`.
   */
  async tuneReport(shape: readonly number[]): Promise<TuneReport | undefined> {
    return (await this.#gpu()).tuneReport(shape);
  }

  /** Free the model's GPU memory. The model can not run again afterwards. */
  dispose(): void {
    this.#executor?.then((e) => e.dispose()).catch(() => {});
    this.#executor = Promise.reject(new TypeError("Cannot run a disposed model: load it again"));
    this.#executor.catch(() => {});
  }

  /** Class names in index order. */
  get names(): string[] {
    return this.model.names;
  }

  /** The model's task (always "segment" for now). */
  get task(): string {
    return this.model.task;
  }

  /** Output strides of the detection levels, e.g. `[8, 16, 32]`. */
  get stride(): number[] {
    return this.model.stride;
  }

  /**
   * Layers, parameters and GFLOPs as Ultralytics' `model.info()` counts them, unfused and fused.
   *
   * @param imgsz Image size the GFLOPs are given at.
   * @returns The summary numbers.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "@yolo-wgsl/yolo-wgsl";
   * const info = (await YOLO.load("yolov8n-seg.yaml")).info();
   * assert.equal(info.fused.parameters, 3_404_320);
   * ```
   */
  info(imgsz = 640): ModelSummary {
    return summarize(this.model, imgsz);
  }

  /**
   * Validate on a dataset split, as Ultralytics' `model.val(data=...)`: box and mask precision, recall,
   * mAP50 and mAP50-95, computed as Ultralytics 8.3.159 computes them.
   *
   * @param options The dataset YAML (`data`) and Ultralytics' val arguments (`imgsz`, `batch`, `conf`,
   *   `iou`, `split`, `save_json`, ...).
   * @returns The metrics, overall and per class.
   * @throws {DatasetError} When the dataset, its images or labels cannot be used.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "@yolo-wgsl/yolo-wgsl";
   * const model = await YOLO.load("yolo11n-seg.yaml"); // random weights
   * await assert.rejects(model.val({ data: "no/such/data.yaml" }), { name: "DatasetError" });
   * model.dispose();
   * ```
   */
  val(options: ValOptions): Promise<ValMetrics> {
    return val(this, options);
  }

  /**
   * Export the BN-folded weights with the metadata to rebuild the model (`format: "safetensors"`).
   *
   * @param options Output format, path and image size recorded.
   * @returns The written file's path.
   * @throws {RangeError} for an unsupported format.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "@yolo-wgsl/yolo-wgsl";
   * const dir = await Deno.makeTempDir();
   * const model = await YOLO.load("yolo11n-seg.yaml");
   * const file = await model.export({ file: `${dir}/yolo11n-seg.safetensors` });
   * const again = await YOLO.load(file);
   * assert.equal(again.info().fused.parameters, model.info().fused.parameters);
   * ```
   */
  export(options: ExportOptions = {}): Promise<string> {
    return exportModel(this.model, options);
  }
}
