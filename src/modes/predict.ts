/**
 * The predict mode, as Ultralytics 8.3.159's `SegmentationPredictor`: sources → batches → decode →
 * letterbox (rect when every image of the batch has the same shape, square otherwise, as `pre_transform`)
 * → forward → per image NMS, boxes to original pixels, masks (`process_mask`, or `process_mask_native`
 * with `retina_masks`), empty masks dropped (`construct_result`), polygons traced when first read; then
 * the log lines and the saved annotated images, `predictions.json` / `labels/*.txt` in
 * `runs/segment/predict{n}`. Images of a list are decoded, post-processed and saved on worker threads
 * (`workers`).
 * @module
 */
import { basename, join, parse } from "node:path";
import type { PlotOptions } from "../plot/annotate.ts";
import { DatasetError } from "../errors.ts";
import { incrementPath } from "../io/increment_path.ts";
import type { ForwardResult, PendingForward, SubmitOptions } from "../gpu/executor.ts";
import { DecodeAhead } from "../data/decode_ahead.ts";
import { threadCount, ThreadPool } from "../threads/pool.ts";
import type { Image } from "../io/image.ts";
import {
  type LetterboxGeometry,
  letterboxGeometry,
  letterboxInto,
  type LetterboxOptions,
} from "../data/letterbox.ts";
import { readSourceItem, resolveSources, type Source, type SourceItem } from "../data/sources.ts";
import { info, warn } from "../log.ts";
import {
  type ImageDetections,
  type ImageOutputs,
  postprocessImage,
  type SegmentOptions,
} from "../postprocess/segment.ts";
import { gpuDetections } from "../postprocess/gpu_detections.ts";
import { Result, tracedMasks } from "../results.ts";

/** What predict needs of a model. */
export interface Predictable {
  /** The raw network forward on an NCHW batch. */
  forward(data: Float32Array, shape: readonly number[]): Promise<ForwardResult>;
  /** Letterbox images on the GPU and run the forward on them (optional; see `YOLO.forwardImages`). */
  forwardImages?(
    images: readonly Image[],
    options: LetterboxOptions,
  ): Promise<{ output: ForwardResult; geometries: LetterboxGeometry[]; shape: number[] }>;
  /** Submit a forward, read it later (optional; lets predict overlap its CPU work with the GPU's). */
  submit?(data: Float32Array, shape: readonly number[], options?: SubmitOptions): Promise<PendingForward>;
  /** Submit a GPU-letterboxed forward, read it later (optional; see `YOLO.submitImages`). */
  submitImages?(
    images: readonly Image[],
    options: LetterboxOptions,
    submitOptions?: SubmitOptions,
  ): Promise<{ pending: PendingForward; geometries: LetterboxGeometry[]; shape: number[] }>;
  /** Whether the model runs on a software adapter (optional; where letterboxing on the GPU does not pay). */
  softwareAdapter?(): Promise<boolean>;
  /** Class names in index order. */
  readonly names: string[];
  /** Output strides. */
  readonly stride: number[];
}

