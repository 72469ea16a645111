/**
 * `predict` end to end on WebGPU against Ultralytics 8.3.159 (`../shared/refs/yolo11n-seg-c128.json`):
 * `predict_single` (each image alone, rect letterbox) and `predict_batch` (all images as one batch, square
 * letterbox), at letterbox resolution and with `retina_masks`. Tolerances: same detections (class equal, box
 * IoU >= 0.9; a reference conf within 0.01 of 0.25 may be missing or extra), mask IoU >= 0.9 each and >= 0.95
 * on average. Forwards are slow on software WebGPU, so the model's outputs are memoized per input tensor:
 * the retina run and the bad-source batch reuse them.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { type Result, YOLO } from "../../mod.ts";
import { Executor, type ForwardResult } from "../../src/gpu/executor.ts";
import { requestGpu } from "../../src/gpu/device.ts";
import { loadModel } from "../../src/load_model.ts";
import { decodeImage } from "../../src/io/image.ts";
import { cropRect } from "../../src/plot/crop.ts";
import { predict, type Predictable } from "../../src/modes/predict.ts";
import { decodeRle, maskIoU } from "../../src/postprocess/rle.ts";
import { readReference, type RefImage } from "../postprocess/_reference.ts";
import { sharedPath } from "../_shared.ts";

const yolo = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"));
const memo = new Map<string, Promise<ForwardResult>>();
let forwards = 0;
let forwardMs = 0;

/** FNV-1a over the input's bits, with its shape. */
function key(data: Float32Array, shape: readonly number[]): string {
  const u = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193);
  return `${shape.join("x")}:${h >>> 0}`;
}

/** The model with forwards memoized by input tensor. */
const model: Predictable = {
  names: yolo.names,
  stride: yolo.stride,
  forward(data, shape) {
    const k = key(data, shape);
    if (!memo.has(k)) {
      const t = performance.now();
      forwards++;
      memo.set(
        k,
        yolo.forward(data, shape).then((r) => {
          forwardMs += performance.now() - t;
          return r;
        }),
      );
    }
    return memo.get(k)!;
  },
};

/** Where the reference's image `name` lives. */
async function imagePath(name: string): Promise<string> {
  for (const p of [`datasets/coco128-seg/images/train2017/${name}`, `images/${name}`]) {
    try {
      await Deno.stat(sharedPath(p));
      return sharedPath(p);
    } catch {
      // try the next folder
    }
  }
  throw new Error(`Cannot find reference image "${name}" under ../shared`);
}

function boxIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** Parity numbers over all compared detections. */
const stats = { box: 1, mask: { worst: 1, sum: 0, n: 0 }, retina: { worst: 1, sum: 0, n: 0 } };

/** Match ours with the reference in order; returns the matched (ours, ref) index pairs. */
function match(label: string, r: Result, e: RefImage): [number, number][] {
  const borderline = (c: number) => Math.abs(c - 0.25) < 0.01;
  const pairs: [number, number][] = [];
  let i = 0, j = 0;
  while (i < r.length || j < e.conf.length) {
    if (
      i < r.length && j < e.conf.length && r.boxes.cls[i] === e.cls[j] &&
      Math.abs(r.boxes.conf[i] - e.conf[j]) < 0.01
    ) {
      const iou = boxIoU(r.boxes.xyxy.subarray(4 * i, 4 * i + 4), e.boxes_xyxy[j]);
      assert.ok(iou >= 0.9, `${label}: detection ${i} box IoU ${iou}`);
      stats.box = Math.min(stats.box, iou);
      pairs.push([i++, j++]);
    } else if (i < r.length && borderline(r.boxes.conf[i])) i++;
    else if (j < e.conf.length && borderline(e.conf[j])) j++;
    else assert.fail(`${label}: detection ${i} (ours) does not match ${j} (Ultralytics)`);
  }
  return pairs;
}

