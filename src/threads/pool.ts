/**
 * Worker threads for the CPU work around the GPU forward, where one image's forward takes a few ms on a
 * big GPU: decoding images (about 8 ms for a 640x480 COCO JPEG, 25 ms for the 1080x810 `bus.jpg` on this
 * project's 2-CPU machine), post-processing a batch's images (NMS and masks), writing annotated images
 * (drawing and JPEG encoding), and val's per-image preparation and matching. The threads run the same
 * functions as the main thread ({@linkcode decodeImage}, {@linkcode postprocessImage}, `Result.save`,
 * {@linkcode valSample}, {@linkcode imageMatches}), so they give the same results and the same errors.
 * @module
 */
import type { ImageLabels } from "../data/labels.ts";
import { valSample } from "../data/val_sample.ts";
import { DatasetError } from "../errors.ts";
import { decodeImage, type Image } from "../io/image.ts";
import type { PlotOptions } from "../plot/annotate.ts";
import type { Result } from "../results.ts";
import {
  type ImageMatches,
  imageMatches,
  type ImageTruth,
  type MatchOptions,
} from "../metrics/image_matches.ts";
import {
  type ImageDetections,
  type ImageOutputs,
  postprocessImage,
  type SegmentOptions,
} from "../postprocess/segment.ts";

/** A task for a worker (see `worker.ts`). */
export type Task =
  | { kind: "decode"; bytes: Uint8Array; file: string }
  | {
    kind: "postprocess";
    out: ImageOutputs;
    opts: SegmentOptions;
    nc: number;
    letterboxShape: [number, number];
    origShape: [number, number];
  }
  | {
    kind: "matches";
    out: ImageOutputs;
    truth: ImageTruth;
    opts: MatchOptions;
    letterboxShape: [number, number];
  }
  | { kind: "save"; path: string; image: Image; result: ResultParts; options: PlotOptions }
  | {
    kind: "valSample";
    bytes: Uint8Array;
    file: string;
    label: ImageLabels;
    shape: [number, number];
    imgsz: number;
  };

/** A result as plain data (a worker rebuilds it: see `worker.ts`). */
export interface ResultParts {
  file: string;
  origShape: [number, number];
  letterboxShape: [number, number];
  boxes: { xyxy: Float32Array; conf: Float32Array; cls: Int32Array };
  masks?: { data: Uint8Array; shape: [number, number, number] };
  names: Record<number, string>;
  speed: { preprocess: number; inference: number; postprocess: number };
}

/** One task sent to a worker: what settles it, and how to run it here should the worker die. */
interface Job {
  resolve(value: unknown): void;
  reject(e: Error): void;
  here(): Promise<unknown>;
}

/** A worker and the jobs it holds. */
interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** Whether its module has loaded (said `ready`). */
  ready: boolean;
}

/** A worker's answer. */
type Reply =
  | { ready: true }
  | { id: number; result: unknown }
  | { id: number; error: { name: string; message: string; file?: string } };

/**
 * How many threads a job of `items` images gets for Ultralytics' `workers` argument: as its dataloader,
 * no more than the CPU count (`min(os.cpu_count(), workers)`); none for a single image (a thread's start
 * costs more than one image's work), on a single CPU, or with `workers=0`.
 *
 * @param workers The requested count (Ultralytics' default: 8).
 * @param items How many images there are.
 * @returns The pool size; 0: everything on the calling thread.
 * @throws {RangeError} When `workers` is not a whole number >= 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { threadCount } from "./pool.ts";
 * assert.equal(threadCount(8, 1), 0);
 * assert.equal(threadCount(0, 100), 0);
 * assert.equal(threadCount(2, 100), navigator.hardwareConcurrency < 2 ? 0 : 2);
 * ```
 */
export function threadCount(workers: number, items: number): number {
  if (!(Number.isInteger(workers) && workers >= 0)) {
    throw new RangeError(`Give workers a whole number >= 0: got ${workers}`);
  }
  const cpus = navigator.hardwareConcurrency ?? 1;
  if (!(items >= 2) || workers === 0 || cpus < 2) return 0;
  return Math.min(workers, cpus, items);
}

