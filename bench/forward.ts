/**
 * `deno task bench`: ms per forward of yolo-wgsl on this machine's WebGPU adapter (median and p90 after
 * warm-up; wall time of `model.forward`, input upload and output readback included), and in the same run
 * the peer: ONNX Runtime Web's WebGPU backend on the same adapter and model.
 *
 *   deno task bench [--model PATH.pt] [--onnx PATH.onnx] [--imgsz 640] [--batch 1] [--iterations N]
 *                   [--warmup N] [--no-peer] [--profile]
 *
 * `--profile` also prints the slowest kernels of one forward (GPU timestamps, one pass per kernel).
 */
import { parseArgs } from "node:util";
import { YOLO } from "../mod.ts";
import { requestGpu } from "../src/gpu/device.ts";
import { percentile } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "../shared/models/yolo11n-seg-c128.pt" },
    onnx: { type: "string", default: "../shared/models/yolo11n-seg-c128.onnx" },
    imgsz: { type: "string", default: "640" },
    batch: { type: "string", default: "1" },
    iterations: { type: "string" },
    warmup: { type: "string", default: "1" },
    "no-peer": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
  },
});

const gpu = await requestGpu();
const info = gpu.adapter?.info;
const adapter = info
  ? [info.description || info.vendor, info.architecture].filter(Boolean).join(" ")
  : "device";
const software = !!info?.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(adapter);
const imgsz = Number(values.imgsz);
const batch = Number(values.batch);
const iterations = Number(values.iterations ?? (software ? 3 : 50));
const warmup = Number(values.warmup);
const shape = [batch, 3, imgsz, imgsz];
const input = new Float32Array(batch * 3 * imgsz * imgsz);
for (let i = 0; i < input.length; i++) input[i] = ((i * 2654435761) >>> 0) / 2 ** 32;

const model = await YOLO.load(values.model, { device: gpu.device });
const times: number[] = [];
for (let i = 0; i < warmup + iterations; i++) {
  const t0 = performance.now();
  await model.forward(input, shape);
  if (i >= warmup) times.push(performance.now() - t0);
}
const ours = percentile(times, 50);
console.log(
  `yolo-wgsl: ${ours.toFixed(2)} ms/forward (median of ${iterations}, p90 ${
    percentile(times, 90).toFixed(2)
  }) ${model.model.file.split("/").pop()} batch ${batch} at ${imgsz}x${imgsz} on ${adapter}`,
);
if (values.profile) {
  // One line per layer: a conv split into output-channel chunks is several steps with one label.
  const steps: { label: string; kernel: string; ms: number; calls: number }[] = [];
  for (const s of await model.profile(input, shape)) {
    const last = steps.at(-1);
    if (last && last.label === s.label && last.kernel === s.kernel) {
      last.ms += s.ms;
      last.calls++;
    } else steps.push({ ...s, calls: 1 });
  }
  const total = steps.reduce((s, x) => s + x.ms, 0);
  const calls = steps.reduce((n, x) => n + x.calls, 0);
  console.log(
    `profile: ${steps.length} layers (${calls} kernels), ${total.toFixed(2)} ms GPU in total; slowest:`,
  );
  for (const s of [...steps].sort((a, b) => b.ms - a.ms).slice(0, 15)) {
    console.log(
      `  ${s.ms.toFixed(3).padStart(10)} ms  ${(100 * s.ms / total).toFixed(1).padStart(5)}%  ${s.label}${
        s.calls > 1 ? ` (${s.calls} chunks)` : ""
      }  ${s.kernel}`,
    );
  }
  const byKernel = new Map<string, number>();
  for (const s of steps) {
    byKernel.set(s.kernel.split("|")[0], (byKernel.get(s.kernel.split("|")[0]) ?? 0) + s.ms);
  }
  console.log(`  by kernel: ${[...byKernel].map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(", ")}`);
}
model.dispose();

if (!values["no-peer"]) {
  const peerUrl = new URL("./peer_ort_web.ts", import.meta.url).href;
  const { timeOrtWebWebGpu } = await import(peerUrl);
  const peer = await timeOrtWebWebGpu(values.onnx, input, shape, { warmup, iterations });
  console.log(
    `onnxruntime-web webgpu: ${peer.median.toFixed(2)} ms/forward (median of ${iterations}, p90 ${
      peer.p90.toFixed(2)
    }) on ${peer.adapter}`,
  );
  const ratio = peer.median / ours;
  console.log(
    `ratio (peer / yolo-wgsl): ${ratio.toFixed(2)}x — yolo-wgsl is ${
      ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${(1 / ratio).toFixed(2)}x slower`
    } than onnxruntime-web webgpu on this adapter`,
  );
}
