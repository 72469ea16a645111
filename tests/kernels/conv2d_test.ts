/**
 * conv2d GPU vs the CPU reference on seeded random shapes: kernel 1/3/5, stride 1/2, groups,
 * SiLU, residual, channel-slice views in and out, NCHW in/out, 1x1 maps, odd sizes, batch 2 and
 * every tile shape conv2dTile picks. Tolerance: atol 1e-4 + rtol 1e-4 (f32 sums of <= 600 terms).
 */
import assert from "node:assert/strict";
import {
  conv2d,
  conv2dBufferCandidates,
  conv2dDepthCandidates,
  conv2dF16,
  conv2dF16Math,
  conv2dGroupCandidates,
  type Conv2dOverrides,
  type Conv2dParams,
  conv2dPostTiles,
  conv2dPrefetchCandidates,
  conv2dTile,
  conv2dTileBytes,
  conv2dTileCandidates,
  convOutSize,
  packConv2dPostWeight,
  packConv2dPreWeight,
  packConv2dWeight,
} from "../../kernels/conv2d.ts";
import { conv2dSplitkReduce, conv2dSplitkReduceF16 } from "../../kernels/conv2d_splitk_reduce.ts";
import { conv2d as conv2dCpu } from "../../src/cpu/conv2d.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

const TOL = { atol: 1e-4, rtol: 1e-4 };
/** f16 in and out, f32 sums: the result is rounded to f16 (2^-11 relative), inputs are f16 values. */
const TOL_F16 = { atol: 2e-3, rtol: 2e-3 };
/**
 * conv2d_f16_math: also each step's products summed in f16 (16 or 32 terms of |x w| < 0.5 rounded at
 * 2^-11 relative each) before the f32 sum over up to 38 steps.
 */
const TOL_F16_MATH = { atol: 2e-2, rtol: 5e-3 };

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
  /** Extra channels around the input/output/residual views, and base offsets. */
  xView?: [number, number, number];
  yView?: [number, number, number];
  rView?: [number, number, number];
  tile?: Partial<Conv2dOverrides>;
  /** A fused depthwise pre-conv (`PRE_K`) with SiLU when `act` is 1. */
  pre?: { k: number; act?: number };
  /** A fused 1x1 post-conv to `n` channels (`POST_N`) with SiLU when `act` is 1; y and r have `n` channels. */
  post?: { n: number; act?: number };
  /** Also write y upsampled by this factor into r's view (`UP_R`; r is then a map that much larger). */
  up?: number;
  /**
   * `POST_CAT` as in a C3k2 block: the post-conv also reads `2 * cout` channels of r's buffer (the block's cv1
   * output, NHWC at `base` with `extra` more channels per pixel, from channel `off`) before the tile's, and the
   * residual is the second half of them, added to the tile; or `c` channels after the tile's (`tileFirst`,
   * `POST_CAT` 2: a downsampling conv and the next block's cv1 over [its output | an earlier level]).
   */
  cat?: { base: number; extra: number; off: number; c?: number; tileFirst?: boolean };
  /**
   * The residual's view lies in y's buffer, `cout` channels after y's view (`R_IN_Y`: read through y, r bound
   * to a dummy; give `yView` at least `cout` extra channels): a Bottleneck writing into the concat that holds
   * its input.
   */
  rInY?: boolean;
}

