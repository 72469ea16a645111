/**
 * Val's CPU work per image (reading, decoding, letterbox, ground-truth masks, NMS, masks, matching) with the
 * GPU taken out: each batch's forward runs once for real (the first, untimed pass over the dataset) and is
 * replayed from a cache after that (keyed by the batch's input), so the timed runs measure the data
 * pipeline alone, on each image's own predictions. Alternates `workers=0` and `--workers`, replaying all of `output0` as a model
 * without `submit` reads it, and then (`workers=0`) only NMS's candidates, as the GPU's `select_candidates`
 * leaves them (what val reads from a model with `submit`).
 *
 *   deno run -A bench/val_cpu.ts [--data ../shared/datasets/coco128-seg.yaml] [--imgsz 640] [--batch 16]
 *     [--workers 8] [--runs 2]
 * @module
 */
import { parseArgs } from "node:util";
import { YOLO } from "../mod.ts";
import type { ForwardResult } from "../src/gpu/executor.ts";
import { selectCandidates } from "../src/cpu/select_candidates.ts";
import type { Predictable } from "../src/modes/predict.ts";
import { val } from "../src/modes/val.ts";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/datasets/coco128-seg.yaml" },
    model: { type: "string", default: "../shared/models/yolo11n-seg-c128.pt" },
    imgsz: { type: "string", default: "640" },
    batch: { type: "string", default: "16" },
    workers: { type: "string", default: "8" },
    runs: { type: "string", default: "2" },
  },
});
// No autotuning: only a few forwards run for real, and their speed is not what is measured.
const yolo = await YOLO.load(values.model, { tune: false });
const cache = new Map<string, ForwardResult>();
/** A batch's key: its shape and an FNV-1a hash of its input's bits. */
function keyOf(data: Float32Array, shape: readonly number[]): string {
  const u = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193);
  return `${shape.join("x")}:${h >>> 0}`;
}
const model: Predictable = {
  names: yolo.names,
  stride: yolo.stride,
  async forward(data, shape) {
    const key = keyOf(data, shape);
    if (!cache.has(key)) cache.set(key, await yolo.forward(data, shape));
    return cache.get(key)!;
  },
};
/** The same replay, read as a `select` forward: each image's candidates (selected once), output0 empty. */
const selections = new Map<string, ForwardResult>();
const selected: Predictable = {
  ...model,
  async submit(data, shape, options) {
    const key = keyOf(data, shape);
    if (!selections.has(key)) {
      const out = await model.forward(data, shape);
      const [n, C, A] = out.output0.shape;
      const { conf, nc } = options!.select!;
      const candidates = Array.from(
        { length: n },
        (_, b) => selectCandidates(out.output0.data, b, C, A, nc, conf),
      );
      selections.set(key, {
        ...out,
        output0: { data: new Float32Array(0), shape: out.output0.shape },
        candidates,
      });
    }
    const result = selections.get(key)!;
    return { read: () => Promise.resolve(result) };
  },
};
const opts = { data: values.data, imgsz: Number(values.imgsz), batch: Number(values.batch) };
try {
  await val(model, { ...opts, workers: 0 }); // fills the cache, warms the JIT
  console.log(`${values.data} at imgsz=${opts.imgsz}, batch=${opts.batch}: ${cache.size} forwards cached`);
  for (let r = 0; r < Number(values.runs); r++) {
    for (const workers of [0, Number(values.workers)]) {
      const t = performance.now();
      const m = await val(model, { ...opts, workers });
      const per = (performance.now() - t) / m.images;
      const { preprocess, postprocess } = m.speed;
      console.log(
        `workers=${workers}: ${per.toFixed(1)} ms per image (preprocess ${preprocess.toFixed(1)}, ` +
          `postprocess ${postprocess.toFixed(1)} ms)`,
      );
    }
    // Candidates selected once before the timed run (the GPU's work), then val on them.
    await val(selected, { ...opts, workers: 0 });
    const t = performance.now();
    const m = await val(selected, { ...opts, workers: 0 });
    console.log(
      `workers=0, candidates only: ${((performance.now() - t) / m.images).toFixed(1)} ms per image ` +
        `(preprocess ${m.speed.preprocess.toFixed(1)}, postprocess ${m.speed.postprocess.toFixed(1)} ms)`,
    );
  }
} finally {
  yolo.dispose();
}
