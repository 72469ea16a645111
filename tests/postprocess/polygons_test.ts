import assert from "node:assert/strict";
import { decodeRle } from "../../src/postprocess/rle.ts";
import { findContours, masksXy, maskToSegment, mergeMultiSegment } from "../../src/postprocess/polygons.ts";
import { readReference, refImages } from "./_reference.ts";

/** A mask from rows of "." and "#". */
function art(...rows: string[]): { mask: Uint8Array; shape: [number, number] } {
  const h = rows.length, w = rows[0].length;
  const mask = new Uint8Array(h * w);
  rows.forEach((r, y) => [...r].forEach((ch, x) => mask[y * w + x] = ch === "#" ? 1 : 0));
  return { mask, shape: [h, w] };
}

const points = (c: ArrayLike<number>) =>
  Array.from({ length: c.length / 2 }, (_, i) => [c[2 * i], c[2 * i + 1]]);

Deno.test("polygons: a filled rectangle gives its 4 corners, counter-clockwise on screen from the top-left", () => {
  const { mask, shape } = art(
    "......",
    ".####.",
    ".####.",
    ".####.",
  );
  assert.deepEqual(findContours(mask, shape).map(points), [[[1, 1], [1, 3], [4, 3], [4, 1]]]);
});

Deno.test("polygons: single pixels, lines and diagonals as OpenCV's CHAIN_APPROX_SIMPLE", () => {
  const dot = art("...", ".#.", "...");
  assert.deepEqual(findContours(dot.mask, dot.shape).map(points), [[[1, 1]]]);
  const line = art("####");
  assert.deepEqual(findContours(line.mask, line.shape).map(points), [[[0, 0], [3, 0]]]);
  const diag = art("#..", ".#.", "..#");
  assert.deepEqual(findContours(diag.mask, diag.shape).map(points), [[[0, 0], [2, 2]]]);
  const vline = art(".#", ".#", ".#");
  assert.deepEqual(findContours(vline.mask, vline.shape).map(points), [[[1, 0], [1, 2]]]);
});

Deno.test("polygons: an L shape keeps each corner, including the inner one", () => {
  const { mask, shape } = art(
    "#...",
    "#...",
    "####",
  );
  assert.deepEqual(findContours(mask, shape).map(points), [[[0, 0], [0, 2], [3, 2], [1, 2], [0, 1]]]);
});

Deno.test("polygons: contours come in reverse order of discovery (raster order of their first pixel)", () => {
  const { mask, shape } = art(
    "...#",
    "....",
    "#...",
    "....",
    ".##.",
  );
  assert.deepEqual(findContours(mask, shape).map(points), [[[1, 4], [2, 4]], [[0, 2]], [[3, 0]]]);
});

Deno.test("polygons: RETR_EXTERNAL skips holes and regions inside holes, not regions beside them", () => {
  const { mask, shape } = art(
    "#####..",
    "#...#..",
    "#.#.#.#",
    "#...#..",
    "#####..",
  );
  assert.deepEqual(findContours(mask, shape).map(points), [[[6, 2]], [[0, 0], [0, 4], [4, 4], [4, 0]]]);
});

Deno.test("polygons: empty masks have no contour and an empty segment", () => {
  assert.deepEqual(findContours(new Uint8Array(12), [3, 4]), []);
  assert.deepEqual(maskToSegment(new Uint8Array(12), [3, 4]), new Float32Array(0));
  assert.throws(() => findContours(new Uint8Array(5), [2, 3]), RangeError);
});

Deno.test("polygons: merge_multi_segment joins through the closest points, forward then back", () => {
  const flat = (parts: Float64Array[]) => parts.flatMap((p) => [...p]);
  // a → b at (1,0)-(10,0); b → c at (12,0)-(20,0). Pieces: a rolled and closed; b from its entry to its
  // exit; c closed; then back through b from its exit.
  const merged = flat(mergeMultiSegment([[0, 0, 1, 0], [10, 0, 11, 0, 12, 0], [20, 0]]));
  // deno-fmt-ignore
  assert.deepEqual(merged, [1, 0, 0, 0, 1, 0, /**/ 10, 0, 11, 0, 12, 0, /**/ 20, 0, 20, 0, /**/ 12, 0, 10, 0]);
  // A middle segment entered at a later index than it is left: Ultralytics reverses it, then rolls and
  // cuts the reversed array with the unreversed indices.
  const reversed = flat(mergeMultiSegment([[30, 0], [10, 0, 11, 0, 12, 0], [0, 0]]));
  // deno-fmt-ignore
  assert.deepEqual(reversed, [30, 0, 30, 0, /**/ 12, 0, 11, 0, 10, 0, /**/ 0, 0, 0, 0, /**/ 10, 0, 12, 0]);
  // Two segments: each is rolled to its closest point and closed.
  const two = flat(mergeMultiSegment([[0, 0, 1, 0], [5, 0, 6, 0]]));
  assert.deepEqual(two, [1, 0, 0, 0, 1, 0, 5, 0, 6, 0, 5, 0]);
});

