import assert from "node:assert/strict";
import { asCocoRle, cocoCountsFromString, decodeCocoRle } from "../../src/data/coco_rle.ts";
import { rand as seeded } from "../_rand.ts";

/** pycocotools' `rleToString`, written out here as the test's independent encoder. */
function countsToString(counts: number[]): string {
  let s = "";
  counts.forEach((c, i) => {
    let x = i > 2 ? c - counts[i - 2] : c;
    let more = true;
    while (more) {
      let b = x & 0x1f;
      x >>= 5;
      more = (b & 0x10) ? x !== -1 : x !== 0;
      if (more) b |= 0x20;
      s += String.fromCharCode(b + 48);
    }
  });
  return s;
}

/** Column-major runs of a row-major mask, starting with 0s. */
function columnRuns(mask: Uint8Array, h: number, w: number): number[] {
  const runs: number[] = [];
  let value = 0, n = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      if (mask[y * w + x] === value) n++;
      else runs.push(n), value ^= 1, n = 1;
    }
  }
  runs.push(n);
  return runs;
}

Deno.test("decodeCocoRle inverts column-major runs, as lists and as pycocotools strings", () => {
  const next = seeded(11);
  for (let t = 0; t < 30; t++) {
    const h = 1 + Math.floor(next() * 40), w = 1 + Math.floor(next() * 40);
    const p = next();
    const mask = Uint8Array.from({ length: h * w }, () => (next() < p ? 1 : 0));
    const runs = columnRuns(mask, h, w);
    assert.deepEqual(decodeCocoRle({ size: [h, w], counts: runs }), mask);
    const str = countsToString(runs);
    assert.deepEqual(cocoCountsFromString(str), runs);
    assert.deepEqual(decodeCocoRle({ size: [h, w], counts: str }), mask);
  }
});

Deno.test("cocoCountsFromString: large counts and negative differences", () => {
  const counts = [123456, 7, 3, 100000, 2, 99999999];
  assert.deepEqual(cocoCountsFromString(countsToString(counts)), counts);
});

Deno.test("bad RLEs are one-line errors", () => {
  assert.throws(
    () => decodeCocoRle({ size: [2, 2], counts: [1, 1] }),
    /runs cover 2 of the 2x2 mask's pixels/,
  );
  assert.throws(() => decodeCocoRle({ size: [2, 2], counts: [3, 3] }), /runs exceed the 2x2 mask/);
  assert.throws(() => cocoCountsFromString("5P"), /ends inside a number/);
  assert.throws(() => asCocoRle({ counts: [1] }), /needs size/);
  assert.throws(() => asCocoRle({ size: [2, 2], counts: {} }), /needs counts/);
});
