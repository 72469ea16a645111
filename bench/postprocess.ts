/**
 * CPU cost of predict's post-processing on one image (what runs after the readback): NMS on the full
 * `output0`, `processMask`, `maskAreas` and `masksXy` (polygons), each timed 20 times after a warm-up;
 * then a batch of `--batch` copies of the image's outputs post-processed (`postprocessImage`) one after
 * another on the main thread and side by side on a `ThreadPool` of `--workers` threads, as predict does.
 *
 *   deno run -A bench/postprocess.ts [IMAGE] [--imgsz 640] [--batch 16] [--workers 8]
 *   (default IMAGE: ../shared/datasets/coco128-seg/images/train2017/000000000009.jpg, 8 detections)
 * @module
 */
import { parseArgs } from "node:util";
import { BENCH_IMAGE, imageForward } from "./_image_forward.ts";
import { maskAreas, processMask } from "../src/postprocess/masks.ts";
import { nonMaxSuppression } from "../src/postprocess/nms.ts";
import { masksXy } from "../src/postprocess/polygons.ts";
import { postprocessImage } from "../src/postprocess/segment.ts";
import { threadCount, ThreadPool } from "../src/threads/pool.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    imgsz: { type: "string", default: "640" },
    batch: { type: "string", default: "16" },
    workers: { type: "string", default: "8" },
  },
});
const file = positionals[0] ?? BENCH_IMAGE;
const { img, H, W, out } = await imageForward(file, Number(values.imgsz));
const [, C, A] = out.output0.shape;
const [, nm, mh, mw] = out.output1!.shape;
const protos = { data: out.output1!.data, shape: [nm, mh, mw] };

function time<T>(name: string, run: () => T): T {
  let r = run();
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) r = run();
  console.log(`${name}: ${((performance.now() - t0) / 20).toFixed(2)} ms`);
  return r;
}
const det = time(
  "nonMaxSuppression (all of output0)",
  () => nonMaxSuppression(out.output0.data, [C, A], { conf: 0.25, iou: 0.7, maxDet: 300, nc: C - 4 - nm }),
);
console.log(`${file}: ${H}x${W}, ${det.count} detections`);
const masks = time("processMask", () => processMask(protos, det.coeffs, det.boxes, [H, W]));
time("maskAreas", () => maskAreas(masks));
time("masksXy", () => masksXy(masks, [img.height, img.width]));

// A batch: the image's outputs `--batch` times, post-processed as predict does (here, then on threads).
const n = Number(values.batch);
const outputs = {
  preds: out.output0.data,
  channels: C,
  columns: A,
  protos: protos as { data: Float32Array; shape: [number, number, number] },
};
const opts = { conf: 0.25, iou: 0.7, max_det: 300, classes: null, agnostic_nms: false, retina_masks: false };
const orig: [number, number] = [img.height, img.width];
const nc = C - 4 - nm;
const batchHere = () => {
  for (let b = 0; b < n; b++) postprocessImage(outputs, opts, nc, [H, W], orig);
};
batchHere();
let t0 = performance.now();
for (let r = 0; r < 5; r++) batchHere();
const here = (performance.now() - t0) / 5;
const size = threadCount(Number(values.workers), n);
using pool = new ThreadPool(size);
while (pool.readyWorkers < size) await new Promise((r) => setTimeout(r, 5));
const batchPool = () =>
  Promise.all(Array.from({ length: n }, () => pool.postprocess(outputs, opts, nc, [H, W], orig)));
for (let r = 0; r < 5; r++) await batchPool();
t0 = performance.now();
for (let r = 0; r < 5; r++) await batchPool();
const threads = (performance.now() - t0) / 5;
console.log(
  `batch of ${n} (${navigator.hardwareConcurrency} CPUs): main thread ${
    here.toFixed(1)
  } ms, ${size} threads ` +
    `${threads.toFixed(1)} ms (${(here / threads).toFixed(2)}x)`,
);
