/**
 * Predict's post-processing of one image on the GPU (`select_candidates`, `nms` and `instance_masks`,
 * built, recorded and read back by the executor's own functions in `src/gpu/postprocess.ts`) against the
 * CPU path (`postprocessImage` on the same candidates), on one image's real outputs uploaded once: the GPU
 * part timed as submit + `onSubmittedWorkDone` (no readback), with GPU timestamps where the device has
 * them, and with the readback of the header and used mask pool plus `gpuDetections`, each over `--runs`
 * repeats after a warm-up. On a software adapter the GPU time is CPU time too.
 *
 *   deno run -A bench/gpu_postprocess.ts [IMAGE] [--imgsz 640] [--runs 20]
 *   (default IMAGE: ../shared/datasets/coco128-seg/images/train2017/000000000009.jpg, 8 detections)
 * @module
 */
import { parseArgs } from "node:util";
import { selectCandidates } from "../src/cpu/select_candidates.ts";
import { requestGpu } from "../src/gpu/device.ts";
import { PipelineCache } from "../src/gpu/pipeline_cache.ts";
import {
  buildNms,
  buildSelect,
  maskGroups,
  NMS_POOL_IMAGES,
  prepareNms,
  prepareSelect,
  readNms,
  recordNms,
} from "../src/gpu/postprocess.ts";
import { recordStep } from "../src/gpu/step.ts";
import { gpuDetections } from "../src/postprocess/gpu_detections.ts";
import { postprocessImage } from "../src/postprocess/segment.ts";
import { BENCH_IMAGE, imageForward } from "./_image_forward.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { imgsz: { type: "string", default: "640" }, runs: { type: "string", default: "20" } },
});
const file = positionals[0] ?? BENCH_IMAGE;
const runs = Number(values.runs);
const { img, H, W, out } = await imageForward(file, Number(values.imgsz));
const [, C, A] = out.output0.shape;
const [, nm, mh, mw] = out.output1!.shape;
const nc = C - 4 - nm;
const opts = { conf: 0.25, iou: 0.7, max_det: 300, classes: null, agnostic_nms: false, retina_masks: false };
const origShape: [number, number] = [img.height, img.width];

// CPU: what predict runs after a select readback.
const cand = selectCandidates(out.output0.data, 0, C, A, nc, opts.conf);
const protos = { data: out.output1!.data, shape: [nm, mh, mw] as [number, number, number] };
const cpu = () =>
  postprocessImage(
    { preds: cand.data, channels: C, columns: cand.count, protos },
    opts,
    nc,
    [H, W],
    origShape,
  );
let det = cpu();
const t0 = performance.now();
for (let i = 0; i < runs; i++) det = cpu();
const cpuMs = (performance.now() - t0) / runs;

// GPU: the outputs uploaded once; each run records what a forward records after the network.
const gpu = await requestGpu();
const device = gpu.device;
const cache = new PipelineCache(device);
const upload = (data: Float32Array) => {
  const buffer = device.createBuffer({
    size: data.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, new Float32Array(data));
  return buffer;
};
const out0 = { buffer: upload(out.output0.data), shape: out.output0.shape };
const out1 = { buffer: upload(out.output1!.data), shape: out.output1!.shape };
const sel = await buildSelect(device, cache, out0);
const st = await buildNms(
  device,
  cache,
  sel,
  out1,
  [H, W],
  opts.max_det,
  NMS_POOL_IMAGES,
  maskGroups(gpu.software),
);
const readback = (size: number) =>
  device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const staging = { header: readback(st.header.size), pool: readback(st.pool.size) };
// GPU time of the three dispatches from timestamps at the pass's start and end, where the device has them.
const timer = gpu.features.timestamps
  ? {
    querySet: device.createQuerySet({ type: "timestamp", count: 2 }),
    resolve: device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
    readback: readback(16),
  }
  : undefined;

/** One run: wall ms without readback, GPU ms with `time`, the detections with `read`. */
async function run(read: boolean, time = false) {
  const enc = device.createCommandEncoder();
  prepareSelect(device, enc, sel, { conf: opts.conf, nc });
  prepareNms(device, enc, st, nc, opts);
  const pass = enc.beginComputePass(
    time && timer
      ? {
        timestampWrites: { querySet: timer.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
      }
      : {},
  );
  recordStep(pass, sel);
  recordNms(pass, st);
  pass.end();
  if (read) {
    enc.copyBufferToBuffer(st.header, 0, staging.header, 0, st.header.size);
    enc.copyBufferToBuffer(st.pool, 0, staging.pool, 0, st.pool.size);
  }
  if (time && timer) {
    enc.resolveQuerySet(timer.querySet, 0, 2, timer.resolve, 0);
    enc.copyBufferToBuffer(timer.resolve, 0, timer.readback, 0, 16);
  }
  device.queue.submit([enc.finish()]);
  if (time && timer) {
    const [start, end] = new BigInt64Array(await gpu.reader.read(timer.readback));
    return Number(end - start) / 1e6;
  }
  if (!read) return await device.queue.onSubmittedWorkDone();
  const { images } = await readNms(staging.header, staging.pool, st, 1, gpu.reader);
  return gpuDetections(images[0]!, [H, W], origShape);
}
const timed = async (read: boolean) => {
  await run(read);
  const t = performance.now();
  for (let i = 0; i < runs; i++) await run(read);
  return (performance.now() - t) / runs;
};
const gpuMs = await timed(false);
let gpuTime: number | undefined;
if (timer) {
  const ms: number[] = [];
  for (let i = 0; i <= runs; i++) ms.push((await run(false, true)) as number);
  gpuTime = ms.slice(1).sort((x, y) => x - y)[runs >> 1];
}
const readMs = await timed(true);
const g = (await run(true)) as ReturnType<typeof gpuDetections>;
let differ = 0;
for (let i = 0; i < det.masks!.data.length; i++) if (det.masks!.data[i] !== g.masks!.data[i]) differ++;
console.log(
  `${file}: ${H}x${W}, ${cand.count} candidates, ${det.cls.length} detections (GPU: ${g.cls.length}), ` +
    `${differ} mask pixels differ`,
);
console.log(`CPU postprocessImage: ${cpuMs.toFixed(2)} ms`);
console.log(
  `GPU select_candidates + nms + instance_masks (${gpu.software ? "software" : "hardware"} adapter): ${
    gpuMs.toFixed(2)
  } ms wall (submit + onSubmittedWorkDone); with header + pool readback and gpuDetections: ${
    readMs.toFixed(2)
  } ms${gpuTime === undefined ? "" : `; GPU time (timestamps, median): ${gpuTime.toFixed(3)} ms`}`,
);

// The CPU's share after the readback, and what crossed to the host.
const { images } = await (async () => {
  await run(false);
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(st.header, 0, staging.header, 0, st.header.size);
  enc.copyBufferToBuffer(st.pool, 0, staging.pool, 0, st.pool.size);
  device.queue.submit([enc.finish()]);
  return await readNms(staging.header, staging.pool, st, 1, gpu.reader);
})();
const image = images[0]!;
const t1 = performance.now();
for (let i = 0; i < runs; i++) gpuDetections(image, [H, W], origShape);
console.log(
  `gpuDetections (records and mask bits to the result's arrays, CPU): ${
    ((performance.now() - t1) / runs).toFixed(2)
  } ms; read back: ${image.header.byteLength + image.pool.byteLength} bytes (CPU path: ${
    cand.data.byteLength + out.output1!.data.byteLength
  })`,
);
