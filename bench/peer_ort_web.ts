/**
 * The peer of `deno task bench`: ms per forward of ONNX Runtime Web's WebGPU execution provider on this
 * machine's WebGPU adapter, with the same model (`.onnx` export) and input as our engine.
 *
 *   deno run -A bench/peer_ort_web.ts [--model ../shared/models/yolo11n-seg-c128.onnx] [--imgsz 640]
 *                                     [--iterations 3] [--warmup 1] [--bundle webgpu|jsep] [--no-parity]
 *
 * How ORT Web runs under Deno 2.9:
 * - Bundle: `onnxruntime-web/webgpu` (dist/ort.webgpu.bundle.min.mjs, ORT's native C++ WebGPU EP on the
 *   asyncify WASM build), or with `--bundle jsep` dist/ort.min.mjs (the older JS-kernel "JSEP" WebGPU
 *   backend). The bare `onnxruntime-web` resolves to ORT's Node build under Deno, which has no WebGPU.
 * - WASM files come from the package's own `dist/` in node_modules (`env.wasm.wasmPaths`), never a CDN;
 *   `env.wasm.numThreads = 1` because ORT's worker threads start from `blob:` URLs, which Deno refuses.
 * - Deno's `GPUQueue.writeBuffer` rejects a bare SharedArrayBuffer (views on one are accepted and read
 *   correctly); JSEP passes the WASM memory's SharedArrayBuffer, so during the peer's run such writes are
 *   copied into a plain Uint8Array first. The native EP passes views and never takes that path.
 *
 * With parity on (default), the CLI also runs onnxruntime-node (CPU) on the same input and prints the
 * largest absolute difference of each output.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type * as OrtWeb from "onnxruntime-web/webgpu";
import { timeIt } from "./_stats.ts";

/** What the peer measured. */
export interface PeerTiming {
  /** The peer's name, e.g. `onnxruntime-web webgpu`. */
  name: string;
  /** The adapter ORT's device came from: description (or vendor) and architecture. */
  adapter: string;
  /** Wall ms of each timed `session.run`, input upload and output readback included. */
  msPerForward: number[];
  median: number;
  p90: number;
  /** The outputs of the last timed run, by output name (for parity checks). */
  outputs: Record<string, { dims: number[]; data: Float32Array }>;
}

/** Which ORT Web bundle runs the WebGPU execution provider. */
export type OrtWebBundle = "webgpu" | "jsep";

/** Options of {@linkcode timeOrtWebWebGpu}. */
export interface PeerOptions {
  /** Untimed runs first (shader compilation, buffer allocation). @default 1 */
  warmup?: number;
  /** Timed runs. @default 3 */
  iterations?: number;
  /** `webgpu`: ORT's native WebGPU EP (`onnxruntime-web/webgpu`); `jsep`: its JS-kernel one. @default "webgpu" */
  bundle?: OrtWebBundle;
}

/** The package's `dist/` folder as a file URL ending in `/`. */
function ortWebDist(): string {
  return new URL(".", import.meta.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm")).href;
}

/** Imports the chosen ORT Web bundle and points it at its local WASM files, single-threaded. */
async function loadOrtWeb(bundle: OrtWebBundle): Promise<typeof OrtWeb> {
  const dist = ortWebDist();
  const ort: typeof OrtWeb = bundle === "webgpu"
    ? await import("onnxruntime-web/webgpu")
    : await import(`${dist}ort.min.mjs`);
  ort.env.wasm.wasmPaths = dist;
  ort.env.wasm.numThreads = 1;
  return ort;
}

/**
 * Makes `GPUQueue.prototype.writeBuffer` accept a bare SharedArrayBuffer by copying the written range into
 * a plain Uint8Array; returns the function that restores the original.
 */
function allowSharedArrayBufferWrites(): () => void {
  const proto = GPUQueue.prototype;
  const original = proto.writeBuffer;
  proto.writeBuffer = function (buffer, bufferOffset, data, dataOffset, size) {
    const raw: unknown = data;
    if (raw instanceof SharedArrayBuffer) {
      const start = dataOffset ?? 0;
      const bytes = new Uint8Array(raw, start, size ?? raw.byteLength - start).slice();
      return original.call(this, buffer, bufferOffset, bytes);
    }
    return original.call(this, buffer, bufferOffset, data, dataOffset, size);
  };
  return () => {
    proto.writeBuffer = original;
  };
}

/** `description (or vendor) architecture` of an adapter, as our benchmark prints it. */
function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return "unknown adapter";
  return [info.description || info.vendor, info.architecture].filter(Boolean).join(" ") || "unknown adapter";
}

