/**
 * Predict's post-processing of one image on the GPU (`nms` + `instance_masks`, as the executor records
 * them after a forward) against the CPU path (`postprocessImage` on the same candidates), on one image's
 * real outputs: the GPU part timed as submit + `onSubmittedWorkDone` (no readback) and with the readback
 * of the header and the used mask pool, each over `--runs` repeats after a warm-up. On a software adapter
 * the GPU time is CPU time too.
 *
 *   deno run -A bench/gpu_postprocess.ts [IMAGE] [--imgsz 640] [--runs 20]
 *   (default IMAGE: ../shared/datasets/coco128-seg/images/train2017/000000000009.jpg, 8 detections)
 * @module
 */
import { parseArgs } from "node:util";
import { YOLO } from "../mod.ts";
import { instanceMasks } from "../kernels/instance_masks.ts";
import { nms, nmsHeaderStride, nmsIouThreshold, type NmsParams } from "../kernels/nms.ts";
import { selectCandidates } from "../src/cpu/select_candidates.ts";
import { letterboxGeometry, letterboxInto } from "../src/data/letterbox.ts";
import { requestGpu } from "../src/gpu/device.ts";
import { maskGroups } from "../src/gpu/postprocess.ts";
import { PipelineCache } from "../src/gpu/pipeline_cache.ts";
import { decodeImage } from "../src/io/image.ts";
import { gpuDetections } from "../src/postprocess/gpu_detections.ts";
import { postprocessImage } from "../src/postprocess/segment.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { imgsz: { type: "string", default: "640" }, runs: { type: "string", default: "20" } },
});
const file = positionals[0] ?? "../shared/datasets/coco128-seg/images/train2017/000000000009.jpg";
const runs = Number(values.runs);
const model = await YOLO.load("../shared/models/yolo11n-seg-c128.pt", { tune: false });
const img = await decodeImage(await Deno.readFile(file), file);
const lb = { newShape: Number(values.imgsz), auto: true, stride: 32 };
const [H, W] = letterboxGeometry([img.height, img.width], lb).letterboxShape;
const input = new Float32Array(3 * H * W);
letterboxInto(img, input, lb);
const out = await model.forward(input, [1, 3, H, W]);
model.dispose();
const [, C, A] = out.output0.shape;
const [, nm, mh, mw] = out.output1!.shape;
const nc = C - 4 - nm, conf = 0.25, cap = 1024;
const opts = { conf, iou: 0.7, max_det: 300, classes: null, agnostic_nms: false, retina_masks: false };
const cand = selectCandidates(out.output0.data, 0, C, A, nc, conf);

// CPU: what predict runs after a select readback.
const protos = { data: out.output1!.data, shape: [nm, mh, mw] as [number, number, number] };
const cpu = () =>
  postprocessImage({ preds: cand.data, channels: C, columns: cand.count, protos }, opts, nc, [H, W], [
    img.height,
    img.width,
  ]);
let det = cpu();
const t0 = performance.now();
for (let i = 0; i < runs; i++) det = cpu();
const cpuMs = (performance.now() - t0) / runs;

