/**
 * The GPU letterbox inside a forward: `YOLO.forwardImages` (letterbox kernel + network in one command
 * buffer) gives the same outputs, bit for bit, as `forward` on `letterboxInto`'s floats, and `runBatch`
 * with `gpuLetterbox` the same results as without it. Random-weight yolo11n-seg at small sizes.
 */
import assert from "node:assert/strict";
import { letterboxInto } from "../../src/data/letterbox.ts";
import type { Image } from "../../src/io/image.ts";
import { batchOptions, runBatch } from "../../src/modes/predict.ts";
import { YOLO } from "../../src/yolo.ts";
import { rand } from "../_rand.ts";

function randomImage(width: number, height: number, seed: number): Image {
  const next = rand(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(next() * 256);
  return { width, height, data };
}

Deno.test("letterbox_gpu: forwardImages equals forward on letterboxInto's input", async () => {
  const model = await YOLO.load("yolo11n-seg.yaml");
  try {
    const images = [randomImage(203, 151, 1), randomImage(151, 203, 2)];
    const options = { newShape: 96 };
    const { output, geometries, shape } = await model.forwardImages(images, options);
    assert.deepEqual(shape, [2, 3, 96, 96]);
    const data = new Float32Array(2 * 3 * 96 * 96);
    const cpu = images.map((img, i) => letterboxInto(img, data, { ...options, offset: i * 3 * 96 * 96 }));
    assert.deepEqual(geometries, cpu);
    const want = await model.forward(data, shape);
    assert.deepEqual(output.output0, want.output0);
    assert.deepEqual(output.output1, want.output1);
    await assert.rejects(
      model.forwardImages([randomImage(10, 20, 3), randomImage(20, 10, 4)], { auto: true, newShape: 64 }),
      RangeError,
    );
  } finally {
    model.dispose();
  }
});

Deno.test("letterbox_gpu: runBatch with gpuLetterbox gives the CPU path's results", async () => {
  const model = await YOLO.load("yolo11n-seg.yaml");
  try {
    const items = [{ file: "a.jpg", img: randomImage(97, 131, 5) }];
    const opts = { imgsz: 128, conf: 0.001 };
    const cpu = await runBatch(model, items, batchOptions(opts));
    const gpu = await runBatch(model, items, batchOptions({ ...opts, gpuLetterbox: true }));
    assert.deepEqual(gpu.shape, cpu.shape);
    assert.equal(gpu.results.length, 1);
    assert.deepEqual(gpu.results[0].boxes, cpu.results[0].boxes);
    assert.deepEqual(gpu.results[0].masks, cpu.results[0].masks);
  } finally {
    model.dispose();
  }
});

Deno.test("letterbox_gpu: runBatch letterboxes on the GPU by default on hardware adapters only", async () => {
  const model = await YOLO.load("yolo11n-seg.yaml");
  try {
    const calls: string[] = [];
    const spy = (software: boolean) => ({
      names: model.names,
      stride: model.stride,
      forward: (d: Float32Array, s: readonly number[]) => (calls.push("forward"), model.forward(d, s)),
      forwardImages: (imgs: readonly Image[], o: Parameters<YOLO["forwardImages"]>[1]) => (
        calls.push("forwardImages"), model.forwardImages(imgs, o)
      ),
      softwareAdapter: () => Promise.resolve(software),
    });
    const items = [{ file: "a.jpg", img: randomImage(120, 90, 5) }];
    const opts = { imgsz: 64, conf: 0.01 };
    const hw = await runBatch(spy(false), items, batchOptions(opts));
    const sw = await runBatch(spy(true), items, batchOptions(opts));
    await runBatch(spy(false), items, batchOptions({ ...opts, gpuLetterbox: false }));
    await runBatch(spy(true), items, batchOptions({ ...opts, gpuLetterbox: true }));
    assert.deepEqual(calls, ["forwardImages", "forward", "forward", "forwardImages"]);
    assert.deepEqual(hw.results[0].boxes, sw.results[0].boxes);
  } finally {
    model.dispose();
  }
});