async function check(c: Case, seed: number, half = false, halfMath = false): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const stride = c.stride ?? 1;
  const pad = c.pad ?? Math.floor(c.k / 2);
  const groups = c.groups ?? 1;
  const up = c.up ?? 0;
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const [yBase, yExtra, yOff] = c.yView ?? [0, 0, 0];
  const catC = c.cat ? c.cat.c ?? 2 * c.cout : 0;
  const [rBase, rExtra, rOff] = c.cat
    ? [c.cat.base, catC + c.cat.extra - (c.post?.n ?? c.cout), c.cat.off + c.cout]
    : c.rInY
    ? [yBase, yExtra, yOff + c.cout]
    : c.rView ?? [0, 0, 0];
  const outH = convOutSize(c.h, c.k, stride, pad);
  const outW = convOutSize(c.w, c.k, stride, pad);
  const p: Conv2dParams = {
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
    yStride: (c.post?.n ?? c.cout) + yExtra,
    yOff,
    rBase,
    rStride: (c.post?.n ?? c.cout) + rExtra,
    rOff,
    catBase: c.cat?.base ?? 0,
    catStride: c.cat ? catC + c.cat.extra : 0,
    catOff: c.cat?.off ?? 0,
    catC,
  };
  const o: Partial<Conv2dOverrides> = {
    KSIZE: c.k,
    STRIDE: stride,
    ACT: c.act ?? 0,
    RESIDUAL: c.residual ? 1 : 0,
    IN_NCHW: c.inNchw ? 1 : 0,
    OUT_NCHW: c.outNchw ? 1 : 0,
    UP_R: up,
    POST_CAT: c.cat ? (c.cat.tileFirst ? 2 : 1) : 0,
    R_IN_Y: c.rInY ? 1 : 0,
    ...c.tile,
  };
  const wShape = [c.cout, c.cin / groups, c.k, c.k] as const;
  const w = h(randomArray(wShape[0] * wShape[1] * c.k * c.k, seed + 1, -0.5, 0.5));
  const b = h(randomArray(c.cout, seed + 2));
  const x = h(randomArray(xBase + batch * c.h * c.w * p.xStride + 3, seed + 3));
  const y0 = h(randomArray(yBase + batch * outH * outW * p.yStride + 5, seed + 4, 10, 11));
  // With rInY the residual is y's own buffer (its other channels).
  const r = c.rInY
    ? y0
    : h(randomArray(rBase + batch * outH * outW * Math.max(1, up) ** 2 * p.rStride + 2, seed + 5));
  if (c.pre) Object.assign(o, { PRE_K: c.pre.k, PRE_ACT: c.pre.act ?? 0 });
  // The pre-conv's weights [cin, 1, k, k] and bias: unpacked (weights then bias) for the CPU, packed for the GPU.
  const preTaps = c.pre ? c.pre.k * c.pre.k : 0;
  const preW = h(randomArray(c.cin * preTaps, seed + 6, -0.5, 0.5));
  const preB = h(randomArray(c.cin, seed + 7));
  const postW = h(randomArray((c.post?.n ?? 0) * (catC + c.cout), seed + 8, -0.5, 0.5));
  const postB = h(randomArray(c.post?.n ?? 0, seed + 9));
  if (c.post) Object.assign(o, { POST_N: c.post.n, POST_ACT: c.post.act ?? 0 });
  // Pre-conv first, post-conv after it, as in both layouts.
  const aux = c.pre || c.post
    ? new Float32Array([...(c.pre ? [...preW, ...preB] : []), ...(c.post ? [...postW, ...postB] : [])])
    : undefined;
  const auxPacked = [
    ...(c.pre ? packConv2dPreWeight(preW, [c.cin, 1, c.pre.k, c.pre.k], preB) : []),
    ...(c.post ? packConv2dPostWeight(postW, [c.post.n, catC + c.cout, 1, 1], postB) : []),
  ];
  const expected = y0.slice();
  const expectedR = r.slice();
  conv2dCpu({ x, w, b, r: up ? expectedR : r, y: expected, aux }, p, o);
  if (half) expected.set(roundF16(expected));
  if (half) expectedR.set(roundF16(expectedR));
  const split = o.KSPLIT ?? 1;
  const pixels = batch * outH * outW;
  const got = await runKernel(halfMath ? conv2dF16Math : half ? conv2dF16 : conv2d, {
    inputs: {
      x,
      x4: x,
      w: packConv2dWeight(w, wShape, groups),
      b,
      ...((c.residual || up || c.cat) && !c.rInY ? { r } : {}),
      ...(auxPacked.length ? { aux: new Float32Array(auxPacked) } : {}),
    },
    outputs: { y: y0, p: new Float32Array(split > 1 ? split * pixels * c.cout : 1), ...(up ? { r } : {}) },
    params: p,
    overrides: o,
  });
  if (split > 1) {
    // conv2d wrote only the partial sums; the reduce kernel finishes the layer.
    assert.deepEqual(got.y, y0, "a split conv2d leaves y alone");
    if (up) assert.deepEqual(got.r, r, "and r");
    const reduced = await runKernel(half ? conv2dSplitkReduceF16 : conv2dSplitkReduce, {
      inputs: { p: got.p, b, ...((c.residual || up) && !c.rInY ? { r } : {}) },
      outputs: { y: y0, ...(up ? { r } : {}) },
      params: {
        batch,
        outH,
        outW,
        outC: c.cout,
        yBase,
        yStride: p.yStride,
        yOff,
        rBase,
        rStride: p.rStride,
        rOff,
      },
      overrides: {
        KSPLIT: split,
        ACT: o.ACT,
        RESIDUAL: o.RESIDUAL,
        OUT_NCHW: o.OUT_NCHW,
        WG: 64,
        UP_R: up,
        R_IN_Y: o.R_IN_Y,
      },
    });
    got.y = reduced.y;
    got.r = reduced.r;
  }
  if (up) {
    assertClose(
      got.r,
      expectedR,
      halfMath ? TOL_F16_MATH : half ? TOL_F16 : TOL,
      `conv2d r ${JSON.stringify(c)}`,
    );
    // Every copy is exactly y's value (one store of one rounded value).
    const [n0, oy, ox] = [batch - 1, outH - 1, outW - 1];
    const at = (base: number, stride: number, off: number, hh: number, ww: number, yy: number, xx: number) =>
      base + ((n0 * hh + yy) * ww + xx) * stride + off;
    const yv = got.y[at(yBase, p.yStride, yOff, outH, outW, oy, ox)];
    const rv = got.r[at(rBase, p.rStride, rOff, outH * up, outW * up, oy * up + up - 1, ox * up + up - 1)];
    assert.equal(rv, yv, "the copy is y's value");
  }
  assertClose(got.y, expected, halfMath ? TOL_F16_MATH : half ? TOL_F16 : TOL, `conv2d ${JSON.stringify(c)}`);
}

