/**
 * The peer of `deno task bench`: ONNX Runtime Web's WebGPU execution provider running Ultralytics' ONNX
 * export on the same adapter, inside Deno. Its WASM files come from the npm package (no CDN). Deno's
 * `GPUQueue.writeBuffer` rejects the SharedArrayBuffer-backed views ORT passes, so writes are copied into a
 * plain buffer while the peer runs.
 */
import { parseArgs } from "node:util";

/** Timings of the peer. */
export interface PeerTiming {
  name: string;
  adapter: string;
  msPerForward: number[];
  median: number;
  p90: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = ((s.length - 1) * p) / 100;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}

/** Time `iterations` forwards of `modelPath` (after `warmup`) with onnxruntime-web's WebGPU backend. */
export async function timeOrtWebWebGpu(
  modelPath: string,
  input: Float32Array,
  shape: number[],
  options: { warmup?: number; iterations?: number } = {},
): Promise<PeerTiming> {
  const ort = await import("onnxruntime-web/webgpu");
  const dist = new URL("../node_modules/onnxruntime-web/dist/", import.meta.url).href;
  ort.env.wasm.wasmPaths = dist;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const proto = GPUQueue.prototype as unknown as { writeBuffer: (...a: unknown[]) => void };
  const original = proto.writeBuffer;
  proto.writeBuffer = function (
    this: GPUQueue,
    buffer: unknown,
    offset: unknown,
    data: unknown,
    ...rest: unknown[]
  ) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      data = new Uint8Array(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } else if (data instanceof SharedArrayBuffer) data = new Uint8Array(new Uint8Array(data));
    return original.call(this, buffer, offset, data, ...rest);
  };
  try {
    const session = await ort.InferenceSession.create(await Deno.readFile(modelPath), {
      executionProviders: ["webgpu"],
    });
    const adapter = await navigator.gpu.requestAdapter();
    const info = adapter?.info;
    const name = info ? [info.description || info.vendor, info.architecture].filter(Boolean).join(" ") : "?";
    const times: number[] = [];
    const warmup = options.warmup ?? 1;
    const iterations = options.iterations ?? 3;
    for (let i = 0; i < warmup + iterations; i++) {
      const t0 = performance.now();
      const out = await session.run({ images: new ort.Tensor("float32", input, shape) });
      // CPU tensors: the data is on the host once run resolves.
      void out.output0.data;
      if (i >= warmup) times.push(performance.now() - t0);
    }
    await session.release();
    return {
      name: "onnxruntime-web webgpu",
      adapter: name,
      msPerForward: times,
      median: percentile(times, 50),
      p90: percentile(times, 90),
    };
  } finally {
    proto.writeBuffer = original;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "../shared/models/yolo11n-seg-c128.onnx" },
      iterations: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      imgsz: { type: "string", default: "640" },
    },
  });
  const s = Number(values.imgsz);
  const input = new Float32Array(3 * s * s).fill(0.5);
  const t = await timeOrtWebWebGpu(values.model, input, [1, 3, s, s], {
    warmup: Number(values.warmup),
    iterations: Number(values.iterations),
  });
  console.log(
    `${t.name}: ${t.median.toFixed(1)} ms/forward (median of ${t.msPerForward.length}, p90 ${
      t.p90.toFixed(1)
    }) on ${t.adapter}`,
  );
}
