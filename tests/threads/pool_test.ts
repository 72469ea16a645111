/**
 * `ThreadPool`: worker threads give the pixels and errors of `decodeImage` and the detections of
 * `postprocessImage` on the main thread; a dying worker's tasks finish on the calling thread; close
 * rejects what is left.
 */
import assert from "node:assert/strict";
import encodePng from "@jsquash/png/encode.js";
import { threadCount, ThreadPool } from "../../src/threads/pool.ts";
import { decodeImage } from "../../src/io/image.ts";
import { letterboxGeometry, letterboxInto } from "../../src/data/letterbox.ts";
import { postprocessImage } from "../../src/postprocess/segment.ts";
import { imageMatches } from "../../src/metrics/image_matches.ts";
import { nonMaxSuppression } from "../../src/postprocess/nms.ts";
import { processMaskProto } from "../../src/postprocess/masks.ts";
import { scaleBoxes } from "../../src/postprocess/boxes.ts";
import { YOLO } from "../../mod.ts";
import { loadLabels } from "../../src/data/labels.ts";
import { valSample } from "../../src/data/val_sample.ts";
import { Result, tracedMasks } from "../../src/results.ts";
import { sharedPath } from "../_shared.ts";

const dir = sharedPath("datasets/coco128-seg/images/train2017");
const jpegs = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`).sort().slice(0, 6);

/** Resolves once every worker of `pool` has loaded (decodes before that run on this thread). */
async function untilReady(pool: ThreadPool): Promise<void> {
  for (let i = 0; i < 400 && pool.readyWorkers < pool.size; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(pool.readyWorkers, pool.size, "the workers loaded within 10 s");
}

Deno.test("thread pool: JPEG and PNG pixels equal decodeImage on this thread", async () => {
  using pool = new ThreadPool(2);
  await untilReady(pool);
  const rgba = new Uint8ClampedArray(5 * 3 * 4).map((_, i) => (i * 37) % 256);
  const png = new Uint8Array(await encodePng(new ImageData(rgba, 5, 3)));
  const files = [...jpegs.map((f) => ({ f, bytes: Deno.readFileSync(f) })), { f: "x.png", bytes: png }];
  const viaPool = await Promise.all(files.map(({ f, bytes }) => pool.decode(bytes, f)));
  for (const [i, { f, bytes }] of files.entries()) {
    const here = await decodeImage(bytes, f);
    assert.equal(viaPool[i].width, here.width, f);
    assert.equal(viaPool[i].height, here.height, f);
    assert.deepEqual(viaPool[i].data, here.data, f);
  }
});

Deno.test("thread pool: errors are decodeImage's DatasetErrors, naming the file", async () => {
  using pool = new ThreadPool(1);
  await untilReady(pool);
  const good = Deno.readFileSync(jpegs[0]);
  for (const bytes of [new Uint8Array(0), good.subarray(0, 600), new TextEncoder().encode("GIF89a....")]) {
    const here = await decodeImage(bytes, "bad.jpg").then(() => undefined, (e) => e);
    assert.ok(here instanceof Error);
    await assert.rejects(pool.decode(bytes, "bad.jpg"), (e: Error & { file?: string }) => {
      assert.equal(e.name, "DatasetError");
      assert.equal(e.message, here.message);
      assert.equal(e.file, "bad.jpg");
      return true;
    });
  }
});

Deno.test("thread pool: a worker that dies hands its jobs back to this thread", async () => {
  using pool = new ThreadPool(1, new URL("./_dying_worker.ts", import.meta.url));
  await untilReady(pool);
  const bytes = Deno.readFileSync(jpegs[1]);
  const img = await pool.decode(bytes, jpegs[1]);
  assert.deepEqual(img.data, (await decodeImage(bytes)).data);
  assert.equal(pool.readyWorkers, 0, "the failed worker is dropped");
});

Deno.test("thread pool: close rejects decodes still running, and later ones", async () => {
  const pool = new ThreadPool(1);
  await untilReady(pool);
  const pending = pool.decode(Deno.readFileSync(jpegs[2]), jpegs[2]);
  pool.close();
  await assert.rejects(pending, /closed/);
  await assert.rejects(pool.decode(new Uint8Array(1)), /closed/);
});

Deno.test("threadCount: Ultralytics' min(cpu count, workers); none for one image, one CPU or workers=0", () => {
  const cpus = navigator.hardwareConcurrency;
  assert.equal(threadCount(8, 100), cpus < 2 ? 0 : Math.min(8, cpus));
  assert.equal(threadCount(1, 100), cpus < 2 ? 0 : 1);
  assert.equal(threadCount(8, 1), 0);
  assert.equal(threadCount(0, 100), 0);
  for (const bad of [Number.NaN, -1, 2.5]) {
    assert.throws(() => threadCount(bad, 100), {
      name: "RangeError",
      message: `Give workers a whole number >= 0: got ${bad}`,
    });
  }
  assert.equal(threadCount(64, 3), cpus < 2 ? 0 : Math.min(3, cpus));
});

Deno.test("thread pool: post-processing on a worker equals postprocessImage here (masks, retina masks)", async () => {
  // One 2-image forward at imgsz=160 of the shared checkpoint, conf 0.01 for a few dozen detections.
  const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"));
  using pool = new ThreadPool(2);
  try {
    const imgs = await Promise.all(
      jpegs.slice(0, 2).map(async (f) => decodeImage(await Deno.readFile(f), f)),
    );
    const lb = { newShape: 160, auto: false, stride: 32 };
    const [H, W] = letterboxGeometry([imgs[0].height, imgs[0].width], lb).letterboxShape;
    const input = new Float32Array(2 * 3 * H * W);
    imgs.forEach((img, b) => letterboxInto(img, input, { ...lb, offset: b * 3 * H * W }));
    const out = await model.forward(input, [2, 3, H, W]);
    await untilReady(pool);
    const [, C, A] = out.output0.shape;
    const [, nm, mh, mw] = out.output1!.shape;
    let detections = 0;
    for (const retina_masks of [false, true]) {
      const opts = { conf: 0.01, iou: 0.7, max_det: 300, classes: null, agnostic_nms: false, retina_masks };
      for (const [b, img] of imgs.entries()) {
        const outputs = {
          preds: out.output0.data.subarray(b * C * A, (b + 1) * C * A),
          channels: C,
          columns: A,
          protos: {
            data: out.output1!.data.subarray(b * nm * mh * mw, (b + 1) * nm * mh * mw),
            shape: [nm, mh, mw] as [number, number, number],
          },
        };
        const orig: [number, number] = [img.height, img.width];
        const here = postprocessImage(outputs, opts, model.names.length, [H, W], orig);
        const there = await pool.postprocess(outputs, opts, model.names.length, [H, W], orig);
        assert.deepEqual(there, here);
        detections += here.conf.length;
      }
    }
    assert.ok(detections > 0, "detections to compare");
    // The batch's outputs are intact (a worker got copies of the image's slices).
    assert.equal(out.output1!.data.length, 2 * nm * mh * mw);
  } finally {
    model.dispose();
  }
});

Deno.test("thread pool: validation matches on a worker equal imageMatches here", async () => {
  // One forward of a COCO128 image at imgsz=640; the ground truth is made from the model's own confident detections (so
  // predictions match at several thresholds), its overlap mask from their prototype masks.
  const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"));
  using pool = new ThreadPool(1);
  try {
    const img = await decodeImage(await Deno.readFile(jpegs[0]), jpegs[0]);
    const lb = { newShape: 640, auto: true, stride: 32 };
    const g = letterboxGeometry([img.height, img.width], lb);
    const [H, W] = g.letterboxShape;
    const input = new Float32Array(3 * H * W);
    letterboxInto(img, input, lb);
    const out = await model.forward(input, [1, 3, H, W]);
    await untilReady(pool);
    const [, C, A] = out.output0.shape;
    const [, nm, mh, mw] = out.output1!.shape;
    const protos = { data: out.output1!.data, shape: [nm, mh, mw] as [number, number, number] };
    const nc = model.names.length;
    const gt = nonMaxSuppression(out.output0.data, [C, A], { conf: 0.25, nc });
    assert.ok(gt.count > 0, "ground truth to match");
    const gtMasks = processMaskProto(protos, gt.coeffs, gt.boxes, [H, W]);
    const mask = new Int32Array(mh * mw);
    for (let g = 0; g < gt.count; g++) {
      for (let p = 0; p < mh * mw; p++) if (gtMasks.data[g * mh * mw + p]) mask[p] = g + 1;
    }
    const ratio = g.ratio[0];
    const origShape: [number, number] = [img.height, img.width];
    const ratioPad: [[number, number], [number, number]] = [[ratio, ratio], [g.border.left, g.border.top]];
    const boxes = scaleBoxes(gt.boxes, [H, W], origShape, { ratioPad });
    const truth = { origShape, ratioPad, cls: [...gt.cls], boxes, mask };
    const outputs = { preds: out.output0.data, channels: C, columns: A, protos };
    for (const singleCls of [false, true]) {
      const opts = { conf: 0.001, iou: 0.7, maxDet: 300, agnostic: false, singleCls, nc };
      // single_cls: every ground-truth instance is class 0 too (the dataset's update_labels)
      const t = singleCls ? { ...truth, cls: truth.cls.map(() => 0) } : truth;
      const here = imageMatches(outputs, t, opts, [H, W]);
      const there = await pool.matches(outputs, t, opts, [H, W]);
      assert.deepEqual(there, here);
      assert.ok(
        here.tpM.some((v) => v === 1),
        `some mask matches: ${gt.count} gt, ${here.conf.length} predictions, ${
          here.tp.reduce((a, v) => a + v, 0)
        } box matches`,
      );
    }
  } finally {
    model.dispose();
  }
});

Deno.test("thread pool: a validation sample prepared on a worker equals valSample here", async () => {
  using pool = new ThreadPool(1);
  await untilReady(pool);
  const { labels } = await loadLabels(jpegs.slice(0, 4), 80, { cache: false, verbose: false });
  assert.ok(labels.some((l) => l.segments.length > 0), "polygons to rasterize");
  for (const label of labels) {
    const bytes = await Deno.readFile(label.im_file);
    for (const [shape, imgsz] of [[[480, 640], 640], [[256, 320], 320]] as [[number, number], number][]) {
      const here = valSample(await decodeImage(bytes, label.im_file), label, shape, imgsz);
      const there = await pool.valSample(bytes, label.im_file, label, shape, imgsz);
      assert.deepEqual(there, here, `${label.im_file} ${shape}`);
    }
  }
  await assert.rejects(pool.valSample(new Uint8Array(0), "gone.jpg", labels[0], [480, 640], 640), {
    name: "DatasetError",
    message: 'Cannot read image "gone.jpg": file is empty',
  });
});

Deno.test("thread pool: an annotated image saved on a worker has the bytes of Result.save here", async () => {
  using pool = new ThreadPool(1);
  await untilReady(pool);
  const img = await decodeImage(await Deno.readFile(jpegs[0]), jpegs[0]);
  const [h, w] = [img.height, img.width];
  // two detections with masks (a rectangle each) at the original resolution
  const masks = new Uint8Array(2 * h * w);
  for (let y = 40; y < 200; y++) for (let x = 60; x < 300; x++) masks[y * w + x] = 1;
  for (let y = 220; y < 400; y++) for (let x = 320; x < 600; x++) masks[h * w + y * w + x] = 1;
  const result = new Result({
    file: jpegs[0],
    origShape: [h, w],
    letterboxShape: [h, w],
    boxes: {
      xyxy: Float32Array.from([60, 40, 300, 200, 320, 220, 600, 400]),
      conf: Float32Array.from([0.9, 0.6]),
      cls: Int32Array.from([0, 45]),
    },
    masks: tracedMasks(masks, [2, h, w], [h, w]),
    names: { 0: "person", 45: "bowl" },
    speed: { preprocess: 0, inference: 0, postprocess: 0 },
  });
  const dir = await Deno.makeTempDir();
  try {
    for (const [ext, options] of [["jpg", {}], ["png", { show_conf: false, line_width: 5 }]] as const) {
      await result.save(`${dir}/here.${ext}`, img, options);
      await pool.save(result, `${dir}/there.${ext}`, img, options);
      assert.deepEqual(await Deno.readFile(`${dir}/there.${ext}`), await Deno.readFile(`${dir}/here.${ext}`));
    }
    // a failure on the worker is the caller's rejection (a folder where the file goes)
    await Deno.mkdir(`${dir}/taken.jpg`);
    await assert.rejects(pool.save(result, `${dir}/taken.jpg`, img));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
