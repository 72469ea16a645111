/**
 * The serve mode: predictions over HTTP (`Deno.serve`). Routes:
 *
 * - `POST /predict`: a JPEG or PNG as the raw body or the `file` (or `image`) field of a multipart form;
 *   query parameters (or form fields) `conf`, `iou`, `imgsz`, `max_det`, `classes`, `agnostic_nms`,
 *   `retina_masks`, `format=json|png`. `json` answers the image's `predictions.json` entry plus `speed`;
 *   `png` the annotated image.
 * - `GET /health`: `{ status, model, task, names, imgsz, device, stats }`.
 * - `GET /`: a page that sends a chosen image and draws its masks and boxes.
 *
 * Errors are `{ "error": "<one line>" }`: 400 (not an image, bad parameters), 404, 405, 413 (body over
 * `max_bytes`, image over `max_pixels`), 503 (GPU lost or unavailable), 504 (over `timeout`).
 *
 * Concurrent requests are micro-batched: those with the same rect letterbox shape and parameters share a
 * forward (at most `max_batch`), each letterboxed as if alone, so every answer equals what
 * `model.predict(bytes, params)` gives for that image. When the GPU device is lost, the requests in flight
 * get 503 and the model's GPU state is rebuilt for the next one.
 * @module
 */
import { basename } from "node:path";
import { DatasetError } from "../errors.ts";
import { threadCount, ThreadPool } from "../threads/pool.ts";
import type { Image } from "../io/image.ts";
import { error as logError, info, warn } from "../log.ts";
import { encodeImage } from "../plot/encode.ts";
import type { Result } from "../results.ts";
import { Batcher } from "../serve/batcher.ts";
import { pageHtml } from "../serve/page.ts";
import { headerSize, HttpError, type PredictParams, readPredictRequest } from "../serve/request.ts";
import type { YOLO } from "../yolo.ts";
import { type BatchOptions, batchOptions, rectShape, runBatch } from "./predict.ts";

/** Options of {@linkcode serveHandler}: request defaults, limits and batching. */
export interface ServeHandlerOptions {
  /** Input size of a request that does not say. @default 640 */
  imgsz?: number;
  /** Confidence threshold of a request that does not say. @default 0.25 */
  conf?: number;
  /** NMS IoU threshold of a request that does not say. @default 0.7 */
  iou?: number;
  /** Most detections per image of a request that does not say. @default 300 */
  max_det?: number;
  /** Classes kept when a request does not say. @default null (all) */
  classes?: number[] | null;
  /** Class-agnostic NMS when a request does not say. @default false */
  agnostic_nms?: boolean;
  /** Masks at the original resolution when a request does not say. @default false */
  retina_masks?: boolean;
  /** The largest `imgsz` a request may ask for. @default the larger of 1280 and `imgsz` */
  max_imgsz?: number;
  /** Most requests in one forward. @default 8 */
  max_batch?: number;
  /** How long a request waits for others to share its forward, in ms. @default 5 */
  batch_wait?: number;
  /** The largest request body, in bytes (413 over it). @default 20 MiB */
  max_bytes?: number;
  /** The largest image, in pixels (413 over it). @default 40_000_000 */
  max_pixels?: number;
  /** Seconds a prediction request may take, waiting included (504 after). @default 60 */
  timeout?: number;
  /** Log one line per request. @default false */
  verbose?: boolean;
  /** Letterbox on the GPU (see `PredictOptions.gpuLetterbox`). @default true on hardware adapters */
  gpuLetterbox?: boolean;
  /** NMS and masks on the GPU (see `PredictOptions.gpuPostprocess`). @default true on hardware adapters */
  gpuPostprocess?: boolean;
  /**
   * Threads decoding request images and post-processing their batches (at most the CPU count; started with
   * the first prediction; 0: the main thread, which also serves every request). @default 8
   */
  workers?: number;
}

/** Options of {@linkcode serve}: the handler's, and where to listen. */
export interface ServeOptions extends ServeHandlerOptions {
  /** TCP port; 0 picks a free one. @default 8000 */
  port?: number;
  /** Address to listen on. @default "127.0.0.1" */
  host?: string;
  /** Shuts the server down when aborted. */
  signal?: AbortSignal;
}

