/**
 * letterbox GPU vs its CPU twin `letterboxInto` (src/data/letterbox.ts): bit-exact on seeded random
 * images through each of OpenCV's paths (same-size copy, exact-2x area mean, bilinear up and down by odd
 * factors), rect and square letterboxes, odd widths (pixels straddling u32 words), tiny images, other
 * options, and two images into one batch buffer at their offsets. Prints the kernel's time for bus.jpg's
 * size (not an assertion).
 */
import assert from "node:assert/strict";
import { LETTERBOX_MODE } from "../../kernels/letterbox.ts";
import { letterboxGeometry, letterboxInto, type LetterboxIntoOptions } from "../../src/data/letterbox.ts";
import { GpuLetterbox, letterboxPlan } from "../../src/data/letterbox_gpu.ts";
import type { Image } from "../../src/io/image.ts";
import { readBack, testGpu } from "../_gpu.ts";
import { rand } from "../_rand.ts";

function randomImage(width: number, height: number, seed: number): Image {
  const next = rand(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(next() * 256);
  return { width, height, data };
}

let shared: Promise<GpuLetterbox> | undefined;
async function letterboxer(): Promise<GpuLetterbox> {
  const { cache } = await testGpu();
  shared ??= GpuLetterbox.create(cache);
  return await shared;
}

/** Asserts equal bit patterns, naming the first difference (channel, row, column). */
function assertBitExact(got: Float32Array, want: Float32Array, shape: [number, number], what: string): void {
  assert.equal(got.length, want.length, what);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const [H, W] = shape;
  let bad = 0, first = -1;
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    const p = first % (3 * H * W), c = Math.floor(p / (H * W)), y = Math.floor((p % (H * W)) / W);
    assert.fail(
      `${what}: ${bad} values differ, first at [${first}] (c ${c}, y ${y}, x ${p % W}): ` +
        `${got[first]} (x255 = ${got[first] * 255}) vs ${want[first]} (x255 = ${want[first] * 255})`,
    );
  }
}

/** Letterboxes `images` into one batch buffer on the GPU and on the CPU and compares every value. */
async function check(images: Image[], options: LetterboxIntoOptions, mode?: keyof typeof LETTERBOX_MODE) {
  const { device } = await testGpu();
  const lb = await letterboxer();
  const g = letterboxGeometry([images[0].height, images[0].width], options);
  const [H, W] = g.letterboxShape;
  const plane = 3 * H * W;
  const want = new Float32Array(plane * images.length).fill(-7);
  const out = device.createBuffer({
    label: "letterbox.y",
    size: Math.max(16, Math.ceil(want.byteLength / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(out, 0, want);
  const encoder = device.createCommandEncoder({ label: "letterbox" });
  images.forEach((img, i) => {
    const opts = { ...options, offset: i * plane };
    if (mode) assert.equal(letterboxPlan(img, opts).params.mode, LETTERBOX_MODE[mode], `${mode} path`);
    const cpu = letterboxInto(img, want, opts);
    const gpu = lb.encode(encoder, img, out, { ...opts, slot: i });
    assert.deepEqual(gpu, cpu, "geometry");
  });
  device.queue.submit([encoder.finish()]);
  const got = await readBack(device, out, want.length);
  out.destroy();
  const sizes = images.map((img) => `${img.width}x${img.height}`).join(", ");
  assertBitExact(got, want, [H, W], `letterbox ${sizes} ${JSON.stringify(options)}`);
}

const one = (
  w: number,
  h: number,
  seed: number,
  options: LetterboxIntoOptions,
  mode?: keyof typeof LETTERBOX_MODE,
) => check([randomImage(w, h, seed)], options, mode);

Deno.test("letterbox: same size is a copy (square and rect)", async () => {
  await one(640, 480, 1, {}, "copy");
  await one(640, 480, 2, { auto: true }, "copy");
  await one(37, 64, 3, { newShape: 64 }, "copy");
});

Deno.test("letterbox: exactly half takes the 2x2 area path", async () => {
  await one(1280, 960, 4, { auto: true }, "area2x");
  await one(1280, 1280, 5, {}, "area2x");
  await one(130, 64, 6, { newShape: 65 }, "area2x");
});

Deno.test("letterbox: bilinear down by odd factors (bus.jpg size and others)", async () => {
  await one(810, 1080, 7, { auto: true }, "bilinear");
  await one(810, 1080, 8, {}, "bilinear");
  await one(1280, 720, 9, { auto: true }, "area2x"); // zidane.jpg: exactly half
  await one(1921, 1083, 10, {}, "bilinear");
  await one(1279, 721, 33, { auto: true }, "bilinear");
  await one(1920, 640, 11, { newShape: 640 }, "bilinear"); // 3x in x
});

Deno.test("letterbox: bilinear up by odd factors", async () => {
  await one(213, 160, 12, {}, "bilinear"); // 3x
  await one(128, 91, 13, { auto: true }, "bilinear");
  await one(99, 7, 14, { newShape: 160 }, "bilinear");
});

Deno.test("letterbox: odd widths straddle u32 words", async () => {
  await one(333, 77, 15, { auto: true });
  await one(641, 3, 16, {});
  await one(5, 641, 17, { newShape: [320, 96] });
  await one(7, 5, 18, { newShape: 7 }, "copy");
});

Deno.test("letterbox: tiny images", async () => {
  await one(1, 1, 19, {});
  await one(2, 3, 20, {});
  await one(2, 3, 21, { newShape: 8, auto: true });
  await one(3, 2, 22, { newShape: 1 });
  await one(2, 2, 23, { newShape: 1 }, "area2x");
});

Deno.test("letterbox: scaleup false, not centered, other pad values", async () => {
  await one(100, 50, 24, { scaleup: false });
  await one(810, 1080, 25, { center: false, padValue: 0 });
  await one(300, 200, 26, { newShape: [256, 320], stride: 64, auto: true, padValue: 255 });
});

Deno.test("letterbox: two images into one batch buffer at their offsets", async () => {
  await check([randomImage(810, 1080, 27), randomImage(1280, 720, 28)], {});
  await check([randomImage(33, 17, 29), randomImage(17, 33, 30), randomImage(64, 64, 31)], { newShape: 64 });
});

Deno.test("letterbox: rejects an output buffer that is too small", async () => {
  const { device } = await testGpu();
  const lb = await letterboxer();
  const out = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  const encoder = device.createCommandEncoder();
  assert.throws(() => lb.encode(encoder, randomImage(4, 4, 1), out, { newShape: 4 }), RangeError);
  out.destroy();
});

Deno.test("letterbox: time for bus.jpg (810x1080 -> 480x640), printed", async () => {
  const { device } = await testGpu();
  const lb = await letterboxer();
  const img = randomImage(810, 1080, 32);
  const out = device.createBuffer({ size: 3 * 480 * 640 * 4, usage: GPUBufferUsage.STORAGE });
  const run = async () => {
    const encoder = device.createCommandEncoder();
    lb.encode(encoder, img, out, { auto: true });
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run();
  const n = 10;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await run();
  const gpuMs = (performance.now() - t0) / n;
  const cpu = new Float32Array(3 * 480 * 640);
  const t1 = performance.now();
  for (let i = 0; i < n; i++) letterboxInto(img, cpu, { auto: true });
  const cpuMs = (performance.now() - t1) / n;
  console.log(
    `letterbox 810x1080 -> 480x640: GPU ${gpuMs.toFixed(2)} ms (upload + dispatch), CPU ${
      cpuMs.toFixed(2)
    } ms`,
  );
  out.destroy();
});
