/**
 * Cost of writing predict's annotated images (`save=True`, the CLI default): a result's `save` (masks
 * blended, boxes and labels drawn, JPEG quality 95, written atomically) `--n` times on the main thread, then
 * `--n` at once on a `ThreadPool` of `--workers` threads, as predict writes a window of images.
 *
 *   deno run -A bench/save.ts [IMAGE] [--n 16] [--workers 8]
 *   (default IMAGE: ../shared/datasets/coco128-seg/images/train2017/000000000009.jpg, 8 detections)
 * @module
 */
import { parseArgs } from "node:util";
import { YOLO } from "../mod.ts";
import { decodeImage } from "../src/io/image.ts";
import { threadCount, ThreadPool } from "../src/threads/pool.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { n: { type: "string", default: "16" }, workers: { type: "string", default: "8" } },
});
const file = positionals[0] ?? "../shared/datasets/coco128-seg/images/train2017/000000000009.jpg";
const model = await YOLO.load("../shared/models/yolo11n-seg-c128.pt", { tune: false }); // one forward
const [result] = await model.predict(file);
model.dispose();
const img = await decodeImage(await Deno.readFile(file), file);
const n = Number(values.n);
const dir = await Deno.makeTempDir();
try {
  for (let i = 0; i < 4; i++) await result.save(`${dir}/warm.jpg`, img);
  let t = performance.now();
  for (let i = 0; i < n; i++) await result.save(`${dir}/here${i}.jpg`, img);
  const here = (performance.now() - t) / n;
  const size = threadCount(Number(values.workers), n);
  using pool = new ThreadPool(size);
  while (pool.readyWorkers < size) await new Promise((r) => setTimeout(r, 5));
  // the threads' JIT warmed as the main thread's was (a few images each)
  await Promise.all(
    Array.from({ length: 4 * size }, (_, i) => pool.save(result, `${dir}/warm${i}.jpg`, img)),
  );
  t = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => pool.save(result, `${dir}/pool${i}.jpg`, img)));
  const threads = (performance.now() - t) / n;
  console.log(
    `save of ${file} (${img.width}x${img.height}, ${result.length} detections; ${navigator.hardwareConcurrency} ` +
      `CPUs): main thread ${here.toFixed(1)} ms per image, ${size} threads ${
        threads.toFixed(1)
      } ms per image ` +
      `(${(here / threads).toFixed(2)}x)`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