/**
 * A pool of worker threads running the tasks above (one method each). Until a worker has loaded
 * (~150 ms) tasks run on the calling thread; a worker that dies hands its tasks back to the calling
 * thread, so a task always settles as it would here. Workers keep a Deno process alive:
 * {@linkcode close} the pool (or `using` it) when done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ThreadPool } from "./pool.ts";
 * using pool = new ThreadPool(1);
 * await assert.rejects(pool.decode(new TextEncoder().encode("hello"), "a.jpg"), {
 *   name: "DatasetError",
 *   message: 'Cannot read image "a.jpg": not an image (starts with 68 65 6c 6c 6f)',
 * });
 * ```
 */
export class ThreadPool {
  /** The workers started. */
  readonly size: number;
  #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;

  /**
   * Starts `size` workers (0: every task runs on the calling thread).
   *
   * @param size How many workers.
   * @param script The worker module (tests substitute one; default `worker.ts`).
   */
  constructor(size: number, script: URL = new URL("./worker.ts", import.meta.url)) {
    this.size = Math.max(0, Math.floor(size));
    for (let i = 0; i < this.size; i++) this.#slots.push(this.#start(script));
  }

  /** How many workers have loaded and take tasks (until one has, tasks run on the calling thread). */
  get readyWorkers(): number {
    return this.#slots.filter((s) => s.ready).length;
  }