/** Options of {@linkcode predict}, Ultralytics' names and defaults. */
export interface PredictOptions extends PlotOptions {
  /** Input size (letterbox target). @default 640 */
  imgsz?: number;
  /** Confidence threshold. @default 0.25 */
  conf?: number;
  /** NMS IoU threshold. @default 0.7 */
  iou?: number;
  /** Most detections per image. @default 300 */
  max_det?: number;
  /** Keep only these classes. @default null */
  classes?: number[] | null;
  /** Class-agnostic NMS. @default false */
  agnostic_nms?: boolean;
  /** Masks at the original image resolution. @default false */
  retina_masks?: boolean;
  /** Images per forward. @default 1 (the API gives a list of images as one batch) */
  batch?: number;
  /** Write results into a run directory. @default false in the API, true in the CLI */
  save?: boolean;
  /** Write `predictions.json`. @default false */
  save_json?: boolean;
  /** Write `labels/<stem>.txt`. @default false */
  save_txt?: boolean;
  /** Append the confidence to each label line. @default false */
  save_conf?: boolean;
  /** Write each detection's crop to `crops/<class>/<stem>.jpg`. @default false */
  save_crop?: boolean;
  /** Run directory parent. @default "runs/segment" */
  project?: string | null;
  /** Run directory name. @default "predict" */
  name?: string | null;
  /** Reuse the run directory instead of incrementing it. @default false */
  exist_ok?: boolean;
  /** Print a line per image and the speed summary. @default false in the API, true in the CLI */
  verbose?: boolean;
  /**
   * Threads for the CPU work of a list of images: decoding, post-processing, writing the annotated images
   * (Ultralytics' `workers`, which its dataloaders use; at most the CPU count, none for a single image; 0:
   * all on the main thread). @default 8
   */
  workers?: number;
  /**
   * Letterbox on the GPU (the `letterbox` kernel, bit-identical to the CPU path) in the forward's command
   * buffer, when the model can (`forwardImages`); not an Ultralytics argument (CLI: `gpu_letterbox`).
   * @default true on hardware adapters (only the image bytes are uploaded), false on software adapters
   * (where the kernel runs on the CPU anyway, slower than the CPU letterbox)
   */
  gpuLetterbox?: boolean;
  /**
   * NMS and masks on the GPU (`kernels/nms.wgsl`, `kernels/instance_masks.wgsl`) in the forward's command
   * buffer, reading back only the kept detections and their masks, when the model can (a segmentation
   * model, `retina_masks=False`); not an Ultralytics argument (CLI: `gpu_postprocess`). An image with more
   * than 1024 candidates or masks beyond its pool is post-processed on the CPU as without it. The GPU's part
   * counts in `speed.inference` (it runs in the forward's command buffer); `speed.postprocess` is then the
   * unpacking of the read-back detections.
   * @default true on hardware adapters, false on software adapters (where the kernels run on the CPU)
   */
  gpuPostprocess?: boolean;
}

const now = () => performance.now();

/** Images a predictor keeps submitted ahead of its reads (batches of `batch` images, at least one batch). */
export const PIPELINE_IMAGES = 4;

/** {@linkcode PredictOptions} with their defaults: what one batch of images needs (thresholds as in post-processing). */
export interface BatchOptions extends SegmentOptions {
  /** Input size (letterbox target). */
  imgsz: number;
  /** Letterbox on the GPU when the model can; undefined: when the model runs on a hardware adapter. */
  gpuLetterbox?: boolean;
  /** NMS and masks on the GPU when the model can; undefined: when the model runs on a hardware adapter. */
  gpuPostprocess?: boolean;
}

/** The batch options of `options`, Ultralytics' defaults filled in. */
export function batchOptions(options: PredictOptions = {}): BatchOptions {
  const conf = options.conf ?? 0.25, iou = options.iou ?? 0.7;
  // Checked here, before any forward: the GPU's NMS would take any number without a word.
  if (!(conf >= 0 && conf <= 1)) throw new RangeError(`Give a conf in [0, 1]: got ${conf}`);
  if (!(iou >= 0 && iou <= 1)) throw new RangeError(`Give an iou in [0, 1]: got ${iou}`);
  return {
    imgsz: options.imgsz ?? 640,
    conf,
    iou,
    max_det: options.max_det ?? 300,
    classes: options.classes ?? null,
    agnostic_nms: options.agnostic_nms ?? false,
    retina_masks: options.retina_masks ?? false,
    ...(options.gpuLetterbox === undefined ? {} : { gpuLetterbox: options.gpuLetterbox }),
    ...(options.gpuPostprocess === undefined ? {} : { gpuPostprocess: options.gpuPostprocess }),
  };
}

/** A decoded image and the name its result carries. */
export interface NamedImage {
  /** The result's `file`. */
  file: string;
  /** The RGB pixels. */
  img: Image;
}

/** The largest stride the letterbox pads to (at least 32, as Ultralytics' predictor). */
const strideOf = (model: Predictable) => Math.max(...model.stride, 32);

