/**
 * Image decoding on worker threads: the data loading of predict and val (Ultralytics' `workers`), where
 * JPEG decoding is the largest CPU cost per image (about 8 ms for a 640x480 COCO image, 25 ms for the
 * 1080x810 `bus.jpg` on this project's 2-core machine) and the GPU forward takes a few ms.
 *
 * {@linkcode DecodePool} runs {@linkcode decodeImage} in worker threads (the same decoder, so the same
 * pixels and the same errors); {@linkcode DecodeAhead} keeps the decodes of the next images of a list
 * started while the caller works on the current one.
 * @module
 */
import { DatasetError } from "../errors.ts";
import { decodeImage, type Image } from "./image.ts";

/** One decode sent to a worker: what settles it, and its input should the worker die. */
interface Job {
  resolve(img: Image): void;
  reject(e: Error): void;
  bytes: Uint8Array;
  file: string;
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
  | { id: number; width: number; height: number; data: Uint8Array }
  | { id: number; error: { name: string; message: string; file: string } };

/**
 * How many decode workers a list of `images` gets for Ultralytics' `workers` argument: as its dataloader,
 * no more than the CPU count (`min(os.cpu_count(), workers)`); none for a single image (a worker's start
 * costs more than one decode), on a single CPU, or with `workers=0`.
 *
 * @param workers The requested count (Ultralytics' default: 8).
 * @param images How many images there are to decode.
 * @returns The pool size; 0: decode on the calling thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeWorkers } from "./decode_pool.ts";
 * assert.equal(decodeWorkers(8, 1), 0);
 * assert.equal(decodeWorkers(0, 100), 0);
 * assert.equal(decodeWorkers(2, 100), navigator.hardwareConcurrency < 2 ? 0 : 2);
 * ```
 */
export function decodeWorkers(workers: number, images: number): number {
  const cpus = navigator.hardwareConcurrency ?? 1;
  if (!(images >= 2) || !(workers >= 1) || cpus < 2) return 0;
  return Math.min(Math.floor(workers), cpus, images);
}

/**
 * A pool of worker threads decoding images with {@linkcode decodeImage}: same pixels, same one-line
 * {@linkcode DatasetError}s. A worker that dies hands its jobs back to the calling thread, so a decode
 * always settles as a decode on this thread would. Workers keep a Deno process alive: {@linkcode close}
 * the pool (or `using` it) when done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DecodePool } from "./decode_pool.ts";
 * using pool = new DecodePool(1);
 * await assert.rejects(pool.decode(new TextEncoder().encode("hello"), "a.jpg"), {
 *   name: "DatasetError",
 *   message: 'Cannot read image "a.jpg": not an image (starts with 68 65 6c 6c 6f)',
 * });
 * ```
 */
export class DecodePool {
  /** The workers started. */
  readonly size: number;
  #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;

  /**
   * Starts `size` workers (0: every decode runs on the calling thread).
   *
   * @param size How many workers.
   * @param script The worker module (tests substitute one; default `decode_worker.ts`).
   */
  constructor(size: number, script: URL = new URL("./decode_worker.ts", import.meta.url)) {
    this.size = Math.max(0, Math.floor(size));
    for (let i = 0; i < this.size; i++) this.#slots.push(this.#start(script));
  }

  /** How many workers have loaded and take decodes (until one has, decodes run on the calling thread). */
  get readyWorkers(): number {
    return this.#slots.filter((s) => s.ready).length;
  }

  #start(script: URL): Slot {
    const worker = new Worker(script.href, {
      type: "module",
      name: "yolo-wgsl decode",
    });
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
        const e = name === "DatasetError" ? new DatasetError(file, message) : new Error(message);
        job.reject(e);
      } else {
        job.resolve({ width: data.width, height: data.height, data: data.data });
      }
    };
    // A worker that fails (its module did not load, say) is dropped; its jobs run here instead.
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
    for (const job of jobs) decodeImage(job.bytes, job.file).then(job.resolve, job.reject);
  }

  /**
   * Decodes one image on the least busy worker ({@linkcode decodeImage}'s result and errors); on this
   * thread while no worker has loaded yet (a worker's start takes longer than a decode: ~150 ms).
   *
   * @param bytes The whole file (copied to the worker).
   * @param file The name used in error messages.
   * @returns The upright RGB image.
   * @throws {DatasetError} When the bytes are not a readable JPEG or PNG.
   */
  decode(bytes: Uint8Array, file = "<bytes>"): Promise<Image> {
    if (this.#closed) return Promise.reject(new TypeError("Cannot decode on a closed DecodePool"));
    let slot: Slot | undefined;
    for (const s of this.#slots) if (s.ready && (!slot || s.jobs.size < slot.jobs.size)) slot = s;
    if (!slot) return decodeImage(bytes, file);
    const id = this.#nextId++;
    const to = slot;
    return new Promise<Image>((resolve, reject) => {
      to.jobs.set(id, { resolve, reject, bytes, file });
      to.worker.postMessage({ id, bytes, file });
    });
  }

  /** Stops the workers; decodes still running are rejected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) {
      slot.worker.terminate();
      for (const job of slot.jobs.values()) job.reject(new TypeError("The DecodePool was closed"));
      slot.jobs.clear();
    }
    this.#slots = [];
  }

  /** {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The images of a list decoded in order with the next ones started ahead: `get(i)` starts the loads of
 * items `i .. i + ahead` not started yet and returns item `i`'s (each item's load starts once; a load
 * that fails rejects only its own `get`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DecodeAhead } from "./decode_pool.ts";
 * const started: number[] = [];
 * const ahead = new DecodeAhead(5, 2, (i) => {
 *   started.push(i);
 *   return Promise.resolve({ width: i, height: 1, data: new Uint8Array(3 * i) });
 * });
 * assert.equal((await ahead.get(0)).width, 0);
 * assert.deepEqual(started, [0, 1, 2]);
 * assert.equal((await ahead.get(1)).width, 1);
 * assert.deepEqual(started, [0, 1, 2, 3]);
 * ```
 */
export class DecodeAhead {
  #started = new Map<number, Promise<Image>>();
  #next = 0;

  /**
   * @param count How many items the list has.
   * @param ahead How many loads to keep started beyond the one asked for.
   * @param load Reads and decodes item `i` (on a {@linkcode DecodePool}, typically).
   */
  constructor(
    readonly count: number,
    readonly ahead: number,
    readonly load: (i: number) => Promise<Image>,
  ) {}

  /** Item `i`'s image (its load started now if it was not yet). */
  get(i: number): Promise<Image> {
    const end = Math.min(this.count, i + 1 + Math.max(0, this.ahead));
    for (; this.#next < end; this.#next++) {
      if (this.#next < i) continue;
      const p = this.load(this.#next);
      p.catch(() => {}); // settled by its get(); not an unhandled rejection meanwhile
      this.#started.set(this.#next, p);
    }
    const p = this.#started.get(i);
    this.#started.delete(i);
    return p ?? this.load(i);
  }
}