  #start(script: URL): Slot {
    const worker = new Worker(script.href, { type: "module", name: "yolo-wgsl thread" });
    const slot: Slot = { worker, jobs: new Map(), ready: false };
    worker.onmessage = ({ data }: MessageEvent<Reply>) => {
      if ("ready" in data) {
        slot.ready = true;
        return;
      }
      const job = slot.jobs.get(data.id);
      if (!job) return;
      slot.jobs.delete(data.id);
      if ("error" in data) {
        const { name, message, file } = data.error;
        job.reject(name === "DatasetError" ? new DatasetError(file ?? "", message) : new Error(message));
      } else {
        job.resolve(data.result);
      }
    };
    // A worker that fails (its module did not load, say) is dropped; its tasks run here instead.
    const fail = (e: Event) => {
      e.preventDefault();
      this.#drop(slot);
    };
    worker.onerror = fail;
    worker.onmessageerror = fail;
    return slot;
  }

  #drop(slot: Slot): void {
    slot.worker.terminate();
    this.#slots = this.#slots.filter((s) => s !== slot);
    const jobs = [...slot.jobs.values()];
    slot.jobs.clear();
    for (const job of jobs) job.here().then(job.resolve, job.reject);
  }

  /**
   * Sends the task `message()` makes (with the buffers to transfer) to the least busy loaded worker, or
   * runs `here` when none has loaded (and when that worker dies).
   */
  #run<T>(message: () => [Task, ArrayBuffer[]], here: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new TypeError("Cannot run a task on a closed ThreadPool"));
    let slot: Slot | undefined;
    for (const s of this.#slots) if (s.ready && (!slot || s.jobs.size < slot.jobs.size)) slot = s;
    if (!slot) return here();
    const id = this.#nextId++, to = slot;
    const [task, transfer] = message();
    return new Promise<T>((resolve, reject) => {
      to.jobs.set(id, { resolve: resolve as (v: unknown) => void, reject, here });
      to.worker.postMessage({ id, task }, transfer);
    });
  }

  /**
   * Decodes one image ({@linkcode decodeImage}'s result and errors).
   *
   * @param bytes The whole file (copied to the worker).
   * @param file The name used in error messages.
   * @returns The upright RGB image.
   * @throws {DatasetError} When the bytes are not a readable JPEG or PNG.
   */
  decode(bytes: Uint8Array, file = "<bytes>"): Promise<Image> {
    return this.#run(() => [{ kind: "decode", bytes, file }, []], () => decodeImage(bytes, file));
  }

  /**
   * Writes a result's annotated image ({@linkcode Result.save}: plotted, encoded and written atomically)
   * on a worker; its pixels and masks are copied there.
   *
   * @param result The result.
   * @param path The file to write.
   * @param image The original RGB image.
   * @param options What to draw.
   */
  save(result: Result, path: string, image: Image, options: PlotOptions = {}): Promise<void> {
    const message = (): [Task, ArrayBuffer[]] => {
      const { file, origShape, letterboxShape, boxes, masks, names, speed } = result;
      const parts: ResultParts = {
        file,
        origShape,
        letterboxShape,
        boxes: { xyxy: boxes.xyxy, conf: boxes.conf, cls: boxes.cls },
        masks: masks && { data: masks.data, shape: masks.shape },
        names,
        speed,
      };
      const { show_boxes, show_labels, show_conf, show_masks, line_width } = options;
      const plot: PlotOptions = { show_boxes, show_labels, show_conf, show_masks, line_width };
      return [{ kind: "save", path, image, result: parts, options: plot }, []];
    };
    return this.#run(message, () => result.save(path, image, options));
  }

  /**
   * Decodes a validation image and prepares it for its batch ({@linkcode valSample}: its own input and
   * ground truth), with {@linkcode decodeImage}'s errors.
   *
   * @param bytes The image file (copied to the worker).
   * @param file Its name, for errors.
   * @param label Its labels.
   * @param shape `[H, W]` of its batch.
   * @param imgsz The long side it is resized to first.
   * @returns The image's `[3, H, W]` input and ground truth.
   */
  valSample(
    bytes: Uint8Array,
    file: string,
    label: ImageLabels,
    shape: [number, number],
    imgsz: number,
  ): Promise<{ input: Float32Array; truth: ImageTruth }> {
    return this.#run(
      () => [{ kind: "valSample", bytes, file, label, shape, imgsz }, []],
      async () => valSample(await decodeImage(bytes, file), label, shape, imgsz),
    );
  }

  /**
   * One image's post-processing ({@linkcode postprocessImage}'s result and errors). A worker gets copies
   * of just the image's arrays (views into a batch's outputs stay intact, so the task can rerun here).
   *
   * @returns The detections.
   */
  postprocess(
    out: ImageOutputs,
    opts: SegmentOptions,
    nc: number,
    letterboxShape: [number, number],
    origShape: [number, number],
  ): Promise<ImageDetections> {
    const message = (): [Task, ArrayBuffer[]] => {
      const [sent, transfer] = copyOutputs(out);
      return [{ kind: "postprocess", out: sent, opts, nc, letterboxShape, origShape }, transfer];
    };
    const here = () =>
      Promise.resolve().then(() => postprocessImage(out, opts, nc, letterboxShape, origShape));
    return this.#run(message, here);
  }

  /**
   * One image's validation matches ({@linkcode imageMatches}'s result and errors); a worker gets copies of
   * just the image's arrays, as in {@linkcode ThreadPool.postprocess}.
   *
   * @returns The predictions and their matches.
   */
  matches(
    out: ImageOutputs,
    truth: ImageTruth,
    opts: MatchOptions,
    letterboxShape: [number, number],
  ): Promise<ImageMatches> {
    const message = (): [Task, ArrayBuffer[]] => {
      const [sent, transfer] = copyOutputs(out);
      const { origShape, ratioPad, cls, boxes, mask } = truth; // only what the task reads travels
      const task: Task = {
        kind: "matches",
        out: sent,
        truth: { origShape, ratioPad, cls, boxes, mask },
        opts,
        letterboxShape,
      };
      return [task, transfer];
    };
    const here = () => Promise.resolve().then(() => imageMatches(out, truth, opts, letterboxShape));
    return this.#run(message, here);
  }

  /** Stops the workers; tasks still running are rejected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) {
      slot.worker.terminate();
      for (const job of slot.jobs.values()) job.reject(new TypeError("The ThreadPool was closed"));
      slot.jobs.clear();
    }
    this.#slots = [];
  }

  /** {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Copies of an image's output arrays (their own buffers, to transfer), so a view's whole buffer stays. */
function copyOutputs(out: ImageOutputs): [ImageOutputs, ArrayBuffer[]] {
  const preds = out.preds.slice();
  const protos = out.protos && { data: out.protos.data.slice(), shape: out.protos.shape };
  const sent: ImageOutputs = { preds, channels: out.channels, columns: out.columns, protos };
  return [sent, protos ? [preds.buffer, protos.data.buffer] : [preds.buffer]];
}