/** What a server has answered so far. */
export interface ServeStats {
  /** Requests answered, all routes. */
  requests: number;
  /** Successful predictions. */
  predictions: number;
  /** Answers with status 400 or above. */
  errors: number;
  /** Forwards run (batches). */
  forwards: number;
  /** Images in those forwards. */
  images: number;
  /** Images waiting for a forward now. */
  pending: number;
  /** Images in the forward running now. */
  running: number;
}

/** The request handler of a server, for embedding in your own `Deno.serve`. */
export interface ServeHandler {
  /** Answers one request (`/`, `/health`, `/predict`; other paths 404). Never throws. */
  fetch(request: Request): Promise<Response>;
  /** Counts of requests, errors and forwards. */
  stats(): ServeStats;
  /**
   * Refuses new predictions and answers the waiting ones with 503.
   *
   * @returns Resolves once the forward running now, if any, has finished.
   */
  close(): Promise<void>;
}

/** A running server. */
export interface ServeHandle {
  /** Its base URL, e.g. `http://127.0.0.1:8000/`. */
  url: string;
  /** The address it listens on. */
  hostname: string;
  /** The port it listens on (the chosen one for `port: 0`). */
  port: number;
  /** Resolves once the server has stopped. */
  finished: Promise<void>;
  /**
   * Stops accepting connections, lets the requests in flight finish (and a forward whose requests timed
   * out), then resolves.
   */
  shutdown(): Promise<void>;
  /** Counts of requests, errors and forwards. */
  stats(): ServeStats;
  /** {@linkcode ServeHandle.shutdown}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** One decoded image waiting for its forward. */
interface Job {
  file: string;
  img: Image;
  decodeMs: number;
  opts: BatchOptions;
}

/** What the batcher hands back per image. */
interface Answer {
  result: Result;
  batch: number;
}

const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim();

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers });

/** Per GPU device: whether it was lost, and who waits for that. */
interface DeviceWatch {
  lost: boolean;
  waiters: Set<() => void>;
}

const deviceLost = () =>
  new HttpError(503, "The GPU device was lost during inference: retry; the model is being rebuilt");

/**
 * The request handler of the prediction server: routes, limits, micro-batching and GPU-loss recovery,
 * without a listener (see {@linkcode serve}).
 *
 * @param model The model to serve; one instance answers every request.
 * @param options Request defaults, limits, batching.
 * @returns The handler, its stats and `close`.
 * @example Answer requests without a listener
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveHandler, YOLO } from "@yolo-wgsl/yolo-wgsl";
 * const model = await YOLO.load("yolo11n-seg.yaml"); // random weights
 * const handler = serveHandler(model, { imgsz: 64 });
 * const res = await handler.fetch(new Request("http://localhost/predict?conf=2", { method: "POST" }));
 * assert.equal(res.status, 400);
 * assert.deepEqual(await res.json(), { error: 'Give "conf" as a number from 0 to 1: got "2"' });
 * assert.equal((await handler.fetch(new Request("http://localhost/nope"))).status, 404);
 * await handler.close();
 * model.dispose();
 * ```
 */
