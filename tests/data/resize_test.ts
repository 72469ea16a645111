/**
 * `resizeBilinearU8` against OpenCV's 8-bit INTER_LINEAR arithmetic, written out by hand for tiny images
 * (the taps and the fixed-point formulas of `modules/imgproc/src/resize.cpp`), plus a bound against exact
 * float bilinear on random images.
 */
import assert from "node:assert/strict";
import { resizeBilinearU8 } from "../../src/data/resize.ts";
import { rand } from "../_rand.ts";

/**
 * OpenCV's vertical step for 8-bit linear resize (`VResizeLinear<uchar, int, short, ...>` and its SIMD
 * twin `VResizeLinearVec_32s8u`): horizontal sums `h0`, `h1` (weights summing to 2048), row weights `b0`, `b1`.
 */
const vstep = (h0: number, h1: number, b0: number, b1: number) =>
  (((b0 * (h0 >> 4)) >> 16) + ((b1 * (h1 >> 4)) >> 16) + 2) >> 2;

Deno.test("resizeBilinearU8: same size is a copy", () => {
  const img = {
    width: 3,
    height: 2,
    data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]),
  };
  const out = resizeBilinearU8(img, [3, 2]);
  assert.deepEqual(out, img);
  assert.notEqual(out.data, img.data);
});

Deno.test("resizeBilinearU8: 4x4 -> 2x2 is OpenCV's 2x2 block mean rounded half up, (a+b+c+d+2)>>2", () => {
  // scale 2 both ways: hal::resize switches INTER_LINEAR to the INTER_AREA fast path.
  const src = [
    1,
    1,
    10,
    11,
    0,
    0,
    12,
    13,
    255,
    254,
    3,
    4,
    255,
    255,
    5,
    5,
  ];
  const out = resizeBilinearU8({ width: 4, height: 4, data: Uint8Array.from(src) }, [2, 2]);
  // (1+1+0+0+2)>>2 = 1 (a mean of 0.5 rounds up), (10+11+12+13+2)>>2 = 12 (11.5 up),
  // (255+254+255+255+2)>>2 = 255 (254.75), (3+4+5+5+2)>>2 = 4 (4.25)
  assert.deepEqual([...out.data], [1, 12, 255, 4]);

  const chan = [(v: number) => v, (v: number) => 255 - v, (v: number) => (v * 7) % 256];
  const rgb = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => chan[i % 3](src[Math.floor(i / 3)]));
  const out3 = resizeBilinearU8({ width: 4, height: 4, data: rgb }, [2, 2]);
  const want3: number[] = [];
  for (const [y, x] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    for (let c = 0; c < 3; c++) {
      const p = (yy: number, xx: number) => rgb[(yy * 4 + xx) * 3 + c];
      want3.push(
        (p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1) + 2) >> 2,
      );
    }
  }
  assert.deepEqual([...out3.data], want3);
});

/*
 * 3 -> 5 (both ways): scale = 1 / (5 / 3) = 0.6; per output d: f = (float)((d + 0.5) * 0.6 - 0.5),
 * s = floor(f), f -= s, weights round_half_even((1 - f) * 2048), round_half_even(f * 2048):
 *   d=0: f=-0.2 → s=-1, f=0.8 → columns clamp to s=0, f=0: (2048, 0); rows keep f: rows (0, 0) (410, 1638)
 *   d=1: f=0.4  → s=0: (1229, 819)
 *   d=2: f=1.0  → s=1: (2048, 0)
 *   d=3: f=1.6  → s=1, f=0.6: (819, 1229)
 *   d=4: f=2.2  → s=2, f=0.2 → columns clamp to s=2, f=0: (2048, 0); rows (2, 2) (1638, 410)
 */
const XTAPS: [number, number, number][] = [[0, 2048, 0], [0, 1229, 819], [1, 2048, 0], [1, 819, 1229], [
  2,
  2048,
  0,
]];
const YTAPS: [number, number, number, number][] = [
  [0, 0, 410, 1638],
  [0, 1, 1229, 819],
  [1, 2, 2048, 0],
  [1, 2, 819, 1229],
  [2, 2, 1638, 410],
];