const cases: [string, Case][] = [
  ["Bottleneck conv writing into the concat that holds its residual: r read through y (R_IN_Y), batch 2", {
    batch: 2,
    h: 5,
    w: 6,
    cin: 8,
    cout: 8,
    k: 3,
    act: 1,
    residual: true,
    rInY: true,
    yView: [3, 12, 2],
  }],
  ["R_IN_Y with split-K: the reduce reads the residual through y", {
    h: 6,
    w: 7,
    cin: 24,
    cout: 8,
    k: 3,
    act: 1,
    residual: true,
    rInY: true,
    yView: [1, 9, 1],
    tile: { WG_M: 8, WG_N: 2, BK: 16, KSPLIT: 2 },
  }],
  ["3x3 + SiLU with its copy upsampled x2 into a concat slice (Conv -> nn.Upsample), batch 2, views", {
    batch: 2,
    h: 5,
    w: 7,
    cin: 12,
    cout: 10,
    k: 3,
    act: 1,
    up: 2,
    xView: [3, 4, 2],
    yView: [2, 6, 3],
    rView: [5, 6, 2],
  }],
  ["1x1 with its copy upsampled x3, VEC_A, 8x8 tile", {
    h: 4,
    w: 3,
    cin: 16,
    cout: 12,
    k: 1,
    up: 3,
    rView: [1, 2, 1],
    tile: { WG_M: 8, WG_N: 2, BK: 16, PIX4: 2, CH4: 2, VEC_A: 1 },
  }],
  ["C3k2's last Bottleneck conv with its residual and the block's cv2 over [cv1 output | tile] (POST_CAT)", {
    batch: 2,
    h: 6,
    w: 5,
    cin: 8,
    cout: 8,
    k: 3,
    act: 1,
    residual: true,
    post: { n: 12, act: 1 },
    cat: { base: 3, extra: 8, off: 4 },
    yView: [2, 4, 1],
    tile: (({ HALF_MATH: _, ...t }) => t)(conv2dPostTiles(8, 60)[0]),
  }],
  ["stride-2 3x3 with the next block's cv1 over [tile | 20 memory channels] (POST_CAT 2), batch 2", {
    batch: 2,
    h: 9,
    w: 8,
    cin: 12,
    cout: 8,
    k: 3,
    stride: 2,
    act: 1,
    post: { n: 16, act: 1 },
    cat: { base: 5, extra: 3, off: 2, c: 20, tileFirst: true },
    yView: [1, 2, 3],
    tile: (({ HALF_MATH: _, ...t }) => t)(conv2dPostTiles(8, 40)[0]),
  }],
  ["POST_CAT without a residual (YOLOv8's head C2f), 12 channels, 8x8 tile, VEC_A", {
    h: 7,
    w: 6,
    cin: 16,
    cout: 12,
    k: 3,
    act: 1,
    post: { n: 20, act: 1 },
    cat: { base: 0, extra: 0, off: 0 },
    tile: { WG_M: 8, WG_N: 2, BK: 16, PIX4: 2, CH4: 2, VEC_A: 1 },
  }],
  ["3x3 with a post-conv, its result upsampled x2 (the copy is the post-conv's output)", {
    h: 6,
    w: 5,
    cin: 8,
    cout: 12,
    k: 3,
    act: 1,
    post: { n: 6, act: 1 },
    up: 2,
    rView: [3, 10, 4],
    tile: (({ HALF_MATH: _, ...t }) => t)(conv2dPostTiles(12, 30)[0]),
  }],
  ["split-K (KSPLIT 2): the reduce writes the upsampled copy", {
    batch: 2,
    h: 4,
    w: 4,
    cin: 40,
    cout: 8,
    k: 3,
    act: 1,
    up: 2,
    yView: [0, 8, 4],
    tile: { WG_M: 4, WG_N: 8, BK: 16, KSPLIT: 2 },
  }],
  ["1x1, cin 13 -> cout 7", { h: 8, w: 8, cin: 13, cout: 7, k: 1 }],
  ["depthwise 3x3 + SiLU pre-conv fused into a 1x1 (Detect cv3), cin 13 -> 7, batch 2, views", {
    batch: 2,
    h: 9,
    w: 7,
    cin: 13,
    cout: 7,
    k: 1,
    act: 1,
    pre: { k: 3, act: 1 },
    xView: [5, 6, 3],
    yView: [2, 4, 1],
  }],
  ["depthwise 5x5 pre-conv (no act) on a 3x2 map, residual", {
    h: 3,
    w: 2,
    cin: 6,
    cout: 10,
    k: 1,
    residual: true,
    pre: { k: 5 },
  }],
  ["pre-conv with vec4 staging (VEC_A), 16 -> 20, 8x8 register tile", {
    h: 10,
    w: 9,
    cin: 16,
    cout: 20,
    k: 1,
    act: 1,
    pre: { k: 3, act: 1 },
    xView: [4, 8, 4],
    tile: { WG_M: 8, WG_N: 4, BK: 16, PIX4: 2, CH4: 2, VEC_A: 1 },
  }],
  ["pre-conv with PREFETCH and double buffers, 24 -> 16", {
    batch: 2,
    h: 6,
    w: 7,
    cin: 24,
    cout: 16,
    k: 1,
    pre: { k: 3, act: 1 },
    tile: { WG_M: 16, WG_N: 16, BK: 16, PREFETCH: 1, BUFFERS: 2 },
  }],
  ["3x3 + SiLU then a fused 1x1 post-conv (Detect cv2.i.1 -> cv2.i.2), 16 -> 12 -> 10, batch 2, views", {
    batch: 2,
    h: 9,
    w: 7,
    cin: 16,
    cout: 12,
    k: 3,
    act: 1,
    post: { n: 10 },
    xView: [3, 4, 2],
    yView: [5, 6, 3],
    tile: (({ HALF_MATH: _, ...t }) => t)(conv2dPostTiles(12, 126)[0]),
  }],
  ["depthwise pre-conv, 1x1 and a fused 1x1 post-conv (Detect cv3.i.1 -> cv3.i.2), 13 -> 12 -> 9, views", {
    batch: 2,
    h: 7,
    w: 6,
    cin: 13,
    cout: 12,
    k: 1,
    act: 1,
    pre: { k: 3, act: 1 },
    post: { n: 9 },
    xView: [5, 6, 3],
    yView: [2, 4, 1],
    tile: (({ HALF_MATH: _, ...t }) => t)(conv2dPostTiles(12, 84)[0]),
  }],
  ["5x5 pre-conv, VEC_A, 8x8 tile, post-conv with SiLU and a residual, 16 -> 8 -> 20", {
    h: 5,
    w: 9,
    cin: 16,
    cout: 8,
    k: 1,
    pre: { k: 5 },
    post: { n: 20, act: 1 },
    residual: true,
    xView: [4, 8, 4],
    rView: [2, 4, 1],
    tile: { WG_M: 16, WG_N: 1, BK: 16, PIX4: 2, CH4: 2, VEC_A: 1 },
  }],
  ["1x1 then a fused 1x1 post-conv with SiLU and a residual (PSA ffn), 8 -> 20 -> 8, 8x8 tile", {
    h: 6,
    w: 5,
    cin: 8,
    cout: 20,
    k: 1,
    act: 1,
    post: { n: 8 },
    residual: true,
    rView: [2, 4, 1],
    tile: { WG_M: 4, WG_N: 4, BK: 16, PIX4: 2, CH4: 2 },
  }],
  ["fused post-conv into an NCHW output (Proto cv2 -> cv3), stride 2, VEC_A, double buffers", {
    batch: 2,
    h: 10,
    w: 9,
    cin: 8,
    cout: 16,
    k: 3,
    stride: 2,
    act: 1,
    post: { n: 6, act: 1 },
    outNchw: true,
    yView: [4, 3, 2],
    tile: { WG_M: 8, WG_N: 4, BK: 16, BUFFERS: 2, VEC_A: 1 },
  }],
  ["fused post-conv with PREFETCH and WG_K 2 (groups parked, then one tile)", {
    h: 7,
    w: 7,
    cin: 32,
    cout: 16,
    k: 3,
    act: 1,
    post: { n: 5 },
    tile: { WG_M: 8, WG_N: 4, BK: 8, PREFETCH: 1, WG_K: 2 },
  }],
  ["pre-conv with split-K (KSPLIT 3) and WG_K 2, 40 -> 12", {
    h: 5,
    w: 5,
    cin: 40,
    cout: 12,
    k: 1,
    act: 1,
    pre: { k: 3, act: 1 },
    tile: { WG_M: 8, WG_N: 4, BK: 8, KSPLIT: 3, WG_K: 2 },
  }],
  ["POST_CAT with a residual and WG_K 4 (a grouped post-conv tile), 3x3 16 -> 8 -> 12, batch 2", {
    batch: 2,
    h: 6,
    w: 5,
    cin: 16,
    cout: 8,
    k: 3,
    act: 1,
    residual: true,
    post: { n: 12, act: 1 },
    cat: { base: 3, extra: 8, off: 4 },
    yView: [2, 4, 1],
    tile: { WG_M: 4, WG_N: 2, BK: 8, WG_K: 4 },
  }],
  ["POST_CAT 2 with WG_K 2 on an 8x4 register tile, stride 2, [tile | 12 memory channels]", {
    h: 9,
    w: 8,
    cin: 12,
    cout: 8,
    k: 3,
    stride: 2,
    act: 1,
    post: { n: 16, act: 1 },
    cat: { base: 5, extra: 3, off: 2, c: 12, tileFirst: true },
    tile: { WG_M: 4, WG_N: 2, BK: 8, PIX4: 2, WG_K: 2 },
  }],
  ["pre-conv, 1x1 and post-conv with WG_K 2 (the class branch, grouped), 16 -> 12 -> 9, views", {
    batch: 2,
    h: 5,
    w: 6,
    cin: 16,
    cout: 12,
    k: 1,
    act: 1,
    pre: { k: 3, act: 1 },
    post: { n: 9 },
    xView: [4, 4, 4],
    tile: { WG_M: 8, WG_N: 3, BK: 8, WG_K: 2 },
  }],
  ["POST_ROWS 4: post-conv work items of four tile rows, 126 pixels (the last item ragged), views", {
    batch: 2,
    h: 9,
    w: 7,
    cin: 16,
    cout: 12,
    k: 3,
    act: 1,
    post: { n: 10 },
    xView: [3, 4, 2],
    yView: [5, 6, 3],
    tile: { ...(({ HALF_MATH: _, ...t }) => t)(conv2dPostTiles(12, 126)[0]), POST_ROWS: 4 },
  }],
  ["POST_ROWS 4 with POST_CAT and a residual, 35 pixels, 8x8 register tile", {
    h: 7,
    w: 5,
    cin: 8,
    cout: 8,
    k: 3,
    act: 1,
    residual: true,
    post: { n: 12, act: 1 },
    cat: { base: 3, extra: 8, off: 4 },
    yView: [2, 4, 1],
    tile: { WG_M: 4, WG_N: 1, BK: 4, PIX4: 2, CH4: 2, POST_ROWS: 4 },
  }],
  ["POST_ROWS 4 with POST_CAT 2, WG_K 2, stride 2, [tile | 20 memory channels]", {
    batch: 2,
    h: 9,
    w: 8,
    cin: 12,
    cout: 8,
    k: 3,
    stride: 2,
    act: 1,
    post: { n: 16, act: 1 },
    cat: { base: 5, extra: 3, off: 2, c: 20, tileFirst: true },
    tile: { WG_M: 4, WG_N: 2, BK: 8, WG_K: 2, POST_ROWS: 4 },
  }],
  ["POST_ROWS 4: pre-conv, 1x1 and post-conv, upsampled x2 (UP_R)", {
    h: 5,
    w: 6,
    cin: 16,
    cout: 12,
    k: 1,
    act: 1,
    pre: { k: 3, act: 1 },
    post: { n: 9 },
    up: 2,
    xView: [4, 4, 4],
    tile: { WG_M: 8, WG_N: 3, BK: 8, POST_ROWS: 4 },
  }],
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
  ["depthwise through conv2d, 6 ch", { h: 8, w: 5, cin: 6, cout: 6, k: 3, groups: 6 }],
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
  ["64 -> 64 3x3 16x16, tile 16x16", { h: 16, w: 16, cin: 64, cout: 64, k: 3, act: 1, tile: conv2dTile(64) }],
  ["16 -> 16 3x3 16x16, tile 64x4", { h: 16, w: 16, cin: 16, cout: 16, k: 3, tile: conv2dTile(16) }],
  ["24 -> 30 3x3, tile 32x8, batch 2", {
    batch: 2,
    h: 9,
    w: 11,
    cin: 24,
    cout: 30,
    k: 3,
    tile: conv2dTile(30),
  }],
  ["48 -> 48 3x3 on 6x6, small-map tile", { h: 6, w: 6, cin: 48, cout: 48, k: 3, tile: conv2dTile(48, 36) }],
  ["more than 65535 pixel tiles (folded dispatch)", {
    h: 1024,
    w: 1025,
    cin: 1,
    cout: 1,
    k: 1,
    tile: { WG_M: 4, WG_N: 1, BK: 4 },
  }],
  ["tile 8x8 BK 4", { h: 10, w: 10, cin: 7, cout: 40, k: 3, tile: { WG_M: 8, WG_N: 8, BK: 4 } }],
  ["tile 16x16 BK 32, cin 40", {
    h: 6,
    w: 6,
    cin: 40,
    cout: 20,
    k: 3,
    stride: 2,
    tile: { WG_M: 16, WG_N: 16, BK: 32 },
  }],
  ["register tile 8x8 (PIX4 2, CH4 2), residual, ragged pixels and channels", {
    batch: 2,
    h: 9,
    w: 11,
    cin: 20,
    cout: 44,
    k: 3,
    act: 1,
    residual: true,
    yView: [3, 8, 4],
    rView: [1, 4, 2],
    tile: { WG_M: 8, WG_N: 4, BK: 16, PIX4: 2, CH4: 2 },
  }],
  ["register tile 8x4 (PIX4 2), stride 2, views", {
    h: 17,
    w: 15,
    cin: 24,
    cout: 16,
    k: 3,
    stride: 2,
    xView: [5, 8, 3],
    yView: [7, 16, 16],
    tile: { WG_M: 16, WG_N: 4, BK: 16, PIX4: 2, CH4: 1 },
  }],
  ["register tile 4x8 (CH4 2), groups 2, OUT_NCHW", {
    h: 7,
    w: 6,
    cin: 16,
    cout: 40,
    k: 1,
    groups: 2,
    outNchw: true,
    tile: { WG_M: 8, WG_N: 8, BK: 8, PIX4: 1, CH4: 2 },
  }],
  ["split-K 2, 3x3 48 -> 40, residual and views", {
    batch: 2,
    h: 5,
    w: 6,
    cin: 48,
    cout: 40,
    k: 3,
    act: 1,
    residual: true,
    xView: [4, 8, 8],
    yView: [3, 8, 4],
    rView: [1, 4, 2],
    tile: { WG_M: 4, WG_N: 8, BK: 16, KSPLIT: 2 },
  }],
  ["split-K 3 with an 8x8 register tile, stride 2, OUT_NCHW", {
    h: 9,
    w: 7,
    cin: 64,
    cout: 32,
    k: 3,
    stride: 2,
    outNchw: true,
    tile: { WG_M: 8, WG_N: 4, BK: 16, PIX4: 2, CH4: 2, KSPLIT: 3 },
  }],
  ["split-K 8 over 5 K steps (empty slices), groups 2, 1x1", {
    h: 4,
    w: 4,
    cin: 160,
    cout: 24,
    k: 1,
    groups: 2,
    act: 1,
    tile: { WG_M: 4, WG_N: 4, BK: 16, KSPLIT: 8 },
  }],
  ["PREFETCH, ragged reduction (cin 13, 3x3), batch 2, residual", {
    batch: 2,
    h: 7,
    w: 5,
    cin: 13,
    cout: 20,
    k: 3,
    act: 1,
    residual: true,
    rView: [2, 4, 1],
    tile: { WG_M: 8, WG_N: 8, BK: 16, PREFETCH: 1 },
  }],
  ["PREFETCH with split-K 3 and an 8x8 register tile, stride 2, views", {
    h: 9,
    w: 11,
    cin: 48,
    cout: 24,
    k: 3,
    stride: 2,
    xView: [3, 8, 4],
    yView: [5, 4, 2],
    tile: { WG_M: 16, WG_N: 16, BK: 16, PIX4: 2, CH4: 2, KSPLIT: 3, PREFETCH: 1 },
  }],
  ["PREFETCH, one K step only (1x1, cin 8), OUT_NCHW", {
    h: 6,
    w: 6,
    cin: 8,
    cout: 16,
    k: 1,
    outNchw: true,
    tile: { WG_M: 16, WG_N: 16, BK: 16, PREFETCH: 1 },
  }],
  ["BK 32, ragged reduction (cin 13, 3x3 = 117), residual, views", {
    h: 7,
    w: 6,
    cin: 13,
    cout: 20,
    k: 3,
    act: 1,
    residual: true,
    xView: [3, 5, 2],
    rView: [2, 4, 1],
    tile: { WG_M: 16, WG_N: 4, BK: 32, PIX4: 2, CH4: 1 },
  }],
  ["BK 32 with split-K 2, IN_NCHW", {
    h: 9,
    w: 8,
    cin: 24,
    cout: 12,
    k: 3,
    stride: 2,
    inNchw: true,
    tile: { WG_M: 8, WG_N: 4, BK: 32, CH4: 2, KSPLIT: 2 },
  }],
  ["BUFFERS 2: ragged reduction (cin 13, 3x3), batch 2, residual, views", {
    batch: 2,
    h: 7,
    w: 5,
    cin: 13,
    cout: 20,
    k: 3,
    act: 1,
    residual: true,
    xView: [3, 5, 2],
    rView: [2, 4, 1],
    tile: { WG_M: 8, WG_N: 8, BK: 16, BUFFERS: 2 },
  }],
  ["BUFFERS 2 + PREFETCH (8 A values, 2 B vec4s each), stride 2, views", {
    h: 9,
    w: 11,
    cin: 40,
    cout: 24,
    k: 3,
    stride: 2,
    act: 1,
    xView: [3, 8, 4],
    yView: [5, 4, 2],
    tile: { WG_M: 8, WG_N: 8, BK: 16, BUFFERS: 2, PREFETCH: 1 },
  }],
  ["PREFETCH with 4 B vec4s and 8 A values each (WG 4x8), split-K 2, residual", {
    h: 5,
    w: 9,
    cin: 36,
    cout: 28,
    k: 3,
    act: 1,
    residual: true,
    tile: { WG_M: 4, WG_N: 8, BK: 16, KSPLIT: 2, PREFETCH: 1 },
  }],
  ["BUFFERS 2 + PREFETCH with split-K 3 (uneven slices: 6, 6, 4 steps), BK 32", {
    h: 6,
    w: 7,
    cin: 56,
    cout: 16,
    k: 3,
    // 26128 bytes of workgroup memory: within 32768, the most some adapters allow (Dawn's GL backend).
    tile: { WG_M: 8, WG_N: 16, BK: 32, BUFFERS: 2, PREFETCH: 1, KSPLIT: 3 },
  }],
  ["BUFFERS 2, one K step only (1x1, cin 8), IN_NCHW, OUT_NCHW", {
    h: 6,
    w: 6,
    cin: 8,
    cout: 16,
    k: 1,
    inNchw: true,
    outNchw: true,
    tile: { WG_M: 16, WG_N: 4, BK: 16, BUFFERS: 2 },
  }],
  ["WG_K 2: ragged reduction (cin 13, 3x3: 4 steps of 32, the last 21 rows), batch 2, residual, views", {
    batch: 2,
    h: 7,
    w: 5,
    cin: 13,
    cout: 20,
    k: 3,
    act: 1,
    residual: true,
    xView: [3, 5, 2],
    rView: [2, 4, 1],
    tile: { WG_M: 8, WG_N: 8, BK: 16, WG_K: 2 },
  }],
  ["WG_K 4 on an 8x8 register tile (every accumulator parked), split-K 2, stride 2", {
    h: 9,
    w: 11,
    cin: 40,
    cout: 24,
    k: 3,
    stride: 2,
    act: 1,
    yView: [5, 4, 2],
    tile: { WG_M: 4, WG_N: 4, BK: 16, PIX4: 2, CH4: 2, WG_K: 4, KSPLIT: 2 },
  }],
  ["WG_K 2 + BUFFERS 2 + PREFETCH (8 A values, 4 B vec4s each), IN_NCHW", {
    h: 6,
    w: 7,
    cin: 56,
    cout: 16,
    k: 3,
    inNchw: true,
    tile: { WG_M: 4, WG_N: 8, BK: 16, WG_K: 2, BUFFERS: 2, PREFETCH: 1 },
  }],
  ["WG_K 2 on an 8x4 register tile, 1x1, residual", {
    h: 6,
    w: 6,
    cin: 72,
    cout: 12,
    k: 1,
    residual: true,
    tile: { WG_M: 8, WG_N: 4, BK: 16, PIX4: 2, WG_K: 2 },
  }],
  ["WG_K 4 on a 4x8 register tile, OUT_NCHW", {
    h: 5,
    w: 4,
    cin: 48,
    cout: 40,
    k: 3,
    outNchw: true,
    tile: { WG_M: 4, WG_N: 8, BK: 16, CH4: 2, WG_K: 4 },
  }],
  ["WG_K 4 with fewer reduction rows than one step (1x1, cin 8): idle groups", {
    h: 4,
    w: 5,
    cin: 8,
    cout: 16,
    k: 1,
    act: 1,
    tile: { WG_M: 4, WG_N: 4, BK: 16, WG_K: 4 },
  }],
  ["VEC_A: 1x1, 16 -> 12, aligned views in and out, residual", {
    batch: 2,
    h: 5,
    w: 7,
    cin: 16,
    cout: 12,
    k: 1,
    act: 1,
    residual: true,
    xView: [4, 8, 4],
    yView: [3, 5, 2],
    tile: { WG_M: 8, WG_N: 4, BK: 16, VEC_A: 1 },
  }],
  ["VEC_A: 3x3 s2, cin 8 (two vec4s per tap, a ragged last step), BUFFERS 2", {
    batch: 2,
    h: 9,
    w: 8,
    cin: 8,
    cout: 20,
    k: 3,
    stride: 2,
    act: 1,
    tile: { WG_M: 8, WG_N: 8, BK: 16, VEC_A: 1, BUFFERS: 2 },
  }],
  ["VEC_A: groups 2 (8 channels each) on an 8x8 register tile, split-K 2", {
    h: 6,
    w: 6,
    cin: 16,
    cout: 24,
    k: 3,
    groups: 2,
    xView: [8, 4, 0],
    tile: { WG_M: 4, WG_N: 4, BK: 16, PIX4: 2, CH4: 2, VEC_A: 1, KSPLIT: 2 },
  }],
  ["VEC_A: cin 4 (one vec4 per tap), WG_K 2, BK 32, 4x8 register tile", {
    h: 7,
    w: 5,
    cin: 4,
    cout: 32,
    k: 3,
    act: 1,
    tile: { WG_M: 4, WG_N: 8, BK: 32, CH4: 2, VEC_A: 1, WG_K: 2 },
  }],
  ["VEC_A: 5x5 pad 2, cin 12, 16x16 workgroup", {
    h: 8,
    w: 9,
    cin: 12,
    cout: 16,
    k: 5,
    xView: [0, 4, 4],
    tile: { WG_M: 16, WG_N: 16, BK: 16, VEC_A: 1 },
  }],
  ["every autotune candidate of a 64 -> 64 3x3 layer", { h: 12, w: 10, cin: 64, cout: 64, k: 3, act: 1 }],
  ["every grouped (WG_K) candidate of a small-map 64 -> 48 3x3 layer", {
    h: 5,
    w: 4,
    cin: 64,
    cout: 48,
    k: 3,
  }],
];