/**
 * Times ONNX Runtime Web's WebGPU execution provider on `modelPath` with one input tensor: `warmup`
 * untimed runs, then `iterations` timed `session.run` calls. ORT returns CPU tensors, so each timed call
 * includes the input upload, every GPU pass, and the output readback; it also waits for the queue to drain.
 *
 * @param modelPath An `.onnx` file with one float32 input (read from disk; relative to the working folder).
 * @param input The NCHW input values, `shape` in size.
 * @param shape The input shape, e.g. `[1, 3, 640, 640]`.
 * @param options Warm-up and iteration counts, and the bundle.
 * @returns The per-run ms, their median and p90, the adapter, and the last run's outputs.
 * @throws {Error} When ORT Web cannot start its WebGPU backend (no adapter) or cannot load the model.
 */
export async function timeOrtWebWebGpu(
  modelPath: string,
  input: Float32Array,
  shape: number[],
  options: PeerOptions = {},
): Promise<PeerTiming> {
  const { warmup = 1, iterations = 3, bundle = "webgpu" } = options;
  const ort = await loadOrtWeb(bundle);
  const model = await Deno.readFile(modelPath);
  const restore = allowSharedArrayBufferWrites();
  let session: OrtWeb.InferenceSession | undefined;
  try {
    try {
      session = await ort.InferenceSession.create(model, { executionProviders: ["webgpu"] });
    } catch (e) {
      throw new Error(
        `Cannot start onnxruntime-web's WebGPU backend on "${modelPath}": ${(e as Error).message}`,
        { cause: e },
      );
    }
    const device = (await ort.env.webgpu.device) as GPUDevice;
    const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", input, shape) };
    let last: OrtWeb.InferenceSession.OnnxValueMapType = {};
    const run = session;
    const timing = await timeIt(async () => {
      last = await run.run(feeds);
      await device.queue.onSubmittedWorkDone();
    }, { warmup, iterations });
    const outputs: PeerTiming["outputs"] = {};
    for (const name of session.outputNames) {
      outputs[name] = { dims: [...last[name].dims], data: last[name].data as Float32Array };
    }
    return {
      name: bundle === "webgpu" ? "onnxruntime-web webgpu" : "onnxruntime-web webgpu (jsep)",
      adapter: describeAdapter(
        device.adapterInfo ?? (ort.env.webgpu.adapter as GPUAdapter | undefined)?.info,
      ),
      msPerForward: timing.ms,
      median: timing.median,
      p90: timing.p90,
      outputs,
    };
  } finally {
    await session?.release();
    restore();
  }
}

/** Runs `modelPath` with onnxruntime-node (CPU): the oracle for the peer's outputs. Needs `--allow-ffi`. */
export async function ortNodeOutputs(
  modelPath: string,
  input: Float32Array,
  shape: number[],
): Promise<Record<string, Float32Array>> {
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(modelPath);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", input, shape) });
    return Object.fromEntries(session.outputNames.map((n) => [n, out[n].data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** The largest absolute difference of two equally long arrays (NaN anywhere gives NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot compare arrays of ${a.length} and ${b.length} values`);
  }
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) max = d;
  }
  return max;
}

/** A deterministic image-like input in [0, 1): the same hash our benchmark uses. */
function benchInput(shape: number[]): Float32Array {
  const x = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) >>> 0) / 2 ** 32;
  return x;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "../shared/models/yolo11n-seg-c128.onnx" },
      imgsz: { type: "string", default: "640" },
      iterations: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      bundle: { type: "string", default: "webgpu" },
      "no-parity": { type: "boolean", default: false },
    },
  });
  if (values.bundle !== "webgpu" && values.bundle !== "jsep") {
    throw new TypeError(`Use --bundle webgpu or --bundle jsep: got "${values.bundle}"`);
  }
  const imgsz = Number(values.imgsz);
  const iterations = Number(values.iterations);
  const shape = [1, 3, imgsz, imgsz];
  const input = benchInput(shape);
  const peer = await timeOrtWebWebGpu(values.model, input, shape, {
    warmup: Number(values.warmup),
    iterations,
    bundle: values.bundle,
  });
  console.log(
    `${peer.name}: ${peer.median.toFixed(1)} ms/forward (median of ${iterations}, p90 ${
      peer.p90.toFixed(1)
    }) on ${peer.adapter}`,
  );
  if (!values["no-parity"]) {
    const ref = await ortNodeOutputs(values.model, input, shape);
    const parts = Object.entries(peer.outputs).map(([name, out]) => {
      const scale = maxAbsDiff(ref[name], new Float32Array(ref[name].length));
      return `${name} [${out.dims.join(",")}] ${
        maxAbsDiff(out.data, ref[name]).toExponential(2)
      } (max |ref| ${scale.toFixed(1)})`;
    });
    console.log(`parity vs onnxruntime-node (CPU), max abs diff: ${parts.join(", ")}`);
  }
}
