/**
 * dwconv2d GPU vs the CPU reference on seeded random shapes: kernel 3/5/7, stride 1/2, SiLU,
 * channels not divisible by 4, 1x1 maps, odd sizes, batch 2, channel-slice views in and out, a fused
 * residual read from its own view.
 * Tolerance: atol 1e-5 + rtol 1e-5 (sums of <= 49 terms).
 */
import assert from "node:assert/strict";
import { convOutSize } from "../../kernels/conv2d.ts";
import { dwconv2d, dwconv2dF16, type Dwconv2dParams, packDwconv2dWeight } from "../../kernels/dwconv2d.ts";
import { dwconv2d as dwconv2dCpu } from "../../src/cpu/dwconv2d.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

const TOL = { atol: 1e-5, rtol: 1e-5 };
/** f16 in and out, f32 sums: the result is rounded to f16 (2^-11 relative), inputs are f16 values. */
const TOL_F16 = { atol: 2e-3, rtol: 2e-3 };

interface Case {
  batch?: number;
  h: number;
  w: number;
  c: number;
  k: number;
  stride?: number;
  pad?: number;
  act?: number;
  xView?: [number, number, number];
  yView?: [number, number, number];
  /** Residual view [base, extra stride, offset]; residual off when absent. */
  rView?: [number, number, number];
}

async function check(c: Case, seed: number, half = false): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const stride = c.stride ?? 1;
  const pad = c.pad ?? Math.floor(c.k / 2);
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const [yBase, yExtra, yOff] = c.yView ?? [0, 0, 0];
  const outH = convOutSize(c.h, c.k, stride, pad);
  const outW = convOutSize(c.w, c.k, stride, pad);
  const [rBase, rExtra, rOff] = c.rView ?? [0, 0, 0];
  const p: Dwconv2dParams = {
    batch,
    inH: c.h,
    inW: c.w,
    channels: c.c,
    outH,
    outW,
    pad,
    xBase,
    xStride: c.c + xExtra,
    xOff,
    yBase,
    yStride: c.c + yExtra,
    yOff,
    rBase,
    rStride: c.c + rExtra,
    rOff,
  };
  const o = { KSIZE: c.k, STRIDE: stride, ACT: c.act ?? 0, RESIDUAL: c.rView ? 1 : 0 };
  const w = h(randomArray(c.c * c.k * c.k, seed + 1));
  const b = h(randomArray(c.c, seed + 2));
  const x = h(randomArray(xBase + batch * c.h * c.w * p.xStride + 3, seed + 3));
  const y0 = h(randomArray(yBase + batch * outH * outW * p.yStride + 5, seed + 4, 10, 11));
  const r = c.rView ? h(randomArray(rBase + batch * outH * outW * p.rStride + 2, seed + 5)) : undefined;
  const expected = y0.slice();
  dwconv2dCpu({ x, w, b, r, y: expected }, p, o);
  if (half) expected.set(roundF16(expected));
  const got = await runKernel(half ? dwconv2dF16 : dwconv2d, {
    inputs: { x, w: packDwconv2dWeight(w, [c.c, 1, c.k, c.k]), b, ...(r ? { r } : {}) },
    outputs: { y: y0 },
    params: p,
    overrides: o,
  });
  assertClose(got.y, expected, half ? TOL_F16 : TOL, `dwconv2d ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["3x3 s1, 16 ch", { h: 16, w: 16, c: 16, k: 3 }],
  ["3x3 s2, 6 ch, odd map, SiLU", { h: 9, w: 7, c: 6, k: 3, stride: 2, act: 1 }],
  ["5x5 s1, 13 ch, batch 2", { batch: 2, h: 8, w: 11, c: 13, k: 5 }],
  ["7x7 s1, 8 ch", { h: 10, w: 9, c: 8, k: 7, act: 1 }],
  ["7x7 s2 pad 0", { h: 15, w: 13, c: 5, k: 7, stride: 2, pad: 0 }],
  ["1x1 map, 3x3", { batch: 2, h: 1, w: 1, c: 7, k: 3 }],
  ["channel views in and out", {
    batch: 2,
    h: 6,
    w: 5,
    c: 10,
    k: 3,
    act: 1,
    xView: [7, 6, 5],
    yView: [3, 20, 11],
  }],
  ["residual from a channel view, batch 2", {
    batch: 2,
    h: 5,
    w: 7,
    c: 9,
    k: 3,
    yView: [1, 3, 2],
    rView: [4, 7, 5],
  }],
  ["residual with SiLU, stride 2", { h: 9, w: 8, c: 12, k: 3, stride: 2, act: 1, rView: [0, 0, 0] }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`dwconv2d: ${name}`, () => check(c, 2000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`dwconv2d_f16: ${name}`, () => check(c, 2000 * (i + 1), true));
});

Deno.test("dwconv2d: packDwconv2dWeight is tap-major, channel-fastest, padded to vec4", () => {
  // 2 channels, 1x2 taps is not square: rejected; 2 channels 1x1 pad to 4.
  assert.throws(() => packDwconv2dWeight(new Float32Array(4), [2, 1, 1, 2]), RangeError);
  const w = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]); // [2, 1, 2, 2]
  assert.deepEqual([...packDwconv2dWeight(w, [2, 1, 2, 2])], [
    1,
    5,
    0,
    0,
    2,
    6,
    0,
    0,
    3,
    7,
    0,
    0,
    4,
    8,
    0,
    0,
  ]);
});
