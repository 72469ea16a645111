/**
 * Val's CPU work per image (reading, decoding, letterbox, ground-truth masks, NMS, masks, matching) with the
 * GPU taken out: each input shape's forward runs once for real (its first image, replicated over the
 * batch) and is replayed from a cache after that, so the timed runs measure the data pipeline alone (their
 * metrics mean nothing). Alternates `workers=0` and `--workers`, replaying all of `output0` as a model
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
const replicate = (o: { data: Float32Array; shape: number[] }, n: number) => {
  const data = new Float32Array(o.data.length * n);
  for (let b = 0; b < n; b++) data.set(o.data, b * o.data.length);
  return { data, shape: [n, ...o.shape.slice(1)] };
};
const model: Predictable = {
  names: yolo.names,
  stride: yolo.stride,
  async forward(data, shape) {
    const key = shape.join("x");
    if (!cache.has(key)) {
      const [n, c, h, w] = shape;
      const one = await yolo.forward(data.subarray(0, c * h * w), [1, c, h, w]);
      cache.set(key, {
        output0: replicate(one.output0, n),
        output1: one.output1 && replicate(one.output1, n),
      } as ForwardResult);
    }
    return cache.get(key)!;
  },
};
/** The same replay, read as a `select` forward: each image's candidates (selected once), output0 empty. */
const selections = new Map<string, ForwardResult>();
const selected: Predictable = {
  ...model,
  async submit(data, shape, options) {
    const key = shape.join("x");
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
