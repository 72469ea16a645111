/**
 * maxpool2d_cascade GPU vs its CPU reference (three chained `maxpool2d` CPU passes): SPPF's k5 at 20x20,
 * odd maps and channel counts, batch 2, maps smaller than the windows (1x1, 3x4), k3 and k1, and the three
 * outputs as channel slices of one concat buffer with a strided input view. Exact comparison (max is
 * exact); the buffer outside the three views is unchanged.
 */
import assert from "node:assert/strict";
import {
  maxpool2dCascade,
  maxpool2dCascadeF16,
  type Maxpool2dCascadeParams,
  maxpool2dCascadeVec4Fits,
} from "../../kernels/maxpool2d_cascade.ts";
import { maxpool2dCascade as cascadeCpu } from "../../src/cpu/maxpool2d_cascade.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

interface Case {
  batch?: number;
  h: number;
  w: number;
  c: number;
  k?: number;
  /** [base, extra channels, channel offset] of the input view. */
  xView?: [number, number, number];
  /** Channel offsets of the three outputs in a buffer of `yStride` channels per pixel (dense when absent). */
  ySlices?: { base: number; stride: number; offs: [number, number, number] };
  /**
   * SPPF as planned: the input is slice `xOff` of the outputs' buffer (`X_IN_Y`: read through y, x a dummy);
   * `xView` is then [y's base, its extra channels, the input's channel offset].
   */
  xInY?: boolean;
  /** Four channels per invocation (VEC4, entry point main4); the views must allow it. */
  vec4?: boolean;
}

async function check(c: Case, seed: number, half = false): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const ys = c.ySlices ?? { base: 0, stride: 3 * c.c, offs: [0, c.c, 2 * c.c] };
  const p: Maxpool2dCascadeParams = {
    batch,
    height: c.h,
    width: c.w,
    channels: c.c,
    xBase,
    xStride: c.c + xExtra,
    xOff,
    y1Base: ys.base,
    y1Stride: ys.stride,
    y1Off: ys.offs[0],
    y2Base: ys.base,
    y2Stride: ys.stride,
    y2Off: ys.offs[1],
    y3Base: ys.base,
    y3Stride: ys.stride,
    y3Off: ys.offs[2],
  };
  const o = { KSIZE: c.k ?? 5, X_IN_Y: c.xInY ? 1 : 0, VEC4: c.vec4 ? 1 : 0 };
  assert.equal(maxpool2dCascadeVec4Fits(p), c.vec4 ?? maxpool2dCascadeVec4Fits(p), "the case's views");
  const y0 = h(randomArray(ys.base + batch * c.h * c.w * ys.stride + 5, seed + 2, -5, 5));
  const x = c.xInY ? y0 : h(randomArray(xBase + batch * c.h * c.w * p.xStride + 3, seed + 1, -5, 5));
  const expected = y0.slice();
  cascadeCpu({ x: x.slice(), y: expected }, p, o);
  const got = await runKernel(half ? maxpool2dCascadeF16 : maxpool2dCascade, {
    inputs: c.xInY ? {} : { x },
    outputs: { y: y0 },
    params: p,
    overrides: o,
  });
  assertClose(got.y, expected, { atol: 0, rtol: 0 }, `maxpool2d_cascade ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["SPPF k5 at 20x20, 16 channels", { h: 20, w: 20, c: 16 }],
  ["odd map 9x5, 7 channels, batch 2", { batch: 2, h: 9, w: 5, c: 7 }],
  ["1x1 map", { h: 1, w: 1, c: 9 }],
  ["3x4 map, smaller than every window", { batch: 2, h: 3, w: 4, c: 5 }],
  ["k3 (windows 3, 5, 7)", { h: 11, w: 8, c: 6, k: 3 }],
  ["k1 (three copies)", { h: 4, w: 3, c: 3, k: 1 }],
  ["SPPF's concat: outputs are slices 1..3 of one buffer, strided input", {
    batch: 2,
    h: 7,
    w: 6,
    c: 8,
    xView: [4, 24, 2],
    ySlices: { base: 6, stride: 35, offs: [9, 17, 25] },
  }],
  ["VEC4 SPPF's concat with the input as its slice 0 (X_IN_Y), batch 2", {
    batch: 2,
    h: 7,
    w: 6,
    c: 8,
    xView: [4, 24, 0],
    ySlices: { base: 4, stride: 32, offs: [8, 16, 24] },
    xInY: true,
    vec4: true,
  }],
  ["VEC4 k3, strided input, 12 channels", {
    h: 9,
    w: 5,
    c: 12,
    k: 3,
    xView: [8, 4, 4],
    ySlices: { base: 0, stride: 40, offs: [4, 16, 28] },
    vec4: true,
  }],
  ["SPPF's concat with the input as its slice 0, read through y (X_IN_Y), batch 2", {
    batch: 2,
    h: 7,
    w: 6,
    c: 8,
    xView: [6, 27, 1],
    ySlices: { base: 6, stride: 35, offs: [9, 17, 25] },
    xInY: true,
  }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`maxpool2d_cascade: ${name}`, () => check(c, 5100 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`maxpool2d_cascade_f16: ${name}`, () => check(c, 5100 * (i + 1), true));
});

Deno.test("maxpool2d_cascade: validate rejects even windows; dispatch covers every element", () => {
  assert.throws(() => maxpool2dCascade.validate!({ KSIZE: 4, WG: 64, X_IN_Y: 0, VEC4: 0 }), RangeError);
  const p = { batch: 2, height: 20, width: 20, channels: 128 } as Maxpool2dCascadeParams;
  assert.deepEqual(maxpool2dCascade.dispatch(p, maxpool2dCascade.overrides), [1600, 1, 1]);
  assert.deepEqual(maxpool2dCascade.dispatch(p, { ...maxpool2dCascade.overrides, VEC4: 1 }), [400, 1, 1]);
});
