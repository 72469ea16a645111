/**
 * `encodeJpeg`: what libjpeg-turbo (through `decodeImage`, which fails on corrupt or truncated data) reads
 * back is the image within the error a quality-95 baseline JPEG has: >= 40 dB PSNR on a photo, flat colors
 * within 1, every size including partial MCUs; quality changes the size.
 */
import assert from "node:assert/strict";
import { decodeImage, type Image } from "../../src/io/image.ts";
import { encodeJpeg } from "../../src/plot/jpeg_encode.ts";
import { rand as seeded } from "../_rand.ts";
import { sharedPath } from "../_shared.ts";

function psnr(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s === 0 ? Infinity : 10 * Math.log10((255 * 255) / (s / a.length));
}

Deno.test("encodeJpeg: a photo reads back at >= 40 dB (quality 95), smaller at lower quality", async () => {
  const file = sharedPath("datasets/coco128-seg/images/train2017/000000000009.jpg");
  const img = await decodeImage(await Deno.readFile(file), file);
  const q95 = encodeJpeg(img, 95);
  const back = await decodeImage(q95, "q95.jpg");
  assert.equal(back.width, img.width);
  assert.equal(back.height, img.height);
  const p = psnr(img.data, back.data);
  assert.ok(p >= 40, `PSNR ${p.toFixed(2)} dB`);
  const q50 = encodeJpeg(img, 50);
  assert.ok(q50.length < q95.length / 2, `${q50.length} vs ${q95.length} bytes`);
  const p50 = psnr(img.data, (await decodeImage(q50, "q50.jpg")).data);
  assert.ok(p50 < p && p50 >= 27, `PSNR at 50: ${p50.toFixed(2)} dB`);
});

Deno.test("encodeJpeg: any size (partial MCUs) and flat colors read back within 1", async () => {
  const rand = seeded(5);
  for (const [w, h] of [[1, 1], [7, 13], [16, 16], [17, 9], [33, 65], [200, 3]]) {
    const color = [Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256)];
    const img: Image = {
      width: w,
      height: h,
      data: Uint8Array.from({ length: w * h * 3 }, (_, i) => color[i % 3]),
    };
    const back = await decodeImage(encodeJpeg(img), `${w}x${h}.jpg`);
    assert.deepEqual([back.width, back.height], [w, h]);
    for (let i = 0; i < back.data.length; i++) {
      assert.ok(
        Math.abs(back.data[i] - img.data[i]) <= 1,
        `${w}x${h} value ${i}: ${back.data[i]} vs ${img.data[i]}`,
      );
    }
  }
});

Deno.test("encodeJpeg: noise (every coefficient size, zero runs past 16, 0xFF bytes stuffed) decodes cleanly", async () => {
  const rand = seeded(9);
  for (const quality of [100, 95, 10]) {
    for (const gray of [false, true]) {
      const w = 45, h = 37;
      const data = new Uint8Array(w * h * 3);
      for (let p = 0; p < w * h; p++) {
        for (let c = 0; c < 3; c++) data[3 * p + c] = gray && c > 0 ? data[3 * p] : Math.floor(rand() * 256);
      }
      // half the image flat, so long zero runs and end-of-block codes occur too
      data.fill(128, 0, data.length >> 1);
      const back = await decodeImage(
        encodeJpeg({ width: w, height: h, data }, quality),
        `noise-q${quality}.jpg`,
      );
      assert.deepEqual([back.width, back.height], [w, h]);
      // gray noise at quality 100 (all divisors 1) keeps its detail; colored noise loses its 4:2:0 chroma
      if (gray && quality === 100) {
        assert.ok(psnr(data, back.data) >= 40, `gray q100: ${psnr(data, back.data)} dB`);
      }
    }
  }
});

Deno.test("encodeJpeg: a size or length that cannot be a JPEG is a RangeError", () => {
  assert.throws(() => encodeJpeg({ width: 0, height: 4, data: new Uint8Array(0) }), RangeError);
  assert.throws(() => encodeJpeg({ width: 2, height: 2, data: new Uint8Array(11) }), RangeError);
});