Deno.test("polygons: masks2segments strategies 'all' (merged) and 'largest'", () => {
  const { mask, shape } = art(
    "##....",
    "##....",
    "......",
    "....##",
  );
  // OpenCV order: the bottom segment first, then the square.
  // Closest pair: (4, 3) and the square's 3rd point (1, 1); each part is rolled there and closed.
  assert.deepEqual(points(maskToSegment(mask, shape)), [
    [4, 3],
    [5, 3],
    [4, 3],
    [1, 1],
    [1, 0],
    [0, 0],
    [0, 1],
    [1, 1],
  ]);
  assert.deepEqual(points(maskToSegment(mask, shape, "largest")), [[0, 0], [0, 1], [1, 1], [1, 0]]);
});

Deno.test("polygons: masksXy scales letterbox contours to original pixels (half pixels from the pad)", () => {
  const { mask, shape } = art(
    "....",
    ".##.",
    ".##.",
    "....",
  );
  // a 3x4 image letterboxed into 4x4: pad (4 - 3) / 2 = 0.5 rows
  const [xy] = masksXy({ data: mask, shape: [1, ...shape] }, [3, 4]);
  assert.deepEqual(points(xy), [[1, 0.5], [1, 1.5], [2, 1.5], [2, 0.5]]);
  // retina-size masks: identity
  const [same] = masksXy({ data: mask, shape: [1, ...shape] }, [4, 4]);
  assert.deepEqual(points(same), [[1, 1], [1, 2], [2, 2], [2, 1]]);
});

Deno.test("polygons: tracing the reference masks reproduces Ultralytics' Masks.xy", async () => {
  const ref = await readReference();
  const f32 = Math.fround;
  const round2 = (v: number) => {
    // numpy's float32 round(x, 2): rint(x * 100) / 100 in float32, halves to even
    const s = f32(v * 100), r = Math.round(s);
    return f32((r - s === 0.5 && r % 2 !== 0 ? r - 1 : r) / 100);
  };
  let polygons = 0, coords = 0, worst = 0;
  for (const [group, name, e] of refImages(ref)) {
    e.masks_letterbox.forEach((rle, i) => {
      const [h, w] = rle.size;
      const [xy] = masksXy({ data: decodeRle(rle), shape: [1, h, w] }, e.orig_shape);
      const want = e.polygons[i];
      const at = `${group} ${name} #${i}`;
      assert.equal(xy.length / 2, want.length, `${at}: point count`);
      for (let j = 0; j < want.length; j++) {
        for (let c = 0; c < 2; c++) {
          worst = Math.max(worst, Math.abs(xy[2 * j + c] - want[j][c]));
          // The reference stores coordinates rounded to 2 decimals: equal after the same rounding.
          assert.equal(round2(xy[2 * j + c]), want[j][c], `${at}: point ${j}`);
          coords++;
        }
      }
      polygons++;
    });
  }
  assert.equal(polygons, 35);
  assert.ok(worst <= 0.00501, `worst point difference ${worst}`);
  console.log(
    `polygons: ${polygons} polygons, ${coords} coordinates equal after rounding; worst |diff| ${worst}`,
  );
});

Deno.test("polygons: the word-at-a-time foreground scan finds what the plain scan finds (widths, offsets)", () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const [h, w, offset] of [[40, 64, 0], [40, 64, 4], [33, 60, 8], [31, 37, 0], [20, 64, 3], [1, 8, 0]]) {
    for (let trial = 0; trial < 5; trial++) {
      const buf = new Uint8Array(offset + h * w);
      const mask = buf.subarray(offset);
      // a few random blobs, touching the borders sometimes
      for (let b = 0; b < 3; b++) {
        const y0 = Math.floor(next() * h), x0 = Math.floor(next() * w);
        const y1 = Math.min(h, y0 + 1 + Math.floor(next() * 9)),
          x1 = Math.min(w, x0 + 1 + Math.floor(next() * 9));
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) mask[y * w + x] = 1;
      }
      // Uint8Array (word scan when aligned) vs a plain array (always the plain scan)
      assert.deepEqual(
        findContours(mask, [h, w]),
        findContours(Array.from(mask), [h, w]),
        `${h}x${w}+${offset}`,
      );
    }
  }
});