// GPU: the candidate list as select_candidates writes it, then nms and the indirect instance_masks.
const gpu = await requestGpu();
const device = gpu.device;
const cache = new PipelineCache(device);
const width = C + 1;
const rows = new Float32Array(cap * width);
for (let j = 0; j < cand.count; j++) {
  rows[j * width] = cand.anchors[j];
  for (let ch = 0; ch < C; ch++) rows[j * width + 1 + ch] = cand.data[ch * cand.count + j];
}
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const buffer = (size: number, data?: ArrayBufferView<ArrayBuffer>, usage = USAGE) => {
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage });
  if (data) device.queue.writeBuffer(b, 0, data);
  return b;
};
const headerStride = nmsHeaderStride(300), poolWords = (8 * H * W) / 32; // the executor's default pool
const p: NmsParams = {
  batch: 1,
  cap,
  channels: C,
  nc,
  maxDet: 300,
  classFilter: 0,
  agnostic: 0,
  headerStride,
  ih: H,
  iw: W,
  mh,
  mw,
  poolWords,
  groups: maskGroups(gpu.software),
  iou: nmsIouThreshold(0.7),
  maxWh: 7680,
};
const b = {
  rows: buffer(rows.byteLength, rows),
  count: buffer(4, Uint32Array.of(cand.count)),
  classes: buffer(16),
  scratch: buffer(cap * 64),
  header: buffer(headerStride * 4),
  args: buffer(12, undefined, USAGE | GPUBufferUsage.INDIRECT),
  pool: buffer(poolWords * 4),
  protos: buffer(out.output1!.data.byteLength, new Float32Array(out.output1!.data)),
};
const nk = await cache.get(nms, { MAXN: cap });
const mk = await cache.get(instanceMasks, { GROUPS: p.groups });
const nmsGroup = cache.bindGroup(nk, {
  rows: b.rows,
  count: b.count,
  classes: b.classes,
  scratch: b.scratch,
  header: b.header,
  args: b.args,
  params: cache.params(nms, p),
});
const masksGroup = cache.bindGroup(mk, {
  rows: b.rows,
  protos: b.protos,
  header: b.header,
  pool: b.pool,
  params: cache.params(instanceMasks, { ...p, maxDet: 300, nm, protoBase: 0 }),
});
const staging = {
  header: buffer(headerStride * 4, undefined, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
  pool: buffer(poolWords * 4, undefined, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
};
// GPU time of the two dispatches from timestamps at the pass's start and end, where the device has them.
const timer = gpu.features.timestamps
  ? {
    querySet: device.createQuerySet({ type: "timestamp", count: 2 }),
    resolve: device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
    readback: device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
  }
  : undefined;
async function run(read: boolean, time = false) {
  const enc = device.createCommandEncoder();
  enc.clearBuffer(b.args);
  const pass = enc.beginComputePass(
    time && timer
      ? {
        timestampWrites: { querySet: timer.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
      }
      : {},
  );
  pass.setPipeline(nk.pipeline);
  pass.setBindGroup(0, nmsGroup);
  pass.dispatchWorkgroups(1);
  pass.setPipeline(mk.pipeline);
  pass.setBindGroup(0, masksGroup);
  pass.dispatchWorkgroupsIndirect(b.args, 0);
  pass.end();
  if (read) {
    enc.copyBufferToBuffer(b.header, 0, staging.header, 0, headerStride * 4);
    enc.copyBufferToBuffer(b.pool, 0, staging.pool, 0, poolWords * 4);
  }
  if (time && timer) {
    enc.resolveQuerySet(timer.querySet, 0, 2, timer.resolve, 0);
    enc.copyBufferToBuffer(timer.resolve, 0, timer.readback, 0, 16);
  }
  device.queue.submit([enc.finish()]);
  if (time && timer) {
    await timer.readback.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigInt64Array(timer.readback.getMappedRange().slice(0));
    timer.readback.unmap();
    return Number(t1 - t0) / 1e6;
  }
  if (!read) return await device.queue.onSubmittedWorkDone();
  await Promise.all([staging.header.mapAsync(GPUMapMode.READ), staging.pool.mapAsync(GPUMapMode.READ)]);
  const header = new Uint32Array(staging.header.getMappedRange().slice(0));
  const used = header[2] * 4;
  const pool = new Uint32Array(used ? staging.pool.getMappedRange(0, used).slice(0) : new ArrayBuffer(0));
  staging.header.unmap();
  staging.pool.unmap();
  return gpuDetections({ header: header.subarray(0, 4 + header[0] * 20), pool }, [H, W], [
    img.height,
    img.width,
  ]);
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
const g = (await run(true)) as Awaited<ReturnType<typeof gpuDetections>>;
let differ = 0;
for (let i = 0; i < det.masks!.data.length; i++) if (det.masks!.data[i] !== g.masks!.data[i]) differ++;
console.log(
  `${file}: ${H}x${W}, ${cand.count} candidates, ${det.cls.length} detections (GPU: ${g.cls.length}), ${differ} mask pixels differ`,
);
console.log(`CPU postprocessImage: ${cpuMs.toFixed(2)} ms`);
console.log(
  `GPU nms + instance_masks (${gpu.software ? "software" : "hardware"} adapter): ${
    gpuMs.toFixed(2)
  } ms wall (submit + onSubmittedWorkDone); with header + pool readback and gpuDetections: ${
    readMs.toFixed(2)
  } ms${gpuTime === undefined ? "" : `; GPU time (timestamps, median): ${gpuTime.toFixed(3)} ms`}`,
);
const header = await (async () => {
  await run(false);
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b.header, 0, staging.header, 0, headerStride * 4);
  enc.copyBufferToBuffer(b.pool, 0, staging.pool, 0, poolWords * 4);
  device.queue.submit([enc.finish()]);
  await Promise.all([staging.header.mapAsync(GPUMapMode.READ), staging.pool.mapAsync(GPUMapMode.READ)]);
  const h = new Uint32Array(staging.header.getMappedRange().slice(0));
  const pool = new Uint32Array(staging.pool.getMappedRange(0, h[2] * 4).slice(0));
  staging.header.unmap();
  staging.pool.unmap();
  return { header: h.subarray(0, 4 + h[0] * 20), pool };
})();
const t1 = performance.now();
for (let i = 0; i < runs; i++) gpuDetections(header, [H, W], [img.height, img.width]);
console.log(
  `gpuDetections (records and mask bits to the result's arrays, CPU): ${
    ((performance.now() - t1) / runs).toFixed(2)
  } ms; ` +
    `read back: ${header.header.byteLength + header.pool.byteLength} bytes (CPU path: ${
      cand.data.byteLength + out.output1!.data.byteLength
    })`,
);
