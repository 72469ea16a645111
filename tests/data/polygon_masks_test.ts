import assert from "node:assert/strict";
import { fillPoly } from "../../src/data/fill_poly.ts";
import { resizeBilinearU8 } from "../../src/data/resize.ts";
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

Deno.test("polygonToMask: drawing only the polygon's window gives the whole image's pixels", () => {
  // The reference: the whole image filled, then downsampled (what polygon2mask does).
  const whole = (h: number, w: number, poly: number[], ratio: number) => {
    const full = { width: w, height: h, data: new Uint8Array(w * h) };
    fillPoly(full, [Int32Array.from(poly, Math.trunc)], 1);
    const nh = Math.floor(h / ratio), nw = Math.floor(w / ratio);
    return nh === h && nw === w ? full.data : resizeBilinearU8(full, [nw, nh]).data;
  };
  const rand = seeded(11);
  let windowed = 0;
  for (let t = 0; t < 400; t++) {
    const ratio = t % 5 === 0 ? 1 : 4;
    // mostly multiples of 4 (the window path); some not (the whole-image path)
    const h = 40 + (t % 7 === 0 ? 1 + Math.floor(rand() * 3) : 4 * Math.floor(rand() * 12));
    const w = 40 + (t % 11 === 0 ? 2 : 4 * Math.floor(rand() * 12));
    // small to large polygons, centred anywhere from well outside to inside, self-intersecting at times
    const size = [3, 10, 30, 80][t % 4];
    const cx = -0.3 * w + rand() * 1.6 * w, cy = -0.3 * h + rand() * 1.6 * h;
    const n = 3 + Math.floor(rand() * (t % 3 === 0 ? 40 : 8));
    const poly = Array.from({ length: 2 * n }, (_, i) => (i % 2 ? cy : cx) + (rand() - 0.5) * size);
    const got = polygonToMask([h, w], poly, ratio);
    assert.deepEqual(got, whole(h, w, poly, ratio), `case ${t}: ${h}x${w} ratio ${ratio}`);
    if (h % 4 === 0 && w % 4 === 0) windowed++;
  }
  assert.ok(windowed > 300);
  // vertices exactly on the image's edges and corners
  for (
    const poly of [[0, 0, 39, 0, 39, 39], [0, 20, 20, 0, 39, 20, 20, 39], [-5, -5, 44, -5, 44, 44, -5, 44]]
  ) {
    assert.deepEqual(polygonToMask([40, 40], poly, 4), whole(40, 40, poly, 4));
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