/** Compare masks of matched detections; returns this image's IoUs. */
function compareMasks(label: string, r: Result, e: RefImage, retina: boolean): number[] {
  const refs = retina ? e.masks_retina : e.masks_letterbox;
  const [, h, w] = r.masks!.shape;
  const s = retina ? stats.retina : stats.mask;
  const ious: number[] = [];
  for (const [i, j] of match(label, r, e)) {
    assert.deepEqual(refs[j].size, [h, w], `${label}: mask size`);
    const iou = maskIoU(r.masks!.data.subarray(i * h * w, (i + 1) * h * w), decodeRle(refs[j]));
    assert.ok(iou >= 0.9, `${label}: detection ${i} mask IoU ${iou}`);
    s.worst = Math.min(s.worst, iou);
    s.sum += iou;
    s.n++;
    ious.push(iou);
  }
  return ious;
}

async function checkGroup(group: "predict_single" | "predict_batch", retina: boolean) {
  const ref = (await readReference())[group];
  const names = Object.keys(ref);
  const paths = await Promise.all(names.map(imagePath));
  const results: Result[] = [];
  if (group === "predict_single") {
    for (const p of paths) results.push(...await predict(model, p, { retina_masks: retina }));
  } else {
    results.push(...await predict(model, paths, { retina_masks: retina }));
  }
  assert.equal(results.length, names.length);
  const all: number[] = [];
  names.forEach((name, k) => {
    const r = results[k], e = ref[name];
    assert.deepEqual(r.origShape, e.orig_shape);
    if (e.letterbox_shape) assert.deepEqual(r.letterboxShape, e.letterbox_shape);
    if (group === "predict_batch") assert.deepEqual(r.letterboxShape, [640, 640]);
    assert.equal(r.masks?.xy.length ?? 0, r.length, "a polygon per detection");
    all.push(...compareMasks(`${group} ${name}${retina ? " retina" : ""}`, r, e, retina));
    const json = r.toJSON();
    assert.equal(json.masks.length, r.length);
  });
  if (all.length) {
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    assert.ok(mean >= 0.95, `${group}${retina ? " retina" : ""}: mean mask IoU ${mean}`);
  }
}

Deno.test("predict: each image alone matches predict_single (rect letterbox)", async () => {
  await checkGroup("predict_single", false);
  await checkGroup("predict_single", true);
});

Deno.test("predict: images together match predict_batch (square letterbox)", async () => {
  await checkGroup("predict_batch", false);
  await checkGroup("predict_batch", true);
});

Deno.test("predict: a bad image in a batch is a warning naming it; the others give results", async () => {
  const dir = await Deno.makeTempDir();
  const bad = join(dir, "empty.jpg");
  await Deno.writeFile(bad, new Uint8Array(0));
  const good = await imagePath("000000000540.jpg");
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  let results: Result[];
  try {
    results = await predict(model, [bad, good], { batch: 2 });
  } finally {
    console.error = original;
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(results.length, 1);
  assert.equal(results[0].file, good);
  assert.ok(results[0].length > 0);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /empty\.jpg.*file is empty/);
});

