/**
 * maxpool2d GPU vs the CPU reference: SPPF's k5 s1 p2, other windows and strides, channels not
 * divisible by 4, 1x1 maps, odd sizes, batch 2, channel-slice views (SPPF's in-place concat).
 * Exact comparison (max is exact).
 */
import { convOutSize } from "../../kernels/conv2d.ts";
import { maxpool2d, maxpool2dF16, type Maxpool2dParams } from "../../kernels/maxpool2d.ts";
import { maxpool2d as maxpool2dCpu } from "../../src/cpu/maxpool2d.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

interface Case {
  batch?: number;
  h: number;
  w: number;
  c: number;
  k: number;
  stride?: number;
  pad?: number;
  xView?: [number, number, number];
  yView?: [number, number, number];
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
  const p: Maxpool2dParams = {
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
  };
  const o = { KSIZE: c.k, STRIDE: stride };
  const x = h(randomArray(xBase + batch * c.h * c.w * p.xStride + 3, seed + 1, -5, 5));
  const y0 = h(randomArray(yBase + batch * outH * outW * p.yStride + 5, seed + 2, 10, 11));
  const expected = y0.slice();
  maxpool2dCpu({ x, y: expected }, p, o);
  if (half) expected.set(roundF16(expected));
  const got = await runKernel(half ? maxpool2dF16 : maxpool2d, {
    inputs: { x },
    outputs: { y: y0 },
    params: p,
    overrides: o,
  });
  assertClose(got.y, expected, { atol: 0, rtol: 0 }, `maxpool2d ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["SPPF k5 s1 p2, 16x16x16", { h: 16, w: 16, c: 16, k: 5 }],
  ["k5 odd map, 7 ch, batch 2", { batch: 2, h: 9, w: 5, c: 7, k: 5 }],
  ["k3 s2 p1", { h: 11, w: 8, c: 5, k: 3, stride: 2 }],
  ["k2 s2 p0", { h: 8, w: 6, c: 3, k: 2, stride: 2, pad: 0 }],
  ["1x1 map k5", { h: 1, w: 1, c: 9, k: 5 }],
  ["SPPF chain views: slice 1 -> slice 2 of a concat", {
    batch: 2,
    h: 6,
    w: 6,
    c: 8,
    k: 5,
    xView: [4, 24, 8],
    yView: [4, 24, 16],
  }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`maxpool2d: ${name}`, () => check(c, 3000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`maxpool2d_f16: ${name}`, () => check(c, 3000 * (i + 1), true));
});
