import assert from "node:assert/strict";
import { fillPoly } from "../../src/data/fill_poly.ts";
import { polygonsToOverlapMask, polygonToMask, resampleSegments } from "../../src/data/polygon_masks.ts";
import { rand as seeded } from "../_rand.ts";

Deno.test("resampleSegments: n points, the closed polygon's vertices in order, the rest on its edges", () => {
  const rand = seeded(7);
  for (let t = 0; t < 20; t++) {
    const len = 3 + Math.floor(rand() * 30);
    const seg = Float32Array.from({ length: 2 * len }, () => rand());
    const n = 50 + Math.floor(rand() * 60);
    const [r] = resampleSegments([seg], n);
    assert.equal(r.length, 2 * n);
    // every original vertex (and the closing one) appears, in order
    const closed = [...seg, seg[0], seg[1]];
    let k = 0;
    for (let i = 0; i < n && k < len + 1; i++) {
      if (r[2 * i] === closed[2 * k] && r[2 * i + 1] === closed[2 * k + 1]) k++;
    }
    assert.equal(k, len + 1, "vertices kept in order");
    // the first and last points are the start vertex
    assert.deepEqual([r[0], r[1], r[2 * n - 2], r[2 * n - 1]], [seg[0], seg[1], seg[0], seg[1]]);
  }
  // exactly n points: unchanged
  const same = Float32Array.from([0, 0, 1, 0, 1, 1]);
  assert.deepEqual(resampleSegments([same], 3)[0], same);
});

Deno.test("polygonToMask downsamples 4x as INTER_LINEAR: set where 2 of the 4 blended pixels are", () => {
  const rand = seeded(3);
  for (let t = 0; t < 20; t++) {
    const h = 32 + 4 * Math.floor(rand() * 8), w = 32 + 4 * Math.floor(rand() * 8);
    const poly = Array.from({ length: 2 * (3 + Math.floor(rand() * 6)) }, (_, i) => rand() * (i % 2 ? h : w));
    const full = { width: w, height: h, data: new Uint8Array(w * h) };
    fillPoly(full, [poly.map(Math.trunc)], 1);
    const small = polygonToMask([h, w], poly, 4);
    assert.equal(small.length, (h / 4) * (w / 4));
    for (let y = 0; y < h / 4; y++) {
      for (let x = 0; x < w / 4; x++) {
        const at = (yy: number, xx: number) => full.data[yy * w + xx];
        const n = at(4 * y + 1, 4 * x + 1) + at(4 * y + 1, 4 * x + 2) + at(4 * y + 2, 4 * x + 1) +
          at(4 * y + 2, 4 * x + 2);
        assert.equal(small[y * (w / 4) + x], n >= 2 ? 1 : 0, `case ${t} (${x}, ${y})`);
      }
    }
  }
});

Deno.test("polygonsToOverlapMask: larger instances numbered first, smaller ones drawn on top", () => {
  const square = (x: number, y: number, s: number) => [x, y, x + s, y, x + s, y + s, x, y + s];
  // instance 0 small (inside instance 1), instance 1 large, instance 2 medium and apart
  const { mask, shape, order } = polygonsToOverlapMask(
    [64, 64],
    [square(8, 8, 8), square(0, 0, 32), square(40, 40, 16)],
    4,
  );
  assert.deepEqual(shape, [16, 16]);
  assert.deepEqual(order, [1, 2, 0]);
  assert.equal(mask[1 * 16 + 1], 1); // the large square only
  assert.equal(mask[3 * 16 + 3], 3); // inside the small square: the small one (numbered 3) wins
  assert.equal(mask[12 * 16 + 12], 2); // the medium square
  assert.equal(mask[15 * 16 + 0], 0); // background
});