export function serveHandler(model: YOLO, options: ServeHandlerOptions = {}): ServeHandler {
  const defaults: PredictParams = { ...batchOptions(options), format: "json" };
  const stride = Math.max(...model.stride, 32);
  const limits = {
    nc: model.names.length,
    stride,
    maxImgsz: options.max_imgsz ?? Math.max(1280, defaults.imgsz),
    maxBytes: options.max_bytes ?? 20 * 2 ** 20,
  };
  const maxPixels = options.max_pixels ?? 40_000_000;
  const timeoutMs = (options.timeout ?? 60) * 1000;
  const verbose = options.verbose ?? false;
  const counts = { requests: 0, predictions: 0, errors: 0 };
  const watches = new WeakMap<GPUDevice, DeviceWatch>();
  let current: GPUDevice | undefined;
  let closed = false;
  const threads = threadCount(options.workers ?? 8, Infinity); // a bad value fails here
  let pool: ThreadPool | undefined;
  /** Decodes a request's image on the pool's threads (the pool started on first use). */
  const decode = (bytes: Uint8Array, file: string) =>
    (pool ??= new ThreadPool(threads)).decode(bytes, file).catch(
      (e) => {
        throw closed && !(e instanceof DatasetError) ? new HttpError(503, "The server is shutting down") : e;
      },
    );

  /** Starts watching a device for loss (once). */
  const watch = (device: GPUDevice): DeviceWatch => {
    let w = watches.get(device);
    if (!w) {
      const state: DeviceWatch = { lost: false, waiters: new Set() };
      watches.set(device, w = state);
      device.lost.then((lostInfo) => {
        state.lost = true;
        if (current === device) current = undefined;
        if (!closed) {
          warn(
            `GPU device lost (${lostInfo.reason}: ${lostInfo.message}): requests in flight get 503; ` +
              "the model is rebuilt on the next request",
          );
        }
        for (const f of state.waiters) f();
      });
    }
    return w;
  };

  /** `work`, or a 503 as soon as the device is lost. */
  const untilLost = <T>(w: DeviceWatch, work: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (w.lost) return reject(deviceLost());
      const onLost = () => reject(deviceLost());
      w.waiters.add(onLost);
      work.then(resolve, reject).finally(() => w.waiters.delete(onLost));
    });

  /** Whether the device is lost, waiting up to `ms` for the news (it comes after the failed call). */
  const lostWithin = (w: DeviceWatch, ms: number): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      if (w.lost) return resolve(true);
      const done = (lost: boolean) => {
        clearTimeout(timer);
        w.waiters.delete(onLost);
        resolve(lost);
      };
      const onLost = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      w.waiters.add(onLost);
    });

  const gpu = async (): Promise<GPUDevice> => {
    try {
      const device = await model.device();
      watch(device);
      return current = device;
    } catch (e) {
      throw new HttpError(503, `The GPU is unavailable: ${oneLine(e)}`);
    }
  };
  gpu().catch((e) => warn(oneLine(e))); // start the device and upload the weights before the first request

  const batcher = new Batcher<Job, Answer>(async (_key, jobs) => {
    const device = await gpu();
    const w = watch(device);
    const preMs = jobs.reduce((s, j) => s + j.decodeMs, 0);
    try {
      const { results } = await untilLost(w, runBatch(model, jobs, jobs[0].opts, preMs, true, pool));
      return results.map((result) => ({ result, batch: jobs.length }));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      if (await lostWithin(w, 1000)) throw deviceLost();
      throw e;
    }
  }, { maxBatch: Math.max(1, options.max_batch ?? 8), waitMs: options.batch_wait ?? 5 });

  const predictRoute = async (req: Request, signal: AbortSignal): Promise<Response> => {
    if (closed) throw new HttpError(503, "The server is shutting down");
    const { bytes, file, params } = await readPredictRequest(req, defaults, limits);
    const tooLarge = (h: number, w: number) =>
      new HttpError(413, `Send an image of at most ${maxPixels} pixels: "${file}" is ${w}x${h}`);
    const size = headerSize(bytes);
    if (size && size[0] * size[1] > maxPixels) throw tooLarge(...size);
    const t0 = performance.now();
    const img = await decode(bytes, file);
    if (img.width * img.height > maxPixels) throw tooLarge(img.height, img.width);
    signal.throwIfAborted();
    const opts = batchOptions(params);
    const key = JSON.stringify([rectShape(model, [img.height, img.width], opts.imgsz), opts]);
    const job = { file, img, decodeMs: performance.now() - t0, opts };
    const { result, batch } = await batcher.submit(key, job, signal).catch((e) => {
      throw closed && !(e instanceof HttpError) ? new HttpError(503, "The server is shutting down") : e;
    });
    const headers = { "x-batch-size": String(batch) };
    counts.predictions++;
    if (params.format === "png") {
      const png = await encodeImage(result.plot(img), "png");
      return new Response(png as Uint8Array<ArrayBuffer>, {
        headers: { ...headers, "content-type": "image/png" },
      });
    }
    return json({ ...result.toJSON(), speed: result.speed }, 200, headers);
  };

  /** `predictRoute` under the timeout (a request timed out while waiting leaves the queue). */
  const timed = async (req: Request): Promise<Response> => {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new HttpError(504, `Timed out after ${timeoutMs / 1000} s: the server is busy`)),
      timeoutMs,
    );
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
    });
    try {
      return await Promise.race([predictRoute(req, controller.signal), aborted]);
    } finally {
      clearTimeout(timer);
    }
  };

  const health = () => ({
    status: "ok",
    model: basename(model.model.file),
    task: model.task,
    names: model.names.length,
    imgsz: defaults.imgsz,
    device: current?.adapterInfo?.description || current?.adapterInfo?.vendor || null,
    stats: stats(),
  });

  const route = (req: Request, path: string): Promise<Response> | Response => {
    const only = (...methods: string[]) => {
      if (methods.includes(req.method)) return null;
      return json({ error: `Use ${methods.join(" or ")} for "${path}": got ${req.method}` }, 405, {
        allow: methods.join(", "),
      });
    };
    switch (path) {
      case "/":
        return only("GET", "HEAD") ??
          new Response(pageHtml(basename(model.model.file), defaults.imgsz), {
            headers: { "content-type": "text/html; charset=utf-8" },
          });
      case "/health":
        return only("GET", "HEAD") ?? json(health());
      case "/predict":
        return only("POST") ?? timed(req);
      default:
        throw new HttpError(404, `Cannot find "${path}": use GET /, GET /health or POST /predict`);
    }
  };

  const answerError = (e: unknown): Response => {
    const status = e instanceof HttpError ? e.status : e instanceof DatasetError ? 400 : 500;
    if (status === 500) logError(`Cannot answer a request: ${oneLine(e)}`);
    return json({ error: oneLine(e) }, status);
  };

  const stats = (): ServeStats => {
    const b = batcher.stats();
    return { ...counts, forwards: b.batches, images: b.items, pending: b.pending, running: b.running };
  };

  return {
    async fetch(req: Request): Promise<Response> {
      const t0 = performance.now();
      const path = new URL(req.url).pathname;
      let res: Response;
      try {
        res = await route(req, path);
      } catch (e) {
        res = answerError(e);
      }
      counts.requests++;
      if (res.status >= 400) counts.errors++;
      if (verbose) info(`${req.method} ${path} ${res.status} ${(performance.now() - t0).toFixed(1)}ms`);
      return res;
    },
    stats,
    close() {
      closed = true;
      // The threads stop once the running forward has been post-processed.
      return batcher.close().finally(() => pool?.close());
    },
  };
}

