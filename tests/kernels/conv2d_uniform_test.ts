/**
 * conv2d_uniform GPU vs its CPU twin, one dispatch per output-channel chunk (each must write only its
 * chunk), on seeded random shapes: kernel 1/3/5, stride 1/2, groups and depthwise, SiLU, residual,
 * channel-slice views in and out, NCHW in/out, 1x1 maps, odd sizes, channels not divisible by 4,
 * batch 2, every TM and several TN4, and the network's widest layers. Tolerance: atol 1e-4 + rtol 1e-4 (f32 sums of
 * <= 1152 terms).
 */
import assert from "node:assert/strict";
import { entryPointOf } from "../../kernels/_spec.ts";
import { convOutSize } from "../../kernels/conv2d.ts";
import type { ConvTranspose2dParams } from "../../kernels/conv_transpose2d.ts";
import {
  conv2dUniform,
  conv2dUniformChunks,
  conv2dUniformF16,
  type Conv2dUniformOverrides,
  type Conv2dUniformParams,
  conv2dUniformSlices,
  conv2dUniformSubgroups,
  conv2dUniformSubgroupsF16,
  conv2dUniformTile,
  conv2dUniformVec4In,
  conv2dUniformVec4Out,
  packConv2dUniformWeight,
  transposedTapWeight,
} from "../../kernels/conv2d_uniform.ts";
import { conv2dUniform as conv2dUniformCpu } from "../../src/cpu/conv2d_uniform.ts";
import { convTranspose2d as convTranspose2dCpu } from "../../src/cpu/conv_transpose2d.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel, testGpu } from "../_gpu.ts";
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
  k: number;
  stride?: number;
  pad?: number;
  groups?: number;
  act?: number;
  residual?: boolean;
  inNchw?: boolean;
  outNchw?: boolean;
  /** Base offset, extra channels and channel offset of the input/output/residual views. */
  xView?: [number, number, number];
  yView?: [number, number, number];
  rView?: [number, number, number];
  /** TM, TN4, WG and input-channel slices; TN4 and slices default to the planner's choice. */
  tm?: number;
  tn4?: number;
  wg?: number;
  slices?: number;
  /** Run the ROW mapping (TM neighbouring pixels of a row per invocation). */
  row?: boolean;
  /**
   * The residual's view lies in y's buffer, `cout` channels after y's view (`residual` 2: read through y, r a
   * dummy; give `yView` at least `cout` extra channels past its offset).
   */
  rInY?: boolean;
  /** Store four channels at a time (VEC4_OUT, entry point main4); the views must allow it. */
  vec4?: boolean;
  /** Load four input channels at a time (VEC4_IN, entry points mainIn4 / main4In4); each chunk must allow it. */
  vec4In?: boolean;
}

/** Which conv2d_uniform runs: the plain kernel or its subgroup variant (weights through shuffles). */
type Variant = "plain" | "subgroups";

/** The kernel spec of a variant, f16 with `half`. */
function specOf(variant: Variant, half: boolean): typeof conv2dUniform {
  if (variant === "subgroups") return half ? conv2dUniformSubgroupsF16 : conv2dUniformSubgroups;
  return half ? conv2dUniformF16 : conv2dUniform;
}

