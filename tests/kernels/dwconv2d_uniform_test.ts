/**
 * dwconv2d_uniform GPU vs its CPU twin (the dwconv2d reference) on seeded random shapes: kernel
 * 1/2/3, stride 1/2, SiLU, channels not divisible by 4, widths not divisible by TM, 1x1 maps, odd
 * sizes, batch 2, channel-slice views in and out, a fused residual read from its own view, TM 1..4.
 * Tolerance: atol 1e-5 + rtol 1e-5 (sums of <= 9 terms).
 */
import assert from "node:assert/strict";
import { convOutSize } from "../../kernels/conv2d.ts";
import type { Dwconv2dParams } from "../../kernels/dwconv2d.ts";
import {
  dwconv2dUniform,
  dwconv2dUniformF16,
  dwconv2dUniformFits,
  dwconv2dUniformVec4Fits,
  packDwconv2dUniformWeight,
} from "../../kernels/dwconv2d_uniform.ts";
import { dwconv2dUniform as dwconv2dUniformCpu } from "../../src/cpu/dwconv2d_uniform.ts";
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
  tm?: number;
  wg?: number;
  xView?: [number, number, number];
  yView?: [number, number, number];
  /** Residual view [base, extra stride, offset]; residual off when absent. */
  rView?: [number, number, number];
  /** Run main4 (VEC4: vec4 loads and stores); the views must allow it. */
  vec4?: boolean;
}

