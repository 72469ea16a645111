/**
 * Image decoding throughput of predict's and val's data loading: the COCO128 images decoded in order on
 * the main thread, then through a `ThreadPool` of `--workers` threads with `DecodeAhead` (as predict and
 * val use them), and the time until the pool's workers have loaded.
 *
 *   deno run -A bench/decode.ts [--workers 8] [--dir ../shared/datasets/coco128-seg/images/train2017]
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DecodeAhead } from "../src/data/decode_ahead.ts";
import { threadCount, ThreadPool } from "../src/threads/pool.ts";
import { decodeImage } from "../src/io/image.ts";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "8" },
    dir: { type: "string", default: "../shared/datasets/coco128-seg/images/train2017" },
  },
});
const files = [...Deno.readDirSync(values.dir)].map((e) => join(values.dir, e.name)).sort();
const bytes = files.map((f) => Deno.readFileSync(f));
await decodeImage(bytes[0], files[0]); // this thread's decoder loaded

let t = performance.now();
for (const [i, b] of bytes.entries()) await decodeImage(b, files[i]);
const serial = (performance.now() - t) / bytes.length;

const size = threadCount(Number(values.workers), bytes.length);
t = performance.now();
const pool = new ThreadPool(size);
while (pool.readyWorkers < size) await new Promise((r) => setTimeout(r, 1));
const ready = performance.now() - t;
try {
  t = performance.now();
  const ahead = new DecodeAhead(bytes.length, 2 * size, (i) => pool.decode(bytes[i], files[i]));
  for (let i = 0; i < bytes.length; i++) await ahead.get(i);
  const pooled = (performance.now() - t) / bytes.length;
  console.log(
    `${bytes.length} images from ${values.dir} (${navigator.hardwareConcurrency} CPUs): main thread ` +
      `${serial.toFixed(2)} ms/image; ${size} workers ${pooled.toFixed(2)} ms/image ` +
      `(${(serial / pooled).toFixed(2)}x), workers loaded in ${ready.toFixed(0)} ms`,
  );
} finally {
  pool.close();
}