async function check(c: Case, seed: number, half = false, variant: Variant = "plain"): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const stride = c.stride ?? 1;
  const pad = c.pad ?? Math.floor(c.k / 2);
  const groups = c.groups ?? 1;
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const [yBase, yExtra, yOff] = c.yView ?? [0, 0, 0];
  const [rBase, rExtra, rOff] = c.rInY ? [yBase, yExtra, yOff + c.cout] : c.rView ?? [0, 0, 0];
  const outH = convOutSize(c.h, c.k, stride, pad);
  const outW = convOutSize(c.w, c.k, stride, pad);
  const cinG = c.cin / groups;
  const tn4 = c.tn4 ?? conv2dUniformTile(c.cout / groups);
  const slices = c.slices ?? conv2dUniformSlices(cinG, c.k, tn4);
  if (c.vec4) {
    const view = {
      outC: c.cout,
      groups,
      yBase,
      yStride: c.cout + yExtra,
      yOff,
      rBase,
      rStride: c.cout + rExtra,
      rOff,
      residual: c.residual ? 1 : 0,
    };
    assert.ok(conv2dUniformVec4Out(view, { OUT_NCHW: c.outNchw ? 1 : 0 }), "vec4 views");
  }
  type Chunked = "coBase" | "coCount" | "ciBase" | "ciCount" | "accumulate" | "finish" | "phaseY" | "phaseX";
  const base: Omit<Conv2dUniformParams, Chunked> = {
    batch,
    inH: c.h,
    inW: c.w,
    inC: c.cin,
    outH,
    outW,
    outC: c.cout,
    groups,
    pad,
    xBase,
    xStride: c.cin + xExtra,
    xOff,
    yBase,
    yStride: c.cout + yExtra,
    yOff,
    rBase,
    rStride: c.cout + rExtra,
    rOff,
    act: c.act ?? 0,
    residual: c.residual ? (c.rInY ? 2 : 1) : 0,
  };
  const o: Partial<Conv2dUniformOverrides> = {
    KSIZE: c.k,
    STRIDE: stride,
    IN_NCHW: c.inNchw ? 1 : 0,
    OUT_NCHW: c.outNchw ? 1 : 0,
    TN4: tn4,
    ...(c.wg ? { WG: c.wg } : {}),
    ...(c.tm ? { TM: c.tm } : {}),
    ...(c.row ? { ROW: 1 } : {}),
    ...(c.vec4 ? { VEC4_OUT: 1 } : {}),
    ...(c.vec4In ? { VEC4_IN: 1 } : {}),
  };
  const wShape = [c.cout, cinG, c.k, c.k] as const;
  const w = randomArray(c.cout * cinG * c.k * c.k, seed + 1, -0.5, 0.5);
  const b = randomArray(c.cout, seed + 2);
  const x = h(randomArray(xBase + batch * c.h * c.w * base.xStride + 3, seed + 3));
  const packed = packConv2dUniformWeight(w, wShape, { groups, tn4, slices, bias: b });
  let expected = h(randomArray(yBase + batch * outH * outW * base.yStride + 5, seed + 4, 10, 11));
  // With rInY the residual is y's buffer itself (channels the chunks never write).
  const r = c.rInY ? expected : h(randomArray(rBase + batch * outH * outW * base.rStride + 2, seed + 5));
  let got = expected;
  const chunks = conv2dUniformChunks(c.cout, cinG, c.k, groups, tn4, slices);
  for (const { offset, ...chunk } of chunks) {
    const p = { ...base, ...chunk, phaseY: 0, phaseX: 0 };
    if (c.vec4In) {
      assert.ok(conv2dUniformVec4In(p, { IN_NCHW: 0 }), `vec4 input views ${JSON.stringify(chunk)}`);
    }
    expected = expected.slice();
    conv2dUniformCpu({ x, w, b, r, y: expected }, p, o);
    if (half) expected.set(roundF16(expected));
    got = (await runKernel(specOf(variant, half), {
      inputs: { x, w: packed, ...(c.residual && !c.rInY ? { r } : {}) },
      ranges: { w: { offset, size: 65536 } },
      outputs: { y: got },
      params: p,
      overrides: o,
    })).y;
    assertClose(
      got,
      expected,
      half ? TOL_F16 : TOL,
      `conv2d_uniform ${variant} ${JSON.stringify(c)} chunk ${JSON.stringify(chunk)}`,
    );
  }
}