/**
 * The network input `[height, width]` of an image predicted alone (rect letterbox): images with the same
 * one can share a {@linkcode runBatch} with `rect` and each get the result it would get alone.
 */
export function rectShape(model: Predictable, origShape: [number, number], imgsz: number): [number, number] {
  return letterboxGeometry(origShape, { newShape: imgsz, auto: true, stride: strideOf(model) })
    .letterboxShape;
}

/**
 * The results of one batch of decoded images (one forward).
 *
 * @param model The model.
 * @param items The images, in batch order.
 * @param opts Thresholds and sizes.
 * @param preMs Time already spent preparing the batch (decoding), shared out in `speed.preprocess`.
 * @param rect Letterbox every image as if alone (rect); they must share {@linkcode rectShape}. By default
 *   rect only when all images have the same size, square otherwise, as Ultralytics' predictor.
 * @returns One result per image and the input shape.
 * @throws {RangeError} With `rect`, when the images' rect shapes differ.
 */
export async function runBatch(
  model: Predictable,
  items: readonly NamedImage[],
  opts: BatchOptions,
  preMs = 0,
  rect?: boolean,
  pool?: ThreadPool,
): Promise<{ results: Result[]; shape: number[] }> {
  return await (await startBatch(model, items, opts, preMs, rect, pool)).finish();
}

/** A batch whose forward is submitted (see {@linkcode startBatch}). */
export interface StartedBatch {
  /** Waits for the forward and post-processes it: NMS and masks. Call it exactly once. */
  finish(): Promise<{ results: Result[]; shape: number[] }>;
}

/**
 * {@linkcode runBatch} in two halves: letterbox and submit the forward now; `finish()` reads it back and
 * post-processes. CPU work between the two (decoding the next batch, saving the last) overlaps the GPU.
 * Models without `submit` run the forward here and `finish()` only post-processes.
 *
 * @param model The model.
 * @param items The images, in batch order.
 * @param opts Thresholds and sizes.
 * @param preMs Time already spent preparing the batch (decoding), shared out in `speed.preprocess`.
 * @param rect As in {@linkcode runBatch}.
 * @param pool Threads to post-process the images on, side by side (see {@linkcode runBatch}).
 * @returns The started batch.
 * @throws {RangeError} With `rect`, when the images' rect shapes differ.
 */
export async function startBatch(
  model: Predictable,
  items: readonly NamedImage[],
  opts: BatchOptions,
  preMs = 0,
  rect?: boolean,
  pool?: ThreadPool,
): Promise<StartedBatch> {
  const t0 = now();
  const sameShape = items.every(({ img }) =>
    img.width === items[0].img.width && img.height === items[0].img.height
  );
  const lbOpts = { newShape: opts.imgsz, auto: rect ?? sameShape, stride: strideOf(model) };
  const [H, W] = letterboxGeometry([items[0].img.height, items[0].img.width], lbOpts).letterboxShape;
  if (rect) {
    for (const { file, img } of items) {
      const [h, w] = letterboxGeometry([img.height, img.width], lbOpts).letterboxShape;
      if (h !== H || w !== W) {
        throw new RangeError(
          `Cannot batch "${file}" (${h}x${w}) with ${H}x${W} images: rect batches need one input shape`,
        );
      }
    }
  }
  const n = items.length;
  let geoms: LetterboxGeometry[], read: () => Promise<ForwardResult>;
  const hardware = model.softwareAdapter ? !(await model.softwareAdapter()) : false;
  const gpuLetterbox = opts.gpuLetterbox ?? hardware;
  const gpuPostprocess = (opts.gpuPostprocess ?? hardware) && !opts.retina_masks;
  const images = items.map(({ img }) => img);
  // Preprocessing recorded into the forward's command buffer (GPU letterbox) counts as inference.
  let t1 = now();
  // NMS's first filter runs on the GPU: only candidate columns of output0 are read back; with
  // gpuPostprocess NMS and masks too: only the kept detections and their masks are.
  const select: SubmitOptions = {
    select: { conf: opts.conf, nc: model.names.length },
    ...(gpuPostprocess ? { nms: opts } : {}),
  };
  if (gpuLetterbox && model.submitImages) {
    const { pending, geometries } = await model.submitImages(images, lbOpts, select);
    geoms = geometries;
    read = () => pending.read();
  } else if (gpuLetterbox && model.forwardImages) {
    const { output, geometries } = await model.forwardImages(images, lbOpts);
    geoms = geometries;
    read = () => Promise.resolve(output);
  } else {
    const data = new Float32Array(n * 3 * H * W);
    geoms = items.map(({ img }, i) => letterboxInto(img, data, { ...lbOpts, offset: i * 3 * H * W }));
    t1 = now();
    const pending = model.submit
      ? await model.submit(data, [n, 3, H, W], select)
      : await model.forward(data, [n, 3, H, W]).then((output) => ({ read: () => Promise.resolve(output) }));
    read = () => pending.read();
  }
  const submitted = now();
  const preTotal = preMs + t1 - t0;
  return {
    finish: async () => {
      const waited = now();
      const out = await read();
      const t2 = now();
      // Inference: submitting plus waiting for the readback (not the caller's work in between).
      return await postprocessBatch(
        model,
        items,
        opts,
        out,
        geoms,
        [H, W],
        preTotal / n,
        (submitted - t1 + t2 - waited) / n,
        pool,
      );
    },
  };
}

