/**
 * conv_transpose2d GPU vs the CPU reference on seeded random shapes: k 2 (Proto) and 1/3, batch 2,
 * odd maps, 1x1 maps, channel counts not divisible by 4, channel-slice views in and out with base
 * offsets, several tiles and a folded dispatch. Tolerance: atol 1e-4 + rtol 1e-4 (f32 sums of <= 64
 * terms).
 */
import assert from "node:assert/strict";
import {
  convTranspose2d,
  convTranspose2dF16,
  type ConvTranspose2dOverrides,
  type ConvTranspose2dParams,
  convTranspose2dTile,
  packConvTranspose2dWeight,
} from "../../kernels/conv_transpose2d.ts";
import { convTranspose2d as convTranspose2dCpu } from "../../src/cpu/conv_transpose2d.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

const TOL = { atol: 1e-4, rtol: 1e-4 };
/** f16 in and out, f32 sums: the result is rounded to f16 (2^-11 relative), inputs are f16 values. */
const TOL_F16 = { atol: 2e-3, rtol: 2e-3 };

interface Case {
  batch?: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k?: number;
  /** Extra channels around the input/output views, and base offsets: [base, extra, offset]. */
  xView?: [number, number, number];
  yView?: [number, number, number];
  tile?: Partial<ConvTranspose2dOverrides>;
}

async function check(c: Case, seed: number, half = false): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const k = c.k ?? 2;
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const [yBase, yExtra, yOff] = c.yView ?? [0, 0, 0];
  const p: ConvTranspose2dParams = {
    batch,
    inH: c.h,
    inW: c.w,
    inC: c.cin,
    outC: c.cout,
    xBase,
    xStride: c.cin + xExtra,
    xOff,
    yBase,
    yStride: c.cout + yExtra,
    yOff,
  };
  const o: Partial<ConvTranspose2dOverrides> = { KSIZE: k, ...c.tile };
  const wShape = [c.cin, c.cout, k, k] as const;
  const w = h(randomArray(c.cin * c.cout * k * k, seed + 1, -0.5, 0.5));
  const b = h(randomArray(c.cout, seed + 2));
  const x = h(randomArray(xBase + batch * c.h * c.w * p.xStride + 3, seed + 3));
  const y0 = h(randomArray(yBase + batch * c.h * k * c.w * k * p.yStride + 5, seed + 4, 10, 11));
  const expected = y0.slice();
  convTranspose2dCpu({ x, w, b, y: expected }, p, o);
  if (half) expected.set(roundF16(expected));
  const got = await runKernel(half ? convTranspose2dF16 : convTranspose2d, {
    inputs: { x, w: packConvTranspose2dWeight(w, wShape), b },
    outputs: { y: y0 },
    params: p,
    overrides: o,
  });
  assertClose(got.y, expected, half ? TOL_F16 : TOL, `conv_transpose2d ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["Proto-like k2, 16 -> 16, 8x8", { h: 8, w: 8, cin: 16, cout: 16 }],
  ["k2, cin 13 -> cout 7, odd map 5x3, batch 2", { batch: 2, h: 5, w: 3, cin: 13, cout: 7 }],
  ["k2, 1x1 map, cout 5", { h: 1, w: 1, cin: 6, cout: 5 }],
  ["k2, 1x1 map, batch 2, cin 1", { batch: 2, h: 1, w: 1, cin: 1, cout: 3 }],
  ["k2, channel views in and out", {
    batch: 2,
    h: 4,
    w: 7,
    cin: 10,
    cout: 9,
    xView: [5, 6, 3],
    yView: [7, 11, 4],
  }],
  ["k3, 5 -> 6", { h: 3, w: 4, cin: 5, cout: 6, k: 3 }],
  ["k1 (plain 1x1 conv), 7 -> 4", { h: 3, w: 5, cin: 7, cout: 4, k: 1 }],
  ["k2, 64 -> 64 on 6x6, picked tile", {
    h: 6,
    w: 6,
    cin: 64,
    cout: 64,
    tile: convTranspose2dTile(64, 2, 36),
  }],
  ["k2, tile 8x8 BK 4, cin 37", { h: 5, w: 6, cin: 37, cout: 21, tile: { WG_M: 8, WG_N: 8, BK: 4 } }],
  ["k2, tile 4x4 BK 16, many column tiles", {
    h: 3,
    w: 3,
    cin: 20,
    cout: 40,
    tile: { WG_M: 4, WG_N: 4, BK: 16 },
  }],
  ["more than 65535 pixel tiles (folded dispatch)", {
    h: 512,
    w: 513,
    cin: 1,
    cout: 1,
    k: 1,
    tile: { WG_M: 1, WG_N: 1, BK: 1 },
  }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`conv_transpose2d: ${name}`, () => check(c, 7000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`conv_transpose2d_f16: ${name}`, () => check(c, 7000 * (i + 1), true));
});

Deno.test("conv_transpose2d: packConvTranspose2dWeight layout", () => {
  // cin 1, cout 2, k 2: w[0, co, di, dj] = 10 * co + tap; rows per tap padded to 4.
  const w = new Float32Array([0, 1, 2, 3, 10, 11, 12, 13]);
  const packed = packConvTranspose2dWeight(w, [1, 2, 2, 2]);
  assert.deepEqual([...packed], [0, 10, 0, 0, 1, 11, 0, 0, 2, 12, 0, 0, 3, 13, 0, 0]);
  assert.throws(() => packConvTranspose2dWeight(w, [1, 2, 2, 1]), RangeError);
  assert.throws(() => packConvTranspose2dWeight(w, [2, 2, 2, 2]), RangeError);
});

Deno.test("conv_transpose2d: validate rejects WG_M * WG_N not a multiple of BK", () => {
  assert.throws(
    () => convTranspose2d.validate!({ ...convTranspose2d.overrides, WG_M: 3, WG_N: 3, BK: 16 }),
    RangeError,
  );
});