function upscale3to5(
  src: number[],
  round: (h0: number, h1: number, b0: number, b1: number) => number,
): number[] {
  const hrow = (r: number) =>
    XTAPS.map(([s, a0, a1]) => src[r * 3 + s] * a0 + (a1 ? src[r * 3 + s + 1] * a1 : 0));
  return YTAPS.flatMap(([r0, r1, b0, b1]) => {
    const h0 = hrow(r0), h1 = hrow(r1);
    return h0.map((v, i) => round(v, h1[i], b0, b1));
  });
}

Deno.test("resizeBilinearU8: 3x3 -> 5x5 follows OpenCV's taps and fixed-point vertical step", () => {
  const src = [4, 188, 237, 158, 109, 170, 235, 184, 249];
  const out = resizeBilinearU8({ width: 3, height: 3, data: Uint8Array.from(src) }, [5, 5]);
  const want = upscale3to5(src, vstep);
  assert.deepEqual([...out.data], want);
  // The plain rounding (h0*b0 + h1*b1 + 2^21) >> 22 differs on this image: the test tells them apart.
  const naive = upscale3to5(src, (h0, h1, b0, b1) => (h0 * b0 + h1 * b1 + (1 << 21)) >> 22);
  assert.equal(want.filter((v, i) => v !== naive[i]).length, 3);
  assert.deepEqual(want.slice(0, 5), [4, 78, 188, 217, 237]);
});

Deno.test("resizeBilinearU8: channels are interpolated independently", () => {
  const src = [4, 188, 237, 158, 109, 170, 235, 184, 249];
  const rgb = Uint8Array.from(
    { length: 27 },
    (_, i) => i % 3 === 0 ? src[i / 3] : i % 3 === 1 ? 255 - src[(i - 1) / 3] : 7,
  );
  const out = resizeBilinearU8({ width: 3, height: 3, data: rgb }, [5, 5]);
  const r = upscale3to5(src, vstep), g = upscale3to5(src.map((v) => 255 - v), vstep);
  const b = upscale3to5(src.map(() => 7), vstep);
  assert.deepEqual([...out.data], r.flatMap((v, i) => [v, g[i], b[i]]));
});

Deno.test("resizeBilinearU8: within 1 of exact float bilinear (half-pixel centers) on random images", () => {
  const r = rand(11);
  for (const [sw, sh, dw, dh] of [[37, 23, 16, 11], [16, 11, 37, 23], [9, 30, 20, 7], [64, 48, 50, 50]]) {
    const data = Uint8Array.from({ length: sw * sh * 3 }, () => Math.floor(r() * 256));
    const out = resizeBilinearU8({ width: sw, height: sh, data }, [dw, dh]);
    assert.deepEqual([out.width, out.height, out.data.length], [dw, dh, dw * dh * 3]);
    const coord = (d: number, n: number, m: number) =>
      Math.min(Math.max((d + 0.5) * (n / m) - 0.5, 0), n - 1);
    for (let y = 0; y < dh; y++) {
      const fy = coord(y, sh, dh), y0 = Math.floor(fy), y1 = Math.min(y0 + 1, sh - 1), wy = fy - y0;
      for (let x = 0; x < dw; x++) {
        const fx = coord(x, sw, dw), x0 = Math.floor(fx), x1 = Math.min(x0 + 1, sw - 1), wx = fx - x0;
        for (let c = 0; c < 3; c++) {
          const p = (yy: number, xx: number) => data[(yy * sw + xx) * 3 + c];
          const v = (p(y0, x0) * (1 - wx) + p(y0, x1) * wx) * (1 - wy) +
            (p(y1, x0) * (1 - wx) + p(y1, x1) * wx) * wy;
          const got = out.data[(y * dw + x) * 3 + c];
          assert.ok(Math.abs(got - v) <= 1, `${sw}x${sh}->${dw}x${dh} at (${x}, ${y}, ${c}): ${got} vs ${v}`);
        }
      }
    }
  }
});

Deno.test("resizeBilinearU8: bad sizes are RangeErrors", () => {
  const img = { width: 2, height: 2, data: new Uint8Array(12) };
  assert.throws(() => resizeBilinearU8(img, [0, 2]), RangeError);
  assert.throws(() => resizeBilinearU8(img, [2.5, 2]), RangeError);
  assert.throws(() => resizeBilinearU8({ width: 2, height: 2, data: new Uint8Array(5) }, [1, 1]), RangeError);
});