/**
 * NMS and masks of a batch's outputs: one result per image (polygons traced when first read). With a
 * pool, the images are post-processed on its threads side by side, each one's `speed.postprocess` the
 * batch's post-processing time shared out.
 */
async function postprocessBatch(
  model: Predictable,
  items: readonly NamedImage[],
  opts: BatchOptions,
  out: ForwardResult,
  geoms: LetterboxGeometry[],
  [H, W]: [number, number],
  pre: number,
  inf: number,
  pool?: ThreadPool,
): Promise<{ results: Result[]; shape: number[] }> {
  const n = items.length;
  const nc = model.names.length;
  const names = Object.fromEntries(model.names.map((s, i) => [i, s]));
  const [, C, A] = out.output0.shape;
  const outputs = (b: number): ImageOutputs => {
    const cand = out.candidates?.[b];
    const preds = cand ? cand.data : out.output0.data.subarray(b * C * A, (b + 1) * C * A);
    if (!out.output1) return { preds, channels: C, columns: cand ? cand.count : A };
    const [, nm, mh, mw] = out.output1.shape;
    const plane = nm * mh * mw;
    const protos = { data: out.output1.data.subarray(b * plane, (b + 1) * plane), shape: [nm, mh, mw] };
    return { preds, channels: C, columns: cand ? cand.count : A, protos } as ImageOutputs;
  };
  const result = (b: number, det: ImageDetections, ms: number) =>
    new Result({
      file: items[b].file,
      origShape: geoms[b].origShape,
      letterboxShape: [H, W],
      boxes: { xyxy: det.boxes, conf: det.conf, cls: det.cls },
      masks: det.masks && tracedMasks(det.masks.data, det.masks.shape, geoms[b].origShape),
      names,
      speed: { preprocess: pre, inference: inf, postprocess: ms },
    });
  const results: Result[] = [];
  // Images the GPU post-processed are read here; the rest (all without gpuPostprocess) are computed.
  const gpu = (b: number) => out.nms?.[b];
  const cpu = items.flatMap((_, b) => gpu(b) ? [] : [b]);
  if (pool && pool.size > 0 && cpu.length > 1) {
    const t3 = now();
    const dets = new Map<number, ImageDetections>();
    await Promise.all(
      cpu.map(async (b) =>
        dets.set(b, await pool.postprocess(outputs(b), opts, nc, [H, W], geoms[b].origShape))
      ),
    );
    const ms = (now() - t3) / cpu.length;
    for (let b = 0; b < n; b++) {
      const t4 = now();
      const det = dets.get(b) ?? gpuDetections(gpu(b)!, [H, W], geoms[b].origShape);
      results.push(result(b, det, dets.has(b) ? ms : now() - t4));
    }
  } else {
    for (let b = 0; b < n; b++) {
      const t3 = now();
      const g = gpu(b);
      const det = g
        ? gpuDetections(g, [H, W], geoms[b].origShape)
        : postprocessImage(outputs(b), opts, nc, [H, W], geoms[b].origShape);
      results.push(result(b, det, now() - t3));
    }
  }
  return { results, shape: [n, 3, H, W] };
}

