/**
 * Where a forward's wall time goes beyond its GPU time: an empty submit + onSubmittedWorkDone, a readback of
 * N MB (copy + awaited mapAsync + getMappedRange().slice, as the spec has it; the same through the engine's
 * `MapReader`, which reads without awaiting the map where that is safe, see `src/gpu/map_read.ts`), and an
 * input upload of N MB, each timed alone (median of 20); four small readbacks awaited in turn, started
 * together, or through the reader; and the host's cost of recording a forward's dispatches (D pipelines, each
 * set with its bind group and dispatched once, then `finish`: the CPU work every forward repeats, as WebGPU
 * command buffers are single-use).
 *
 *   deno run -A bench/gap.ts [--mb 7] [--dispatches 70] [--webgpu deno|dawn]
 * @module
 */
import { parseArgs } from "node:util";
import { requestGpu, type WebGpuName } from "../src/gpu/device.ts";
import { percentile } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "7" },
    dispatches: { type: "string", default: "70" },
    webgpu: { type: "string", default: "deno" },
  },
});
const bytes = Math.round(Number(values.mb) * 2 ** 20 / 4) * 4;
const { device, adapter, reader } = await requestGpu({ webgpu: values.webgpu as WebGpuName });
const usage = GPUBufferUsage;
const src = device.createBuffer({ size: bytes, usage: usage.STORAGE | usage.COPY_SRC | usage.COPY_DST });
const staging = device.createBuffer({ size: bytes, usage: usage.MAP_READ | usage.COPY_DST });
const host = new Float32Array(bytes / 4);

async function time(name: string, run: () => Promise<unknown>): Promise<void> {
  const ts: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    await run();
    if (i > 0) ts.push(performance.now() - t0);
  }
  console.log(
    `${name}: ${percentile(ts, 50).toFixed(3)} ms (median of 20, p90 ${percentile(ts, 90).toFixed(3)})`,
  );
}

console.log(
  `adapter: ${
    adapter?.info?.description || adapter?.info?.vendor
  } (webgpu=${values.webgpu}); ${values.mb} MB`,
);
await time("empty submit + onSubmittedWorkDone", async () => {
  device.queue.submit([device.createCommandEncoder().finish()]);
  await device.queue.onSubmittedWorkDone();
});
await time("writeBuffer + onSubmittedWorkDone", async () => {
  device.queue.writeBuffer(src, 0, host);
  await device.queue.onSubmittedWorkDone();
});
await time("copy + mapAsync + getMappedRange().slice", async () => {
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
});
await time(`copy + MapReader.read (early reads: ${(await reader.behaviour()).early})`, async () => {
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  new Float32Array(await reader.read(staging));
});
await time("copy + mapAsync only", async () => {
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  staging.unmap();
});
// Four small forwards' readbacks: awaited one after another, or started together (their waits overlap).
const small = Array.from(
  { length: 4 },
  () => device.createBuffer({ size: 4096, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
);
const submitCopies = () =>
  small.forEach((b) => {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(src, 0, b, 0, 4096);
    device.queue.submit([enc.finish()]);
  });
await time("4 submits, 4 KB read each, one after another", async () => {
  submitCopies();
  for (const b of small) {
    await b.mapAsync(GPUMapMode.READ);
    b.unmap();
  }
});
await time("4 submits, 4 KB read each, started together", async () => {
  submitCopies();
  await Promise.all(small.map((b) => b.mapAsync(GPUMapMode.READ)));
  small.forEach((b) => b.unmap());
});
await time("4 submits, 4 KB read each through MapReader, one after another", async () => {
  submitCopies();
  for (const b of small) await reader.read(b);
});
// Recording a forward: D distinct pipelines (as a folded YOLO11n-seg forward at batch 1 has ~70 dispatches).
const count = Number(values.dispatches);
const code = `override K: f32 = 0.0;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < arrayLength(&b)) { b[g.x] = a[g.x] + K; }
}`;
const module = device.createShaderModule({ code });
const chain = Array.from(
  { length: count + 1 },
  () => device.createBuffer({ size: 256, usage: usage.STORAGE }),
);
const pipelines = Array.from(
  { length: count },
  (_, i) =>
    device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main", constants: { K: i } },
    }),
);
const groups = pipelines.map((p, i) =>
  device.createBindGroup({
    layout: p.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: chain[i] } }, {
      binding: 1,
      resource: { buffer: chain[i + 1] },
    }],
  })
);
// deno-lint-ignore require-await
await time(`recording ${count} dispatches (encode + finish, no submit)`, async () => {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (let i = 0; i < count; i++) {
    pass.setPipeline(pipelines[i]);
    pass.setBindGroup(0, groups[i]);
    pass.dispatchWorkgroups(1);
  }
  pass.end();
  enc.finish();
});
device.destroy();