async function check(c: Case, seed: number, half = false): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const stride = c.stride ?? 1;
  const pad = c.pad ?? Math.floor(c.k / 2);
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const [yBase, yExtra, yOff] = c.yView ?? [0, 0, 0];
  const [rBase, rExtra, rOff] = c.rView ?? [0, 0, 0];
  const outH = convOutSize(c.h, c.k, stride, pad);
  const outW = convOutSize(c.w, c.k, stride, pad);
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
  const o = {
    KSIZE: c.k,
    STRIDE: stride,
    ACT: c.act ?? 0,
    RESIDUAL: c.rView ? 1 : 0,
    ...(c.tm ? { TM: c.tm } : {}),
    ...(c.wg ? { WG: c.wg } : {}),
    ...(c.vec4 ? { VEC4: 1 } : {}),
  };
  if (c.vec4) assert.ok(dwconv2dUniformVec4Fits(p, !!c.rView), "the case's views allow VEC4");
  const w = randomArray(c.c * c.k * c.k, seed + 1);
  const b = randomArray(c.c, seed + 2);
  const x = h(randomArray(xBase + batch * c.h * c.w * p.xStride + 3, seed + 3));
  const y0 = h(randomArray(yBase + batch * outH * outW * p.yStride + 5, seed + 4, 10, 11));
  const r = c.rView ? h(randomArray(rBase + batch * outH * outW * p.rStride + 2, seed + 5)) : undefined;
  const expected = y0.slice();
  dwconv2dUniformCpu({ x, w, b, r, y: expected }, p, o);
  if (half) expected.set(roundF16(expected));
  const got = await runKernel(half ? dwconv2dUniformF16 : dwconv2dUniform, {
    inputs: { x, w: packDwconv2dUniformWeight(w, [c.c, 1, c.k, c.k], b), ...(r ? { r } : {}) },
    outputs: { y: y0 },
    params: p,
    overrides: o,
  });
  assertClose(got.y, expected, half ? TOL_F16 : TOL, `dwconv2d_uniform ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["3x3 s1, 16 ch", { h: 16, w: 16, c: 16, k: 3 }],
  ["3x3 s2, 6 ch, odd map, SiLU", { h: 9, w: 7, c: 6, k: 3, stride: 2, act: 1 }],
  ["3x3 s1, 13 ch, width 7, batch 2", { batch: 2, h: 8, w: 7, c: 13, k: 3, act: 1 }],
  ["1x1 map", { batch: 2, h: 1, w: 1, c: 5, k: 3 }],
  ["1x1 kernel, TM 3", { h: 4, w: 5, c: 9, k: 1, tm: 3 }],
  ["2x2 kernel s2 pad 0, TM 2", { h: 6, w: 10, c: 7, k: 2, stride: 2, pad: 0, tm: 2 }],
  ["TM 1, WG 4, 3 ch", { h: 5, w: 3, c: 3, k: 3, tm: 1, wg: 4 }],
  ["views in and out, residual (PSA pe)", {
    batch: 2,
    h: 6,
    w: 9,
    c: 12,
    k: 3,
    xView: [4, 8, 4],
    yView: [3, 12, 6],
    rView: [7, 4, 2],
  }],
  ["80 ch at 20x20 (head-like), SiLU", { h: 20, w: 20, c: 80, k: 3, act: 1 }],
  // VEC4 (main4): channels and views multiples of 4.
  ["VEC4 3x3 s1, 16 ch, width 7 (a partial tile), SiLU", { h: 5, w: 7, c: 16, k: 3, act: 1, vec4: true }],
  ["VEC4 3x3 s2, batch 2, views in and out, residual", {
    batch: 2,
    h: 7,
    w: 9,
    c: 8,
    k: 3,
    stride: 2,
    xView: [4, 8, 4],
    yView: [8, 4, 4],
    rView: [12, 12, 8],
    vec4: true,
  }],
  ["VEC4 1x1 kernel, TM 3", { h: 4, w: 5, c: 12, k: 1, tm: 3, vec4: true }],
  ["VEC4 2x2 kernel s2 pad 0, TM 2, WG 4", {
    h: 6,
    w: 10,
    c: 4,
    k: 2,
    stride: 2,
    pad: 0,
    tm: 2,
    wg: 4,
    vec4: true,
  }],
  ["VEC4 80 ch at 20x20 (head-like), SiLU", { h: 20, w: 20, c: 80, k: 3, act: 1, vec4: true }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`dwconv2d_uniform: ${name}`, () => check(c, 31000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`dwconv2d_uniform_f16: ${name}`, () => check(c, 31000 * (i + 1), true));
});

Deno.test("dwconv2d_uniform: the window holds the weights and bias or the op falls back to dwconv2d", () => {
  assert.equal(dwconv2dUniformFits(1636, 3), true);
  assert.equal(dwconv2dUniformFits(1640, 3), false);
  assert.throws(
    () => packDwconv2dUniformWeight(new Float32Array(9 * 1640), [1640, 1, 3, 3], new Float32Array(1640)),
    RangeError,
  );
  assert.throws(
    () => packDwconv2dUniformWeight(new Float32Array(9), [1, 1, 3, 3], new Float32Array(2)),
    RangeError,
  );
  assert.throws(() => dwconv2dUniform.validate!({ ...dwconv2dUniform.overrides, KSIZE: 5 }), RangeError);
});

Deno.test("dwconv2d_uniform stores results under 1e-30 in magnitude as 0 (SiLU's far negative tail), in main and main4", async () => {
  // A 1x1 depthwise conv with x = 1, so channel c is w[c] + b[c]: pre-activations -80, 1e-31, -60, 0.5; SiLU
  // would store ~-1.44e-33 and 5e-32 (flushed), ~-5.26e-25 and 0.311 (kept).
  const pre = [-80, 1e-31, -60, 0.5];
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const p: Dwconv2dParams = {
    batch: 1,
    inH: 1,
    inW: 3,
    channels: 4,
    outH: 1,
    outW: 3,
    pad: 0,
    xBase: 0,
    xStride: 4,
    xOff: 0,
    yBase: 0,
    yStride: 4,
    yOff: 0,
    rBase: 0,
    rStride: 4,
    rOff: 0,
  };
  assert.ok(dwconv2dUniformVec4Fits(p, false));
  for (const VEC4 of [0, 1]) {
    const { y } = await runKernel(dwconv2dUniform, {
      inputs: {
        x: new Float32Array(12).fill(1),
        w: packDwconv2dUniformWeight(new Float32Array(pre), [4, 1, 1, 1], new Float32Array(4)),
      },
      outputs: { y: new Float32Array(12).fill(7) },
      params: p,
      overrides: { KSIZE: 1, ACT: 1, VEC4 },
    });
    for (let px = 0; px < 3; px++) {
      const got = y.subarray(4 * px, 4 * px + 4);
      assert.ok(Object.is(got[0], 0) && Object.is(got[1], 0), `flushed: ${got}`);
      for (const c of [2, 3]) {
        assert.ok(
          Math.abs(got[c] - silu(pre[c])) <= 1e-5 * Math.abs(silu(pre[c])),
          `channel ${c}: ${got[c]}`,
        );
      }
    }
  }
});
