import assert from "node:assert/strict";
import { blendMasks, drawBox, masksToOriginal } from "../../src/plot/draw.ts";
import { classColor, PALETTE, textColor } from "../../src/plot/colors.ts";

const blank = (w: number, h: number) => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });

/** The set of `x,y` pixels that are not black. */
function lit(img: { width: number; height: number; data: Uint8Array }): Set<string> {
  const s = new Set<string>();
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) if (img.data[3 * (y * img.width + x)]) s.add(`${x},${y}`);
  }
  return s;
}

Deno.test("drawBox of width 1 sets exactly the border pixels", () => {
  const img = blank(10, 10);
  drawBox(img, 2, 2, 7, 6, [200, 100, 50], 1);
  const want = new Set<string>();
  for (let x = 2; x <= 7; x++) want.add(`${x},2`).add(`${x},6`);
  for (let y = 2; y <= 6; y++) want.add(`2,${y}`).add(`7,${y}`);
  assert.deepEqual(lit(img), want);
  assert.deepEqual([...img.data.subarray(3 * (2 * 10 + 2), 3 * (2 * 10 + 2) + 3)], [200, 100, 50]);
});

Deno.test("drawBox of width 3 is centred on the edges and clipped to the image", () => {
  const img = blank(12, 12);
  drawBox(img, 0, 3, 8, 9, [1, 1, 1], 3);
  const want = new Set<string>();
  for (let y = 0; y < 12; y++) {
    for (let x = 0; x < 12; x++) {
      const inOuter = x >= 0 && x <= 9 && y >= 2 && y <= 10;
      const inHole = x >= 2 && x <= 6 && y >= 5 && y <= 7;
      if (inOuter && !inHole) want.add(`${x},${y}`);
    }
  }
  assert.deepEqual(lit(img), want);
});

Deno.test("blendMasks with alpha 0.5 gives the hand-computed colors", () => {
  const img = { width: 2, height: 1, data: Uint8Array.from([100, 150, 201, 10, 20, 30]) };
  // class 0 is 042AFF = (4, 42, 255); only pixel 0 is masked
  blendMasks(img, Uint8Array.from([1, 0]), [classColor(0)]);
  assert.deepEqual([...img.data], [52, 96, 228, 10, 20, 30]); // (100+4)/2, (150+42)/2, floor((201+255)/2)
  // two overlapping masks: pixel * 0.25 + max(0.5 * colors)
  const two = { width: 1, height: 1, data: Uint8Array.from([200, 200, 200]) };
  blendMasks(two, Uint8Array.from([1, 1]), [[255, 0, 100], [0, 255, 50]]);
  assert.deepEqual([...two.data], [177, 177, 100]); // 50 + 127.5, 50 + 127.5, 50 + 50
});

Deno.test("palette and text colors follow Ultralytics 8.3", () => {
  assert.equal(PALETTE.length, 20);
  assert.deepEqual(classColor(0), [4, 42, 255]);
  assert.deepEqual(classColor(22), [243, 243, 243]);
  assert.deepEqual(textColor(classColor(0)), [255, 255, 255]);
  assert.deepEqual(textColor(classColor(2)), [17, 31, 104]);
});

Deno.test("masksToOriginal cuts the letterbox padding and resizes", () => {
  // original 2x4 (h x w) letterboxed to 4x4: one padding row above and below
  const lb = Uint8Array.from([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual([...masksToOriginal(lb, [1, 4, 4], [2, 4])], [1, 1, 0, 0, 0, 0, 1, 1]);
  // upscaled 2x: each letterbox pixel becomes a 2x2 block
  const up = masksToOriginal(Uint8Array.from([1, 0, 0, 1]), [1, 2, 2], [4, 4]);
  assert.deepEqual([...up], [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
});