cases.forEach(([name, c], i) => {
  if (name.startsWith("every grouped")) {
    Deno.test(`conv2d: ${name}`, async () => {
      const pixels = c.h * c.w;
      // lavapipe's limits (32 KiB, 1024 invocations), as the autotuner passes the device's.
      const shapes = conv2dTileCandidates(c.cout, pixels, 1, 264, 32768, 256, 1);
      const grouped = conv2dGroupCandidates(shapes, 9 * c.cin, pixels, c.cout, 1, 264, 32768, 1024);
      assert.ok(grouped.length >= 5, `${grouped.length} candidates`);
      assert.ok(grouped.some((t) => t.KSPLIT > 1) && grouped.some((t) => t.WG_K === 8));
      // HALF_MATH picks a kernel (the autotuner's business), it is no override.
      for (const { HALF_MATH: _, ...tile } of grouped) await check({ ...c, tile }, 1000 * (i + 1));
    });
    return;
  }
  if (name.startsWith("every autotune candidate")) {
    Deno.test(`conv2d: ${name}`, async () => {
      const shapes = conv2dTileCandidates(c.cout, (c.batch ?? 1) * c.h * c.w, 1, 264, 16384, 256, 1);
      assert.ok(shapes.length >= 10, `${shapes.length} candidates`);
      const deep = conv2dDepthCandidates(shapes, 9 * c.cin, 16384);
      const double = conv2dBufferCandidates(shapes, 16384);
      assert.ok(double.some((t) => t.PREFETCH) && double.some((t) => !t.PREFETCH), "BUFFERS 2 variants");
      assert.ok(
        deep.length >= 3 && deep.every((t) => t.BK === 32 && t.PIX4 === 1 && t.CH4 === 1),
        "BK 32 variants",
      );
      const tiles = [...shapes, ...conv2dPrefetchCandidates(shapes), ...deep, ...double];
      assert.ok(tiles.length > shapes.length + 5, "prefetching variants");
      for (const tile of tiles) await check({ ...c, tile }, 1000 * (i + 1));
    });
    return;
  }
  Deno.test(`conv2d: ${name}`, () => check(c, 1000 * (i + 1)));
});