const cases: [string, Case][] = [
  ["residual in y's buffer (residual 2: a Bottleneck writing into the concat holding its input), 2 slices", {
    batch: 2,
    h: 5,
    w: 6,
    cin: 40,
    cout: 8,
    k: 3,
    act: 1,
    residual: true,
    rInY: true,
    yView: [3, 11, 2],
    slices: 2,
  }],
  ["1x1, cin 13 -> cout 7", { h: 8, w: 8, cin: 13, cout: 7, k: 1 }],
  ["3x3 s1, odd map 9x7, batch 2, SiLU", { batch: 2, h: 9, w: 7, cin: 5, cout: 7, k: 3, act: 1 }],
  ["3x3 s2, 16 -> 32, channel views in and out", {
    h: 16,
    w: 16,
    cin: 16,
    cout: 32,
    k: 3,
    stride: 2,
    act: 1,
    xView: [5, 8, 3],
    yView: [7, 32, 32],
  }],
  ["5x5 s1 pad 2, 8 -> 12", { h: 11, w: 10, cin: 8, cout: 12, k: 5 }],
  ["5x5 s2 pad 0, odd sizes", { h: 13, w: 9, cin: 3, cout: 5, k: 5, stride: 2, pad: 0 }],
  ["groups 2, 8 -> 12", { h: 7, w: 6, cin: 8, cout: 12, k: 3, groups: 2, act: 1 }],
  ["groups 4, 16 -> 8, stride 2", { batch: 2, h: 9, w: 9, cin: 16, cout: 8, k: 3, stride: 2, groups: 4 }],
  ["depthwise, 6 ch", { h: 8, w: 5, cin: 6, cout: 6, k: 3, groups: 6 }],
  ["residual after SiLU (Bottleneck), views", {
    batch: 2,
    h: 10,
    w: 12,
    cin: 16,
    cout: 16,
    k: 3,
    act: 1,
    residual: true,
    xView: [0, 16, 16],
    yView: [3, 16, 0],
    rView: [9, 8, 4],
  }],
  ["1x1 map with 3x3 pad 1", { batch: 2, h: 1, w: 1, cin: 10, cout: 6, k: 3 }],
  ["1x1 map, 1x1 kernel", { h: 1, w: 1, cin: 4, cout: 9, k: 1, act: 1 }],
  ["IN_NCHW network input 3 ch, s2", {
    batch: 2,
    h: 15,
    w: 13,
    cin: 3,
    cout: 16,
    k: 3,
    stride: 2,
    act: 1,
    inNchw: true,
  }],
  ["IN_NCHW channel slice", { h: 6, w: 7, cin: 3, cout: 5, k: 3, inNchw: true, xView: [11, 2, 1] }],
  ["OUT_NCHW output1-like, 16 -> 32 1x1 into a slice", {
    batch: 2,
    h: 8,
    w: 6,
    cin: 16,
    cout: 32,
    k: 1,
    outNchw: true,
    yView: [4, 3, 2],
  }],
  ["64 -> 64 3x3 (proto.cv2-like), 2 chunks x 2 slices", { h: 12, w: 11, cin: 64, cout: 64, k: 3, act: 1 }],
  ["128 -> 256 3x3 s2, 8 chunks x 3 slices", { h: 6, w: 5, cin: 128, cout: 256, k: 3, stride: 2, act: 1 }],
  ["256 -> 64 3x3 (cv2.2.0-like), 5 slices, batch 2", { batch: 2, h: 3, w: 4, cin: 256, cout: 64, k: 3 }],
  ["slices with residual, SiLU and views (59 ch in 3 slices)", {
    h: 5,
    w: 7,
    cin: 59,
    cout: 22,
    k: 3,
    act: 1,
    residual: true,
    slices: 3,
    xView: [2, 5, 3],
    yView: [3, 6, 2],
    rView: [1, 4, 4],
  }],
  ["slices with groups 2 and NCHW in and out", {
    batch: 2,
    h: 6,
    w: 5,
    cin: 10,
    cout: 6,
    k: 3,
    groups: 2,
    slices: 2,
    inNchw: true,
    outNchw: true,
    yView: [4, 3, 1],
  }],
  ["slices of a 1x1 conv, one channel each", { h: 4, w: 3, cin: 3, cout: 9, k: 1, act: 1, slices: 3 }],
  ["256 -> 256 1x1, TN4 8", { h: 3, w: 4, cin: 256, cout: 256, k: 1 }],
  ["TM 1, TN4 1, WG 8, 30 channels", { h: 5, w: 9, cin: 24, cout: 30, k: 3, tm: 1, tn4: 1, wg: 8 }],
  ["TM 2, TN4 5, WG 32, 10 channels", { h: 7, w: 7, cin: 9, cout: 10, k: 3, tm: 2, tn4: 5, wg: 32 }],
  ["TM 3, TN4 7, WG 16, 64 channels, batch 2", {
    batch: 2,
    h: 4,
    w: 6,
    cin: 12,
    cout: 64,
    k: 3,
    tm: 3,
    tn4: 7,
    wg: 16,
  }],
  ["TM 4, WG 4, a map of 17 pixels (partial tile)", { h: 1, w: 17, cin: 6, cout: 20, k: 3, tm: 4, wg: 4 }],
  ["TM 8, WG 4, 3x3 s2, batch 2 (partial tile)", {
    batch: 2,
    h: 9,
    w: 7,
    cin: 7,
    cout: 36,
    k: 3,
    stride: 2,
    tm: 8,
    wg: 4,
  }],
  ["TM 16, WG 2, 3x3, a map of 45 pixels", { h: 5, w: 9, cin: 5, cout: 12, k: 3, wg: 2, act: 1 }],
  ["TM 13, TN4 2, WG 4, 1x1, batch 2", {
    batch: 2,
    h: 7,
    w: 6,
    cin: 9,
    cout: 8,
    k: 1,
    tm: 13,
    tn4: 2,
    wg: 4,
  }],
  ["TM 5, TN4 3, WG 8, 1x1, residual", {
    h: 6,
    w: 11,
    cin: 10,
    cout: 12,
    k: 1,
    tm: 5,
    tn4: 3,
    wg: 8,
    residual: true,
  }],
  ["TM 7, TN4 8, WG 2, 5x5", { h: 6, w: 5, cin: 4, cout: 40, k: 5, tm: 7, wg: 2, act: 1 }],
  ["ROW 3x3 s1, width 7 (rows padded to 8), batch 2, SiLU", {
    batch: 2,
    h: 5,
    w: 7,
    cin: 9,
    cout: 13,
    k: 3,
    act: 1,
    row: true,
  }],
  ["ROW 3x3 s2, odd sizes, channel views", {
    h: 11,
    w: 13,
    cin: 16,
    cout: 32,
    k: 3,
    stride: 2,
    act: 1,
    row: true,
    xView: [5, 8, 3],
    yView: [7, 32, 32],
  }],
  ["ROW with slices, residual and groups", {
    h: 6,
    w: 10,
    cin: 20,
    cout: 12,
    k: 3,
    groups: 2,
    residual: true,
    slices: 3,
    row: true,
    rView: [1, 4, 4],
  }],
  ["ROW IN_NCHW network input, s2", {
    batch: 2,
    h: 15,
    w: 13,
    cin: 3,
    cout: 16,
    k: 3,
    stride: 2,
    act: 1,
    inNchw: true,
    row: true,
  }],
  ["ROW 2x2 kernel s2 pad 0, OUT_NCHW", {
    h: 8,
    w: 10,
    cin: 5,
    cout: 6,
    k: 2,
    stride: 2,
    pad: 0,
    outNchw: true,
    row: true,
  }],
  ["ROW 1x1 map, 3x3 pad 1", { batch: 2, h: 1, w: 1, cin: 10, cout: 6, k: 3, row: true }],
  ["ROW TM 3, WG 4, width 5", { h: 3, w: 5, cin: 6, cout: 9, k: 3, tm: 3, wg: 4, row: true }],
  ["ROW TM 1, 1x1 kernel", { h: 4, w: 3, cin: 5, cout: 7, k: 1, tm: 1, row: true }],
  // TM 8 at stride 2 reads 17 input columns per kernel row: width 37 has 3 invocations per row, the
  // last partial (19 outputs, 8 + 8 + 3) with columns past the right border.
  ["ROW TM 8 s2, 17 columns, width 37", {
    h: 7,
    w: 37,
    cin: 6,
    cout: 40,
    k: 3,
    stride: 2,
    act: 1,
    tm: 8,
    row: true,
  }],
  // TM 16 at stride 2 reads 33: width 70 has 35 outputs per row, 16 + 16 + 3.
  ["ROW TM 16 s2, 33 columns, width 70", {
    h: 5,
    w: 70,
    cin: 4,
    cout: 20,
    k: 3,
    stride: 2,
    act: 1,
    row: true,
  }],
  ["ROW TM 16 s1, width 37, batch 2, residual", {
    batch: 2,
    h: 3,
    w: 37,
    cin: 6,
    cout: 8,
    k: 3,
    residual: true,
    row: true,
  }],
  ["ROW TM 6 s1, TN4 6, WG 8, width 20", {
    batch: 2,
    h: 3,
    w: 20,
    cin: 5,
    cout: 24,
    k: 3,
    tm: 6,
    wg: 8,
    row: true,
  }],
  // The planner's tiles for 40- and 20-wide output rows: 4 and 2 whole tiles of 10 per row.
  ["ROW TM 10 s2, 21 columns, width 80 to 40, vec4 stores", {
    h: 6,
    w: 80,
    cin: 8,
    cout: 16,
    k: 3,
    stride: 2,
    act: 1,
    tm: 10,
    row: true,
    vec4: true,
  }],
  ["ROW TM 10 s1, width 20, batch 2, residual, vec4 stores", {
    batch: 2,
    h: 4,
    w: 20,
    cin: 7,
    cout: 12,
    k: 3,
    residual: true,
    tm: 10,
    row: true,
    vec4: true,
  }],
  ["ROW TM 8 2x2 s1 pad 0", { h: 5, w: 19, cin: 3, cout: 8, k: 2, pad: 0, tm: 8, row: true }],
  ["ROW TM 16 2x2 s2 pad 0", { h: 4, w: 40, cin: 3, cout: 8, k: 2, stride: 2, pad: 0, row: true }],
  // VEC4_OUT: views whose bases, strides and offsets are multiples of 4.
  ["VEC4_OUT 1x1, slices, residual, channel views, batch 2", {
    batch: 2,
    h: 5,
    w: 9,
    cin: 20,
    cout: 24,
    k: 1,
    act: 1,
    residual: true,
    slices: 2,
    xView: [3, 5, 2],
    yView: [8, 4, 4],
    rView: [4, 8, 4],
    vec4: true,
  }],
  ["VEC4_OUT ROW 3x3 s2, residual in y's buffer, TM 8", {
    h: 9,
    w: 21,
    cin: 6,
    cout: 12,
    k: 3,
    stride: 2,
    act: 1,
    residual: true,
    rInY: true,
    yView: [4, 12, 0],
    tm: 8,
    row: true,
    vec4: true,
  }],
  ["VEC4_OUT groups 2, 3x3, TN4 1 (one vec4 per chunk)", {
    h: 6,
    w: 7,
    cin: 10,
    cout: 16,
    k: 3,
    groups: 2,
    tn4: 1,
    yView: [0, 4, 0],
    vec4: true,
  }],
  ["VEC4_IN 1x1, 64 -> 40, channel views, batch 2, SiLU, a partial tile", {
    batch: 2,
    h: 7,
    w: 9,
    cin: 64,
    cout: 40,
    k: 1,
    act: 1,
    xView: [4, 8, 4],
    yView: [3, 2, 1],
    vec4In: true,
  }],
  ["VEC4_IN and VEC4_OUT 1x1, 3 slices of 16 channels, residual", {
    h: 6,
    w: 11,
    cin: 48,
    cout: 32,
    k: 1,
    act: 1,
    slices: 3,
    residual: true,
    xView: [8, 4, 0],
    yView: [4, 0, 0],
    rView: [0, 8, 4],
    vec4: true,
    vec4In: true,
  }],
  ["VEC4_IN 3x3 s2 spread tile (no ROW), padding, groups 2 (8 input channels each)", {
    batch: 2,
    h: 9,
    w: 7,
    cin: 16,
    cout: 12,
    k: 3,
    stride: 2,
    groups: 2,
    xView: [4, 4, 4],
    vec4In: true,
  }],
  ["VEC4_IN 5x5 s1 pad 2, TM 7, TN4 3, WG 16", {
    h: 6,
    w: 10,
    cin: 8,
    cout: 12,
    k: 5,
    tm: 7,
    tn4: 3,
    wg: 16,
    act: 1,
    vec4In: true,
  }],
  ["VEC4_IN ROW 3x3 s1, width 37 (TM 16), batch 2, residual, channel views, 12 input channels", {
    batch: 2,
    h: 5,
    w: 37,
    cin: 12,
    cout: 20,
    k: 3,
    act: 1,
    residual: true,
    row: true,
    xView: [4, 8, 4],
    vec4In: true,
  }],
  ["VEC4_IN and VEC4_OUT ROW 3x3 s1 TM 10, 2 slices of 32 channels (64 -> 64, proto.cv2-like)", {
    h: 6,
    w: 20,
    cin: 64,
    cout: 64,
    k: 3,
    act: 1,
    row: true,
    tm: 10,
    vec4: true,
    vec4In: true,
  }],
  ["VEC4_IN ROW 3x3 s2, odd sizes, groups 2 (8 input channels each)", {
    h: 11,
    w: 13,
    cin: 16,
    cout: 8,
    k: 3,
    stride: 2,
    groups: 2,
    row: true,
    vec4In: true,
  }],
  ["VEC4_IN 1x1 map, 256 -> 256 (TN4 8, 8 chunks)", { h: 1, w: 1, cin: 256, cout: 256, k: 1, vec4In: true }],
];

