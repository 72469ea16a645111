/**
 * GPU time of every attention variant (the key streams of `attention.wgsl` with each `WG_Q` and
 * `KV_SPLIT`, and each tile of `attention_rows.wgsl`) for YOLO11's C2PSA attention at one input size and
 * batch on the local adapter: what the autotuner chooses among, and what the untuned heuristic should pick.
 * Every variant's output is checked against the first's. GPU timestamps, best of `--rounds` submits.
 *
 *   deno run -A bench/attention.ts [--imgsz 640] [--batch 1] [--heads 2] [--rounds 5]
 * @module
 */
import { parseArgs } from "node:util";
import { requestGpu } from "../src/gpu/device.ts";
import { PipelineCache } from "../src/gpu/pipeline_cache.ts";
import { timeTrials } from "../src/gpu/autotune.ts";
import { attentionHeuristic, attentionVariants } from "../src/ops/attention.ts";
import { attention, type AttentionParams } from "../kernels/attention.ts";

const { values } = parseArgs({
  options: {
    imgsz: { type: "string", default: "640" },
    batch: { type: "string", default: "1" },
    heads: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
  },
});
const gpu = await requestGpu();
if (!gpu.features.timestamps) {
  console.log("this adapter has no timestamp-query: nothing to measure");
  Deno.exit(0);
}
const device = gpu.device;
const cache = new PipelineCache(device);
const side = Math.ceil(Number(values.imgsz) / 32);
const pixels = side * side;
const batch = Number(values.batch);
const heads = Number(values.heads);
const kd = 32, hd = 64;
const limits = {
  maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
  maxInvocations: device.limits.maxComputeInvocationsPerWorkgroup,
  targetWorkgroups: gpu.software ? 8 : 264,
  software: gpu.software,
};
const params: AttentionParams = {
  batch,
  pixels,
  numHeads: heads,
  scale: kd ** -0.5,
  xBase: 0,
  xStride: heads * (2 * kd + hd),
  xOff: 0,
  oBase: 0,
  oStride: heads * hd,
  oOff: 0,
  vBase: 0,
  vStride: heads * hd,
  vOff: 0,
  width: side,
};
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const x = device.createBuffer({ size: batch * pixels * params.xStride * 4, usage });
const data = new Float32Array(batch * pixels * params.xStride);
for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * Math.cos(i * 0.011);
device.queue.writeBuffer(x, 0, data);
const o = device.createBuffer({ size: batch * pixels * params.oStride * 4, usage });
const v = device.createBuffer({ size: batch * pixels * params.vStride * 4, usage });
const read = device.createBuffer({ size: o.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const uniform = cache.params(attention, params, "params");

const variants = attentionVariants(kd, hd, pixels, heads * batch, limits);
const heuristic = attentionHeuristic(kd, hd, pixels, heads * batch, limits);
const name = (s: { spec: { name: string }; overrides: Record<string, number> }) =>
  `${s.spec.name} ${
    Object.entries(s.overrides).filter(([k]) => !["KEY_DIM", "HEAD_DIM", "MAX_N"].includes(k))
      .map(([k, n]) => `${k}=${n}`).join(" ")
  }`;
const trials = await Promise.all(variants.map(async (va) => {
  const kernel = await cache.get(va.spec, va.overrides);
  return {
    kernel,
    bindGroup: cache.bindGroup(
      kernel,
      { x, o, v, params: uniform, pw: cache.dummyFor("pw"), pb: cache.dummyFor("pb") },
      "attention",
    ),
    dispatch: va.spec.dispatch(params, kernel.overrides),
  };
}));
// Outputs of every variant against the first's.
let reference: Float32Array | undefined;
let worst = 0;
for (const t of trials) {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(t.kernel.pipeline);
  pass.setBindGroup(0, t.bindGroup);
  pass.dispatchWorkgroups(...t.dispatch);
  pass.end();
  encoder.copyBufferToBuffer(o, 0, read, 0, o.size);
  device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  if (!reference) reference = got;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - reference[i]));
}
const best = new Float64Array(trials.length).fill(Infinity);
for (let r = 0; r < Number(values.rounds); r++) {
  const ms = await timeTrials(device, trials);
  ms.forEach((m, i) => best[i] = Math.min(best[i], m));
}
const info = gpu.adapter?.info;
console.log(
  `attention ${batch}x${side}x${side} (${pixels} keys, ${heads} heads, kd ${kd}, hd ${hd}) on ${
    info?.description || info?.vendor || "unknown adapter"
  }: ${variants.length} variants, outputs agree to ${worst.toExponential(2)}`,
);
const order = [...best.keys()].sort((a, b) => best[a] - best[b]);
for (const i of order) {
  const mark = name(variants[i]) === name(heuristic) ? "  <- heuristic" : "";
  console.log(`  ${(best[i] * 1000).toFixed(1).padStart(9)} µs  ${name(variants[i])}${mark}`);
}