cases.forEach(([name, c], i) => {
  Deno.test(`conv2d_f16: ${name}`, () => check(c, 1000 * (i + 1), true));
});

// f16 arithmetic: every case but those with invocation groups along the reduction (WG_K 1 only).
cases.forEach(([name, c], i) => {
  if (name.startsWith("every grouped") || (c.tile?.WG_K ?? 1) > 1) return;
  Deno.test(`conv2d_f16_math: ${name}`, () => check(c, 1000 * (i + 1), true, true));
});

Deno.test("conv2d_f16_math: sums each step in f16 (not all in f32), and takes WG_K 1 only", async () => {
  assert.throws(() => conv2dF16Math.validate!({ ...conv2dF16Math.overrides, WG_K: 2 }), RangeError);
  assert.match(conv2dF16Math.code, /alias T = S;/);
  assert.match(conv2dF16Math.code, /const HALF_MATH = true;/);
  // 64 products (1 + 2^-10)(1 + 3 * 2^-10) in 4 steps of 16: f16 sums round the small parts once the
  // running sum passes 4 (spacing 2^-8), f32 sums keep them; the bias -64 leaves the difference visible.
  const cin = 64;
  const [xv, wv] = [1 + 2 ** -10, 1 + 3 * 2 ** -10];
  const x = new Float32Array(cin).fill(xv);
  const w = new Float32Array(cin).fill(wv);
  const run = (spec: typeof conv2d) =>
    runKernel(spec, {
      inputs: { x, w: packConv2dWeight(w, [1, cin, 1, 1]), b: new Float32Array([-64]) },
      outputs: { y: new Float32Array(1), p: new Float32Array(1) },
      params: {
        batch: 1,
        inH: 1,
        inW: 1,
        inC: cin,
        outH: 1,
        outW: 1,
        outC: 1,
        groups: 1,
        pad: 0,
        xBase: 0,
        xStride: cin,
        xOff: 0,
        yBase: 0,
        yStride: 1,
        yOff: 0,
        rBase: 0,
        rStride: 0,
        rOff: 0,
        catBase: 0,
        catStride: 0,
        catOff: 0,
        catC: 0,
      },
      overrides: { KSIZE: 1, WG_M: 16, WG_N: 4, BK: 16 },
    });
  const f16 = (a: number) => new Float16Array([a])[0];
  // f16 step sums, one rounding per row (a fused f16 fma, as NVIDIA's) or two (product, then sum: lavapipe).
  const stepSums = (fused: boolean) => {
    let step = 0;
    for (let i = 0; i < 16; i++) step = fused ? f16(xv * wv + step) : f16(f16(xv * wv) + step);
    return f16(Math.fround(4 * step) - 64); // four step sums added in f32, plus the bias
  };
  const f32Sums = f16(Math.fround(cin * xv * wv) - 64); // the f32 sum plus bias, stored as f16
  const half = [stepSums(true), stepSums(false)];
  assert.ok(half.every((h) => h !== f32Sums), `${half} vs ${f32Sums}`);
  assert.equal((await run(conv2dF16)).y[0], f32Sums, "f32 sums");
  const got = (await run(conv2dF16Math)).y[0];
  assert.ok(half.includes(got), `f16 sums within each step of 16: ${got}, expected one of ${half}`);
});