cases.forEach(([name, c], i) => {
  Deno.test(`conv2d_uniform: ${name}`, () => check(c, 7000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`conv2d_uniform_f16: ${name}`, () => check(c, 7000 * (i + 1), true));
});

/**
 * The subgroup variant where its workgroups are whole subgroups of the test device (lavapipe: 8 lanes; WG
 * 8, 16 or 32 here), which is where the planner uses it.
 */
async function checkSubgroups(c: Case, seed: number, half: boolean): Promise<void> {
  const { gpu } = await testGpu();
  assert.ok(gpu.features.subgroups, "the test device's subgroups work (lavapipe's do)");
  await check(c, seed, half, "subgroups");
}

const wholeSubgroups = (c: Case) => (c.wg ?? 8) % 8 === 0;

cases.forEach(([name, c], i) => {
  if (!wholeSubgroups(c)) return;
  Deno.test(`conv2d_uniform_subgroups: ${name}`, () => checkSubgroups(c, 7000 * (i + 1), false));
  Deno.test(`conv2d_uniform_subgroups_f16: ${name}`, () => checkSubgroups(c, 7000 * (i + 1), true));
});

Deno.test("conv2d_uniform_subgroups: runs the cases' ROW, VEC4_OUT, sliced and NCHW tiles", () => {
  const run = cases.map(([, c]) => c).filter(wholeSubgroups);
  assert.ok(run.length >= cases.length - 8, `${run.length} of ${cases.length}`);
  for (const has of [(c: Case) => c.row, (c: Case) => c.vec4, (c: Case) => c.vec4In, (c: Case) => c.slices]) {
    assert.ok(run.some(has), String(has));
  }
});

/**
 * A ConvTranspose2d with kernel == stride as k * k phases of 1x1 convs with OUT_STEP k (the software
 * path of src/ops/conv_transpose.ts), against the conv_transpose2d CPU reference; channel views.
 */
async function checkTransposed(
  c: {
    batch: number;
    h: number;
    w: number;
    cin: number;
    cout: number;
    k: number;
    vec4?: boolean;
    vec4In?: boolean;
  },
  seed: number,
) {
  // With vec4 (VEC4_OUT) the output view is 4-aligned, with vec4In (VEC4_IN) the input view.
  const [xExtra, xOff, yExtra, yOff] = [c.vec4In ? 4 : 3, c.vec4In ? 4 : 2, ...(c.vec4 ? [4, 8] : [5, 4])];
  const p: ConvTranspose2dParams = {
    batch: c.batch,
    inH: c.h,
    inW: c.w,
    inC: c.cin,
    outC: c.cout,
    xBase: c.vec4In ? 8 : 7,
    xStride: c.cin + xExtra,
    xOff,
    yBase: c.vec4 ? 12 : 9,
    yStride: c.cout + yExtra,
    yOff,
  };
  const shape = [c.cin, c.cout, c.k, c.k] as const;
  const w = randomArray(c.cin * c.cout * c.k * c.k, seed + 1, -0.5, 0.5);
  const b = randomArray(c.cout, seed + 2);
  const x = randomArray(p.xBase + c.batch * c.h * c.w * p.xStride, seed + 3);
  const expected = randomArray(p.yBase + c.batch * c.h * c.w * c.k * c.k * p.yStride + 1, seed + 4, 10, 11);
  let got: Float32Array = expected.slice();
  convTranspose2dCpu({ x, w, b, y: expected }, p, { KSIZE: c.k });
  const tn4 = conv2dUniformTile(c.cout);
  for (let tap = 0; tap < c.k * c.k; tap++) {
    const tapWeight = transposedTapWeight(w, shape, tap);
    const packed = packConv2dUniformWeight(tapWeight, [c.cout, c.cin, 1, 1], { tn4, bias: b });
    for (const { offset, ...chunk } of conv2dUniformChunks(c.cout, c.cin, 1, 1, tn4)) {
      got = (await runKernel(conv2dUniform, {
        inputs: { x, w: packed },
        ranges: { w: { offset, size: 65536 } },
        outputs: { y: got },
        params: {
          ...p,
          outH: c.h,
          outW: c.w,
          groups: 1,
          pad: 0,
          rBase: 0,
          rStride: 0,
          rOff: 0,
          ...chunk,
          phaseY: Math.floor(tap / c.k),
          phaseX: tap % c.k,
          act: 0,
          residual: 0,
        },
        overrides: { KSIZE: 1, OUT_STEP: c.k, TN4: tn4, VEC4_OUT: c.vec4 ? 1 : 0, VEC4_IN: c.vec4In ? 1 : 0 },
      })).y;
    }
  }
  assertClose(got, expected, TOL, `transposed conv as phases ${JSON.stringify(c)}`);
}

Deno.test("conv2d_uniform: transposed conv 2x2 s2 as 4 phases (Proto upsample), 12 -> 40", () =>
  checkTransposed({ batch: 2, h: 5, w: 3, cin: 12, cout: 40, k: 2 }, 91000));

Deno.test("conv2d_uniform: transposed conv 3x3 s3 as 9 phases, 5 -> 6", () =>
  checkTransposed({ batch: 1, h: 4, w: 4, cin: 5, cout: 6, k: 3 }, 92000));

Deno.test("conv2d_uniform: transposed conv 2x2 s2 as 4 phases with VEC4_OUT, 12 -> 40", () =>
  checkTransposed({ batch: 2, h: 5, w: 3, cin: 12, cout: 40, k: 2, vec4: true }, 93000));

Deno.test("conv2d_uniform: transposed conv 2x2 s2 as 4 phases with VEC4_IN and VEC4_OUT, 12 -> 40", () =>
  checkTransposed({ batch: 2, h: 5, w: 3, cin: 12, cout: 40, k: 2, vec4: true, vec4In: true }, 94000));

Deno.test("conv2d_uniform: packing puts channel j of a chunk at column j of each k row", () => {
  // cout 3, cinG 2, 1x1, TN4 1 (chunks of 4 channels): row ci holds w[0..2][ci], then a zero; then
  // the bias row.
  const w = new Float32Array([1, 2, 3, 4, 5, 6]); // [co][ci]
  const packed = packConv2dUniformWeight(w, [3, 2, 1, 1], { tn4: 1, bias: new Float32Array([7, 8, 9]) });
  assert.deepEqual([...packed.subarray(0, 12)], [1, 3, 5, 0, 2, 4, 6, 0, 7, 8, 9, 0]);
});

Deno.test("conv2d_uniform: slices and packing keep each window within 64 KiB", () => {
  // TN4 1 holds 4 channels of 9 * cin weights and the bias: cin 455 fits 16384 floats, 456 needs
  // 2 slices.
  assert.equal(conv2dUniformSlices(455, 3, 1), 1);
  assert.equal(conv2dUniformSlices(456, 3, 1), 2);
  assert.equal(conv2dUniformSlices(1, 64, 8), 0);
  assert.throws(
    () => packConv2dUniformWeight(new Float32Array(8 * 456 * 9), [8, 456, 3, 3], { tn4: 1 }),
    RangeError,
  );
  // Slices of a packing: input channels 0..1 then 2 of two output channels, each window from row 0
  // and ending in the bias row.
  const w = new Float32Array([1, 2, 3, 4, 5, 6]); // [co][ci], cout 2, cin 3, 1x1
  const bias = new Float32Array([7, 8]);
  const packed = packConv2dUniformWeight(w, [2, 3, 1, 1], { tn4: 1, slices: 2, bias });
  assert.deepEqual([...packed.subarray(0, 12)], [1, 4, 0, 0, 2, 5, 0, 0, 7, 8, 0, 0]);
  assert.deepEqual([...packed.subarray(64, 72)], [3, 6, 0, 0, 7, 8, 0, 0]);
  assert.throws(
    () => packConv2dUniformWeight(w, [2, 3, 1, 1], { tn4: 1, bias: new Float32Array(3) }),
    RangeError,
  );
  assert.throws(() => conv2dUniform.validate!({ ...conv2dUniform.overrides, TN4: 9 }), RangeError);
  assert.throws(() => conv2dUniform.validate!({ ...conv2dUniform.overrides, TM: 17 }), RangeError);
  assert.throws(
    () => conv2dUniform.validate!({ ...conv2dUniform.overrides, VEC4_OUT: 1, OUT_NCHW: 1 }),
    RangeError,
  );
  assert.equal(entryPointOf(conv2dUniform, { ...conv2dUniform.overrides, VEC4_OUT: 1 }), "main4");
  assert.equal(entryPointOf(conv2dUniform, { ...conv2dUniform.overrides, ROW: 1 }), "mainRow");
  assert.equal(entryPointOf(conv2dUniform, { ...conv2dUniform.overrides, ROW: 1, VEC4_OUT: 1 }), "mainRow4");
  assert.equal(entryPointOf(conv2dUniform, conv2dUniform.overrides), "main");
  assert.equal(entryPointOf(conv2dUniform, { ...conv2dUniform.overrides, VEC4_IN: 1 }), "mainIn4");
  assert.equal(
    entryPointOf(conv2dUniform, { ...conv2dUniform.overrides, VEC4_IN: 1, VEC4_OUT: 1 }),
    "main4In4",
  );
  assert.equal(entryPointOf(conv2dUniform, { ...conv2dUniform.overrides, ROW: 1, VEC4_IN: 1 }), "mainRowIn4");
  assert.equal(
    entryPointOf(conv2dUniform, { ...conv2dUniform.overrides, ROW: 1, VEC4_IN: 1, VEC4_OUT: 1 }),
    "mainRow4In4",
  );
  assert.throws(
    () => conv2dUniform.validate!({ ...conv2dUniform.overrides, VEC4_IN: 1, IN_NCHW: 1 }),
    /VEC4_IN/,
  );
  assert.throws(() => conv2dUniform.validate!({ ...conv2dUniform.overrides, STRIDE: 3, ROW: 1 }), RangeError);
  assert.throws(() => conv2dUniform.validate!({ ...conv2dUniform.overrides, KSIZE: 5, ROW: 1 }), RangeError);
  assert.throws(() => transposedTapWeight(new Float32Array(8), [1, 2, 2, 2], 4), RangeError);
});

Deno.test("conv2d_uniform stores results under 1e-30 in magnitude as 0 (SiLU's far negative tail), others as computed", async () => {
  // A 1x1 conv of one input channel (x = 1 at 2x2 pixels), so output channel c is w[c] + b[c]: pre-activations
  // -80, -60, 1e-31, -1e-31, 0.5, -200 and 1e-20; SiLU on, so the stored values would be ~-1.44e-33 (flushed),
  // ~-5.26e-25 (kept), ~5e-32 and -5e-32 (flushed), 0.311, -0 and 5e-21 (kept).
  const pre = [-80, -60, 1e-31, -1e-31, 0.5, -200, 1e-20, 2];
  const cout = pre.length;
  const silu = (v: number) => Math.fround(v / (1 + Math.exp(-v)));
  const w = new Float32Array(pre);
  const b = new Float32Array(cout);
  const p: Conv2dUniformParams = {
    batch: 1,
    inH: 2,
    inW: 2,
    inC: 1,
    outH: 2,
    outW: 2,
    outC: cout,
    groups: 1,
    pad: 0,
    xBase: 0,
    xStride: 1,
    xOff: 0,
    yBase: 0,
    yStride: cout,
    yOff: 0,
    rBase: 0,
    rStride: 0,
    rOff: 0,
    coBase: 0,
    coCount: cout,
    phaseY: 0,
    phaseX: 0,
    ciBase: 0,
    ciCount: 1,
    accumulate: 0,
    finish: 1,
    act: 1,
    residual: 0,
  };
  for (const vec4 of [0, 1]) {
    const { y } = await runKernel(conv2dUniform, {
      inputs: {
        x: new Float32Array([1, 1, 1, 1]),
        w: packConv2dUniformWeight(w, [cout, 1, 1, 1], { tn4: 2, bias: b }),
      },
      outputs: { y: new Float32Array(4 * cout).fill(7) },
      params: p,
      overrides: { KSIZE: 1, TN4: 2, TM: 4, VEC4_OUT: vec4 },
    });
    for (let px = 0; px < 4; px++) {
      const got = [...y.subarray(px * cout, (px + 1) * cout)];
      const want = pre.map((v) => (Math.abs(silu(v)) < 1e-30 ? 0 : silu(v)));
      for (const c of [0, 2, 3]) assert.ok(Object.is(got[c], 0), `channel ${c} flushed to 0: ${got[c]}`);
      for (const c of [1, 4, 5, 6, 7]) {
        assert.ok(
          Math.abs(got[c] - want[c]) <= 1e-5 * Math.abs(want[c]) + 1e-45,
          `channel ${c}: ${got[c]} vs ${want[c]}`,
        );
      }
      assert.notEqual(got[1], 0, "-5.26e-25 is kept");
      assert.notEqual(got[6], 0, "5e-21 is kept");
    }
  }
});
