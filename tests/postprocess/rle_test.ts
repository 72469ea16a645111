import assert from "node:assert/strict";
import { decodeRle, encodeRle, maskIoU, rleIoU } from "../../src/postprocess/rle.ts";
import { readReference, refImages } from "./_reference.ts";

function randomMask(n: number, seed: number, density: number): Uint8Array {
  const m = new Uint8Array(n);
  let s = seed >>> 0;
  let v = 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    if (s / 2 ** 32 < density) v ^= 1;
    m[i] = v;
  }
  return m;
}

Deno.test("rle: runs start with 0s, possibly 0 long, and end with the last run", () => {
  assert.deepEqual(encodeRle(new Uint8Array([0, 0, 1, 1, 1, 0]), 2, 3), { size: [2, 3], counts: [2, 3, 1] });
  assert.deepEqual(encodeRle(new Uint8Array([1, 1, 0, 0]), 2, 2).counts, [0, 2, 2]);
  assert.deepEqual(encodeRle(new Uint8Array([0, 0, 0, 0]), 2, 2).counts, [4]);
  assert.deepEqual(encodeRle(new Uint8Array([1, 1, 1, 1]), 1, 4).counts, [0, 4]);
  assert.deepEqual(encodeRle(new Uint8Array([0, 255, 7, 0]), 1, 4).counts, [1, 2, 1]); // non-zero is 1
  assert.deepEqual(encodeRle(new Uint8Array(0), 0, 5).counts, [0]);
});

Deno.test("rle: decode inverts encode on random masks", () => {
  for (let t = 0; t < 20; t++) {
    const [h, w] = [1 + (t % 7), 3 + 5 * t];
    const m = randomMask(h * w, t + 1, 0.05 + 0.04 * t);
    const rle = encodeRle(m, h, w);
    assert.equal(rle.counts.reduce((a, b) => a + b, 0), h * w);
    assert.deepEqual(decodeRle(rle), m);
  }
});

Deno.test("rle: bad sizes throw RangeError", () => {
  assert.throws(() => encodeRle(new Uint8Array(5), 2, 3), RangeError);
  assert.throws(() => decodeRle({ size: [2, 3], counts: [1, 2] }), RangeError);
  assert.throws(() => decodeRle({ size: [2, 3], counts: [4, 4] }), RangeError);
  assert.throws(() => decodeRle({ size: [1, 2], counts: [-1, 3] }), RangeError);
});

Deno.test("rle: maskIoU and rleIoU agree", () => {
  assert.equal(maskIoU(new Uint8Array(4), new Uint8Array(4)), 0);
  assert.equal(maskIoU(new Uint8Array([1, 0, 1, 1]), new Uint8Array([1, 0, 1, 1])), 1);
  assert.throws(() => maskIoU(new Uint8Array(3), new Uint8Array(4)), RangeError);
  for (let t = 0; t < 20; t++) {
    const a = randomMask(600, 2 * t + 1, 0.03 + 0.02 * t), b = randomMask(600, 2 * t + 2, 0.05);
    const ra = encodeRle(a, 20, 30), rb = encodeRle(b, 20, 30);
    assert.equal(rleIoU(ra, rb), maskIoU(a, b));
    assert.equal(rleIoU(ra, ra), a.some((v) => v) ? 1 : 0);
  }
  assert.throws(() => rleIoU({ size: [2, 2], counts: [4] }, { size: [1, 4], counts: [4] }), RangeError);
});

Deno.test("rle: encode(decode(ref)) reproduces every reference mask's counts exactly", async () => {
  const ref = await readReference();
  let n = 0;
  for (const [group, name, e] of refImages(ref)) {
    for (const rle of [...e.masks_letterbox, ...e.masks_retina]) {
      const again = encodeRle(decodeRle(rle), rle.size[0], rle.size[1]);
      assert.deepEqual(again, rle, `${group} ${name}`);
      n++;
    }
  }
  assert.equal(n, 70);
});