/**
 * Serves predictions over HTTP: `POST /predict` (an image in, its `predictions.json` entry or annotated
 * PNG out), `GET /health` and `GET /` (a page that draws the masks). Concurrent requests share forwards.
 *
 * @param model The model to serve.
 * @param options Where to listen (`port`, `host`), request defaults (`imgsz`, `conf`, ...), limits
 *   (`max_bytes`, `max_pixels`, `max_imgsz`, `timeout`) and batching (`max_batch`, `batch_wait`).
 * @returns The running server: its URL, `stats()` and `shutdown()`.
 * @throws {Error} When the address cannot be listened on (in use, not allowed).
 * @example Serve a model, ask it, stop
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve, YOLO } from "@yolo-wgsl/yolo-wgsl";
 * const model = await YOLO.load("yolo11n-seg.yaml"); // random weights
 * const server = serve(model, { port: 0, imgsz: 64 });
 * const health = await (await fetch(new URL("health", server.url))).json();
 * assert.equal(health.status, "ok");
 * const res = await fetch(new URL("predict", server.url), { method: "POST", body: "not an image" });
 * assert.equal(res.status, 400);
 * assert.match((await res.json()).error, /not an image/);
 * await server.shutdown();
 * model.dispose();
 * ```
 */
export function serve(model: YOLO, options: ServeOptions = {}): ServeHandle {
  const handler = serveHandler(model, options);
  const port = options.port ?? 8000, host = options.host ?? "127.0.0.1";
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ port, hostname: host, signal: options.signal, onListen: () => {} }, handler.fetch);
  } catch (e) {
    handler.close().catch(() => {});
    throw new Error(`Cannot listen on ${host}:${port}: ${oneLine(e)}`);
  }
  const { hostname, port: bound } = server.addr;
  const finished = server.finished.then(() => handler.close());
  const shutdown = async () => {
    await server.shutdown();
    await finished;
  };
  return {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${bound}/`,
    hostname,
    port: bound,
    finished,
    shutdown,
    stats: handler.stats,
    [Symbol.asyncDispose]: shutdown,
  };
}
