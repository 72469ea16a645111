/**
 * upsample_nearest GPU vs the CPU reference: scale 2 and 3, channels not divisible by 4, 1x1
 * maps, odd sizes, batch 2, channel-slice views (writing straight into a concat). Exact.
 */
import assert from "node:assert/strict";
import {
  upsampleNearest,
  upsampleNearestF16,
  type UpsampleNearestParams,
  upsampleNearestVec4Fits,
} from "../../kernels/upsample_nearest.ts";
import { upsampleNearest as upsampleNearestCpu } from "../../src/cpu/upsample_nearest.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

interface Case {
  batch?: number;
  h: number;
  w: number;
  c: number;
  scale?: number;
  xView?: [number, number, number];
  yView?: [number, number, number];
  /** Four channels per invocation (VEC4, entry point main4); the views must allow it. */
  vec4?: boolean;
}

async function check(c: Case, seed: number, half = false): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const scale = c.scale ?? 2;
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const [yBase, yExtra, yOff] = c.yView ?? [0, 0, 0];
  const p: UpsampleNearestParams = {
    batch,
    inH: c.h,
    inW: c.w,
    channels: c.c,
    xBase,
    xStride: c.c + xExtra,
    xOff,
    yBase,
    yStride: c.c + yExtra,
    yOff,
  };
  assert.equal(upsampleNearestVec4Fits(p), c.vec4 ?? upsampleNearestVec4Fits(p), "the case's views");
  const x = h(randomArray(xBase + batch * c.h * c.w * p.xStride + 3, seed + 1));
  const y0 = h(randomArray(yBase + batch * c.h * scale * c.w * scale * p.yStride + 5, seed + 2, 10, 11));
  const expected = y0.slice();
  upsampleNearestCpu({ x, y: expected }, p, { SCALE: scale });
  if (half) expected.set(roundF16(expected));
  const got = await runKernel(half ? upsampleNearestF16 : upsampleNearest, {
    inputs: { x },
    outputs: { y: y0 },
    params: p,
    overrides: { SCALE: scale, VEC4: c.vec4 ? 1 : 0 },
  });
  assertClose(got.y, expected, { atol: 0, rtol: 0 }, `upsample_nearest ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["2x, 16x16x16", { h: 16, w: 16, c: 16 }],
  ["2x odd map, 7 ch, batch 2", { batch: 2, h: 5, w: 3, c: 7 }],
  ["3x", { h: 4, w: 5, c: 6, scale: 3 }],
  ["1x1 map", { h: 1, w: 1, c: 5 }],
  ["into a concat slice", { batch: 2, h: 4, w: 4, c: 12, xView: [3, 4, 2], yView: [8, 20, 20] }],
  ["VEC4 into a concat slice, batch 2, odd map", {
    batch: 2,
    h: 3,
    w: 5,
    c: 16,
    xView: [4, 4, 0],
    yView: [8, 12, 8],
    vec4: true,
  }],
  ["VEC4 3x, 1x1 map", { h: 1, w: 1, c: 8, scale: 3, vec4: true }],
  ["VEC4 2x, 4 channels", { h: 4, w: 6, c: 4, vec4: true }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`upsample_nearest: ${name}`, () => check(c, 4000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`upsample_nearest_f16: ${name}`, () => check(c, 4000 * (i + 1), true));
});