/**
 * Predict instance segmentations on images.
 *
 * @param model The loaded model.
 * @param source A path, directory, glob, `.txt` of paths, bytes, or a list of these.
 * @param options Thresholds, batch, and what to save.
 * @returns One result per readable image, in source order.
 * @throws {DatasetError} for a source that does not exist (an unreadable image is a warning instead).
 * @throws {RangeError} for a `conf` or `iou` outside [0, 1] or a bad `workers`, before anything is written.
 */
export async function predict(
  model: Predictable,
  source: Source,
  options: PredictOptions = {},
): Promise<Result[]> {
  const workers = options.workers ?? 8;
  threadCount(workers, 0); // a bad value fails here, before anything is written
  const items = await resolveSources(source);
  const isList = typeof source !== "string" && !(source instanceof Uint8Array);
  const batch = Math.max(1, options.batch ?? (isList ? items.length : 1));
  const opts = batchOptions(options);
  const verbose = options.verbose ?? false;
  const say = (line: string) => verbose && info(line);
  let saveDir: string | undefined;
  if (options.save || options.save_txt || options.save_crop) {
    saveDir = incrementPath(
      join(options.project ?? "runs/segment", options.name ?? "predict"),
      options.exist_ok,
    );
    Deno.mkdirSync(options.save_txt ? join(saveDir, "labels") : saveDir, { recursive: true });
  }
  const results: Result[] = [];
  let lastShape: number[] = [];
  let failed = 0;
  // Decoding on worker threads (the next images started ahead of the batch being decoded), and each
  // batch's images post-processed on them side by side.
  const pool = new ThreadPool(threadCount(workers, items.length));
  const decoded = new DecodeAhead(
    items.length,
    Math.max(batch, 2 * pool.size),
    async (i) => await pool.decode(await readSourceItem(items[i]), items[i].file),
  );
  /** Decodes one batch of sources; unreadable ones are warnings (the error itself for a lone source). */
  const decodeBatch = async (start: number) => {
    const t0 = now();
    const ok: { item: SourceItem; img: Image }[] = [];
    for (let i = start; i < Math.min(items.length, start + batch); i++) {
      const item = items[i];
      try {
        ok.push({ item, img: await decoded.get(i) });
      } catch (e) {
        if (items.length === 1) throw e; // one source: its error, as Ultralytics raises
        warn(`Skipping image "${item.file}": ${e instanceof Error ? e.message : String(e)}`);
        failed++;
      }
    }
    return { ok, preMs: now() - t0 };
  };
  type Decoded = Awaited<ReturnType<typeof decodeBatch>>;
  const start = async (d: Decoded) =>
    d.ok.length === 0 ? undefined : {
      ok: d.ok,
      started: await startBatch(
        model,
        d.ok.map(({ item, img }) => ({ file: item.file, img })),
        opts,
        d.preMs,
        undefined,
        pool,
      ),
    };
  // Pipelined in windows: up to `depth` batches are decoded and submitted ahead, then read back together
  // (in Deno each readback waits ~10 ms after the GPU is done, and reads started together share that wait);
  // the next window's first batch is submitted before this one's results are printed and saved, so the GPU
  // works meanwhile. Results come out in source order.
  type Started = NonNullable<Awaited<ReturnType<typeof start>>>;
  const depth = Math.max(1, Math.ceil(PIPELINE_IMAGES / batch));
  /** Logs and saves a batch's results; the annotated images are written on the threads, into `saving`. */
  const emit = async (
    current: Started,
    out: { results: Result[]; shape: number[] },
    saving: Promise<void>[],
  ) => {
    lastShape = out.shape;
    for (const [j, r] of out.results.entries()) {
      results.push(r);
      const i = items.indexOf(current.ok[j].item) + 1;
      say(
        `image ${i}/${items.length} ${r.file}: ${r.letterboxShape[0]}x${r.letterboxShape[1]} ${r.summary()}` +
          `${r.speed.inference.toFixed(1)}ms`,
      );
      if (saveDir && options.save_txt && r.length > 0) {
        Deno.writeTextFileSync(
          join(saveDir, "labels", `${parse(r.file).name}.txt`),
          r.toTxt(options.save_conf),
        );
      }
      // Ultralytics keeps the source's file name (image{i}.jpg for bytes).
      if (saveDir && options.save_crop) {
        await r.saveCrops(join(saveDir, "crops"), current.ok[j].img, parse(r.file).name);
      }
      if (saveDir && options.save) {
        saving.push(pool.save(r, join(saveDir, basename(r.file)), current.ok[j].img, options));
      }
    }
  };
  let window: Started[] = []; // submitted, not read yet
  let next = 0; // first source of the next batch to decode
  let ahead: Decoded | undefined; // decoded while the GPU ran the last window, not submitted yet
  const decodeNext = async () => {
    const d = await decodeBatch(next);
    next += batch;
    return d;
  };
  const submit = async (d: Decoded) => {
    const started = await start(d);
    if (started) window.push(started);
  };
  try {
    while (ahead || next < items.length || window.length > 0) {
      while (window.length < depth && (ahead || next < items.length)) {
        const d = ahead ?? await decodeNext();
        ahead = undefined;
        await submit(d);
      }
      if (next < items.length) ahead = await decodeNext(); // the GPU is still busy with the window
      const reading = window;
      window = [];
      // Every read starts before any is awaited: one shared wait. finish() settles each (errors after all).
      const settled = await Promise.allSettled(reading.map((w) => w.started.finish()));
      if (ahead) {
        await submit(ahead);
        ahead = undefined;
      }
      const saving: Promise<void>[] = [];
      let emitted: { error: unknown } | undefined;
      try {
        for (const [k, s] of settled.entries()) {
          if (s.status === "rejected") throw s.reason;
          await emit(reading[k], s.value, saving);
        }
      } catch (error) {
        emitted = { error };
      }
      // The window's images are all written (or failed) before predict goes on or returns.
      const saved = await Promise.allSettled(saving);
      if (emitted) throw emitted.error;
      const failed = saved.find((x): x is PromiseRejectedResult => x.status === "rejected");
      if (failed) throw failed.reason;
    }
  } finally {
    // An error left forwards submitted: read them, so the model is free for its next caller.
    await Promise.allSettled(window.map((w) => w.started.finish()));
    pool.close();
  }
  if (results.length === 0 && failed === items.length) {
    throw new DatasetError(
      String(source),
      `Cannot predict: none of the ${items.length} images could be read`,
    );
  }
  if (results.length > 0) {
    const mean = (k: "preprocess" | "inference" | "postprocess") =>
      (results.reduce((s, r) => s + r.speed[k], 0) / results.length).toFixed(1);
    say(
      `Speed: ${mean("preprocess")}ms preprocess, ${mean("inference")}ms inference, ${
        mean("postprocess")
      }ms ` +
        `postprocess per image at shape (${Math.min(batch, results.length)}, 3, ${lastShape[2]}, ${
          lastShape[3]
        })`,
    );
  }
  if (saveDir) {
    if (options.save_json) {
      Deno.writeTextFileSync(
        join(saveDir, "predictions.json"),
        JSON.stringify(results.map((r) => r.toJSON())),
      );
    }
    if (options.save_txt) {
      const n = results.filter((r) => r.length > 0).length;
      say(`${n} label${n === 1 ? "" : "s"} saved to ${join(saveDir, "labels")}`);
    }
    say(`Results saved to ${saveDir}`);
  }
  return results;
}
