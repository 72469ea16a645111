/**
 * conv2d_splitk_reduce GPU vs the CPU reference on seeded random partial sums: slices 2/3/8, SiLU, residual,
 * channel views, NCHW output, the upsampled copy (UP_R), batch 2, f32 and f16. (tests/kernels/conv2d_test.ts runs it after split conv2d.)
 */
import {
  conv2dSplitkReduce,
  conv2dSplitkReduceF16,
  type Conv2dSplitkReduceParam,
} from "../../kernels/conv2d_splitk_reduce.ts";
import { conv2dSplitkReduce as reduceCpu } from "../../src/cpu/conv2d_splitk_reduce.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

interface Case {
  batch: number;
  h: number;
  w: number;
  c: number;
  slices: number;
  act?: number;
  residual?: boolean;
  outNchw?: boolean;
  yView?: [number, number, number];
  rView?: [number, number, number];
  /** conv2d's UP_R: r is then the upsampled copy (a map `up` times larger), written. */
  up?: number;
}

async function check(k: Case, seed: number, half: boolean): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const [yBase, yExtra, yOff] = k.yView ?? [0, 0, 0];
  const [rBase, rExtra, rOff] = k.rView ?? [0, 0, 0];
  const pixels = k.batch * k.h * k.w;
  const params: Record<Conv2dSplitkReduceParam, number> = {
    batch: k.batch,
    outH: k.h,
    outW: k.w,
    outC: k.c,
    yBase,
    yStride: k.c + yExtra,
    yOff,
    rBase,
    rStride: k.c + rExtra,
    rOff,
  };
  const overrides = {
    KSPLIT: k.slices,
    ACT: k.act ?? 0,
    RESIDUAL: k.residual ? 1 : 0,
    OUT_NCHW: k.outNchw ? 1 : 0,
    UP_R: k.up ?? 0,
  };
  const p = randomArray(k.slices * pixels * k.c, seed, -2, 2);
  const b = h(randomArray(k.c, seed + 1));
  const r = h(randomArray(rBase + pixels * (k.up ?? 1) ** 2 * params.rStride + 3, seed + 2));
  const y0 = h(randomArray(yBase + pixels * params.yStride + 4, seed + 3, 10, 11));
  const expected = y0.slice();
  const expectedR = r.slice();
  reduceCpu({ p, b, r: k.up ? expectedR : r, y: expected }, params, overrides);
  const got = await runKernel(half ? conv2dSplitkReduceF16 : conv2dSplitkReduce, {
    inputs: { p, b, ...(k.residual || k.up ? { r } : {}) },
    outputs: { y: y0, ...(k.up ? { r } : {}) },
    params,
    overrides: { ...overrides, WG: 64 },
  });
  const tol = half ? { atol: 4e-3, rtol: 2e-3 } : { atol: 1e-5, rtol: 1e-5 };
  assertClose(got.y, half ? roundF16(expected) : expected, tol, JSON.stringify(k));
  if (k.up) assertClose(got.r, half ? roundF16(expectedR) : expectedR, tol, `r ${JSON.stringify(k)}`);
}

const cases: [string, Case][] = [
  ["2 slices, SiLU", { batch: 1, h: 5, w: 7, c: 12, slices: 2, act: 1 }],
  ["3 slices, residual, views, batch 2", {
    batch: 2,
    h: 4,
    w: 3,
    c: 10,
    slices: 3,
    act: 1,
    residual: true,
    yView: [5, 6, 2],
    rView: [1, 3, 3],
  }],
  ["8 slices, NCHW out into a channel slice", {
    batch: 2,
    h: 3,
    w: 6,
    c: 9,
    slices: 8,
    outNchw: true,
    yView: [2, 4, 1],
  }],
  ["2 slices, SiLU, the copy upsampled x2 into a channel slice, batch 2", {
    batch: 2,
    h: 3,
    w: 5,
    c: 7,
    slices: 2,
    act: 1,
    up: 2,
    yView: [3, 2, 1],
    rView: [4, 5, 3],
  }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`conv2d_splitk_reduce: ${name}`, () => check(c, 100 * (i + 1), false));
  Deno.test(`conv2d_splitk_reduce_f16: ${name}`, () => check(c, 100 * (i + 1), true));
});