Deno.test("conv2d: packConv2dWeight layout with groups", () => {
  // cout 4, cinG 1, 1x1, groups 2: group rows of 2 channels padded to 4.
  const packed = packConv2dWeight(new Float32Array([1, 2, 3, 4]), [4, 1, 1, 1], 2);
  assert.deepEqual([...packed], [1, 2, 0, 0, 3, 4, 0, 0]);
});

Deno.test("conv2d: validate rejects WG_M * WG_N not a multiple of BK, and register tiles other than 1 or 2", () => {
  assert.throws(() => conv2d.validate!({ ...conv2d.overrides, WG_M: 3, WG_N: 3, BK: 16 }), RangeError);
  assert.throws(() => conv2d.validate!({ ...conv2d.overrides, PIX4: 3 }), RangeError);
  assert.throws(() => conv2d.validate!({ ...conv2d.overrides, CH4: 0 }), RangeError);
  assert.throws(
    () => conv2d.validate!({ ...conv2d.overrides, WG_M: 64, WG_N: 1, PIX4: 2, PREFETCH: 1 }),
    RangeError,
  );
  assert.throws(() => conv2d.validate!({ ...conv2d.overrides, VEC_A: 1, PREFETCH: 1 }), RangeError);
  assert.throws(() => conv2d.validate!({ ...conv2d.overrides, VEC_A: 1, IN_NCHW: 1 }), RangeError);
});

Deno.test("conv2d: autotune candidates fit the limits, span the layer and start with the heuristic", () => {
  for (const [cout, pixels] of [[16, 102400], [64, 25600], [256, 400], [80, 1600], [32, 6400]]) {
    const tiles = conv2dTileCandidates(cout, pixels, 1, 264, 32768, 256);
    assert.deepEqual(tiles[0], { ...conv2dTile(cout, pixels), PIX4: 1, CH4: 1 });
    assert.equal(new Set(tiles.map((t) => JSON.stringify(t))).size, tiles.length);
    for (const t of tiles) {
      assert.ok(t.WG_M * t.WG_N <= 256 && conv2dTileBytes(t) <= 32768, JSON.stringify(t));
      assert.ok(4 * t.WG_N * t.CH4! <= Math.max(16, Math.ceil(cout / 16) * 16), JSON.stringify(t));
    }
  }
  // A tight workgroup-memory limit drops the big shapes.
  const small = conv2dTileCandidates(64, 25600, 1, 264, 8192, 256);
  assert.ok(small.length > 0 && small.every((t) => conv2dTileBytes(t) <= 8192));
  assert.ok(small.length < conv2dTileCandidates(64, 25600, 1, 264, 32768).length);
});