Deno.test("predict: a list at batch=1 runs pipelined and gives each lone image's results; a failed save frees the model", async () => {
  const ref = (await readReference()).predict_single;
  const paths = await Promise.all(Object.keys(ref).map(imagePath));
  const alone: Result[] = [];
  for (const p of paths) alone.push(...await predict(model, p));
  const together = await predict(model, paths, { batch: 1 });
  assert.deepEqual(together.map((r) => r.file), alone.map((r) => r.file));
  together.forEach((r, i) => {
    assert.deepEqual(r.boxes, alone[i].boxes);
    assert.deepEqual(r.masks?.data, alone[i].masks?.data);
  });
  // The first image's save fails (a folder sits where its file goes) with the next forward already
  // submitted: predict rejects and reads that forward back, so the model still runs afterwards.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "p", basename(paths[0])), { recursive: true });
    await assert.rejects(
      predict(model, paths, { batch: 1, save: true, project: dir, name: "p", exist_ok: true }),
    );
    assert.deepEqual((await predict(model, paths[0]))[0].boxes, alone[0].boxes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("predict: images decoded on worker threads give the results of decoding on the main thread", async () => {
  // 6 images of one size (the 480x640 input other tests use: no new shape to tune on a GPU). The threaded
  // run goes first, its real forwards long enough for the threads to load (~0.15 s) and take work over;
  // the main-thread run reuses the memoized forwards.
  const dir = sharedPath("datasets/coco128-seg/images/train2017");
  const paths: string[] = [];
  for (const name of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
    const img = await decodeImage(await Deno.readFile(join(dir, name)));
    if (img.width === 640 && img.height === 480 && paths.push(join(dir, name)) === 6) break;
  }
  const threads = await predict(model, paths, { batch: 1, workers: 2 });
  const here = await predict(model, paths, { batch: 1, workers: 0 });
  assert.deepEqual(threads.map((r) => r.file), paths);
  assert.ok(here.some((r) => r.length > 0), "some detections to compare");
  threads.forEach((r, i) => {
    assert.deepEqual(r.boxes, here[i].boxes);
    assert.deepEqual(r.masks?.data, here[i].masks?.data);
  });
});

Deno.test("predict: a bad workers, conf or iou value is a one-line error before anything is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = await imagePath("000000000540.jpg");
    await assert.rejects(
      predict(model, [img, img], { workers: -1, save: true, project: dir, name: "p" }),
      { name: "RangeError", message: "Give workers a whole number >= 0: got -1" },
    );
    // Thresholds too, whichever side post-processes (the GPU's NMS would take any number).
    for (const gpuPostprocess of [false, true]) {
      await assert.rejects(
        predict(yolo, img, { conf: 1.5, gpuPostprocess, save: true, project: dir, name: "p" }),
        { name: "RangeError", message: "Give a conf in [0, 1]: got 1.5" },
      );
      await assert.rejects(
        predict(yolo, img, { iou: -0.1, gpuPostprocess, save: true, project: dir, name: "p" }),
        { name: "RangeError", message: "Give an iou in [0, 1]: got -0.1" },
      );
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no run directory");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("predict: the model's own path (GPU candidate selection, submit/read) equals the full-readback path", async () => {
  const ref = (await readReference()).predict_single;
  const paths = await Promise.all(Object.keys(ref).map(imagePath));
  // conf 0: every anchor a candidate, more than the GPU list holds (the fallback reads all of output0).
  for (const opts of [{}, { gpuLetterbox: true }, { conf: 0, max_det: 50 }, { classes: [0, 5] }]) {
    for (const p of paths) {
      const [full] = await predict(model, p, opts); // forward only: all of output0 read back
      const [own] = await predict(yolo, p, opts);
      assert.deepEqual(own.boxes, full.boxes, `${p} ${JSON.stringify(opts)}`);
      assert.deepEqual(own.masks?.data, full.masks?.data);
    }
  }
});

Deno.test("predict: NMS and masks on the GPU (gpuPostprocess) equal the CPU path, fallbacks included", async () => {
  const ref = (await readReference()).predict_single;
  const paths = await Promise.all(Object.keys(ref).map(imagePath));
  // A second executor whose mask pool holds a fiftieth of an image of bits: most masks fall back to the CPU.
  const small = new Executor(await requestGpu(), await loadModel(sharedPath("models/yolo11n-seg-c128.pt")), {
    maskPool: 0.02,
  });
  const tight: Predictable = { ...model, submit: (d, s, o) => small.submit(d, s, o) };
  // Counts the images each path took (the forwards read back through submit).
  let gpuImages = 0, fallbacks = 0;
  const spy = (inner: Predictable): Predictable => ({
    names: inner.names,
    stride: inner.stride,
    forward: (d, s) => inner.forward(d, s),
    submit: async (d, s, o) => {
      const pending = await inner.submit!(d, s, o);
      return {
        read: async () => {
          const r = await pending.read();
          for (const img of r.nms ?? []) img ? gpuImages++ : fallbacks++;
          return r;
        },
      };
    },
  });
  try {
    // conf 0: every anchor a candidate, more than the GPU list holds (the CPU path on all of output0).
    const cases: [Predictable, Record<string, unknown>][] = [
      [spy(yolo), {}],
      [spy(yolo), { classes: [0, 5], agnostic_nms: true, iou: 0.5 }],
      // max_det not a whole number (NMS keeps while fewer are kept), and above the list's 1024.
      [spy(yolo), { max_det: 2.5 }],
      [spy(yolo), { max_det: 5000, iou: 0.9 }],
      [spy(yolo), { conf: 0, max_det: 50 }],
      [spy(tight), {}],
      // The letterbox recorded into the same command buffer (submitImages).
      [yolo, { gpuLetterbox: true }],
    ];
    for (const [m, opts] of cases) {
      for (const p of paths) {
        const [cpu] = await predict(model, p, opts);
        const [gpu] = await predict(m, p, { ...opts, gpuPostprocess: true });
        assert.deepEqual(gpu.boxes, cpu.boxes, `${p} ${JSON.stringify(opts)}`);
        assert.deepEqual(gpu.masks?.data, cpu.masks?.data, `${p} ${JSON.stringify(opts)}`);
      }
    }
    // Batches of several images: each image's records and pool range.
    const [cpu, gpu] = [
      await predict(model, paths, { batch: paths.length }),
      await predict(spy(yolo), paths, { batch: paths.length, gpuPostprocess: true }),
    ];
    gpu.forEach((r, i) => assert.deepEqual([r.boxes, r.masks?.data], [cpu[i].boxes, cpu[i].masks?.data]));
    assert.ok(
      gpuImages >= 3 * paths.length && fallbacks >= paths.length,
      `${gpuImages} GPU, ${fallbacks} CPU`,
    );
  } finally {
    small.dispose();
  }
});

Deno.test("predict: save writes annotated images, predictions.json and labels into runs dir predict, predict2", async () => {
  const project = await Deno.makeTempDir();
  // the predict_batch images in its order, so the forward is the memoized one
  const paths = await Promise.all(Object.keys((await readReference()).predict_batch).map(imagePath));
  const good = await imagePath("000000000540.jpg");
  const log = console.log;
  console.log = () => {};
  try {
    const opts = { save: true, save_json: true, save_txt: true, save_crop: true, project };
    const results = await predict(model, paths, opts);
    await predict(model, good, opts);
    const run = join(project, "predict");
    const original = await decodeImage(await Deno.readFile(good), good);
    const annotated = await decodeImage(await Deno.readFile(join(run, "000000000540.jpg")), "annotated");
    assert.deepEqual([annotated.height, annotated.width], [original.height, original.width]);
    // the boxes and masks changed pixels inside the first box and JPEG noise alone elsewhere
    const [x1, y1, x2, y2] = results[1].boxes.xyxy.map(Math.round);
    let inside = 0, n = 0;
    for (let y = y1; y < y2; y++) {
      for (let x = x1; x < x2; x++, n++) {
        const i = 3 * (y * original.width + x);
        inside += Math.abs(annotated.data[i + 2] - original.data[i + 2]);
      }
    }
    assert.ok(inside / n > 10, `mean change in the box ${inside / n}`);
    await Deno.stat(join(run, "bus.jpg"));
    const json = JSON.parse(await Deno.readTextFile(join(run, "predictions.json")));
    assert.equal(json.length, paths.length);
    assert.equal(json[1].boxes_xyxy.length, results[1].length);
    const txt = await Deno.readTextFile(join(run, "labels", "000000000540.txt"));
    assert.equal(txt.trim().split("\n").length, results[1].length);
    await Deno.stat(join(project, "predict2", "000000000540.jpg"));
    // crops: one file per detection under crops/<class>/, the box grown as save_one_box does
    const r = results[1];
    const first = join(run, "crops", r.names[r.boxes.cls[0]], "000000000540.jpg");
    const crop = await decodeImage(await Deno.readFile(first), first);
    const [cx0, cy0, cx1, cy1] = cropRect(r.boxes.xyxy.subarray(0, 4), original.width, original.height);
    assert.deepEqual([crop.width, crop.height], [cx1 - cx0, cy1 - cy0]);
    let crops = 0;
    for await (const d of Deno.readDir(join(run, "crops"))) {
      for await (const _ of Deno.readDir(join(run, "crops", d.name))) crops++;
    }
    assert.equal(crops, r.length + results[0].length + results[2].length);
  } finally {
    console.log = log;
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("predict: parity summary", () => {
  console.log(
    `worst box IoU ${stats.box.toFixed(4)}; mask IoU worst ${stats.mask.worst.toFixed(4)} mean ${
      (stats.mask.sum / stats.mask.n).toFixed(4)
    } (${stats.mask.n}); retina worst ${stats.retina.worst.toFixed(4)} mean ${
      (stats.retina.sum / stats.retina.n).toFixed(4)
    } (${stats.retina.n}); ${forwards} forwards, ${(forwardMs / Math.max(1, forwards)).toFixed(0)} ms each`,
  );
  yolo.dispose();
});
