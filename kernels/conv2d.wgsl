// conv2d: general 2-D convolution (any square kernel, stride, padding, groups) as an implicit GEMM,
// with bias, optional SiLU and optional residual add fused into the epilogue.
//
// GEMM view, per group g: out[m, n] = sum_k A[m, k] * B[k, n] where
//   m = (image, oy, ox) output pixel, n = output channel within the group,
//   k = (ky * KSIZE + kx) * cinG + ci  (channel fastest, matching NHWC memory order).
// A workgroup owns a BM x BN output tile (BM = 4 * PIX4 * WG_M pixels, BN = 4 * CH4 * WG_N channels)
// of one group. Each step stages a BM x BK patch tile of A (gathered from the input, im2col on the
// fly) and a BK x BN weight tile of B in workgroup memory, both as vec4 rows; each invocation then
// accumulates a (4 * PIX4) x (4 * CH4) register tile with PIX4 vec4 loads of A and CH4 of B per
// 16 * PIX4 * CH4 FMAs (larger register tiles reuse each load more: the big-GPU autotuner's knob).
// With WG_K > 1 the workgroup is WG_K such groups of WG_M x WG_N invocations: each step stages BK * WG_K
// reduction rows and group kg multiplies rows kg * BK .. kg * BK + BK - 1; the groups' sums are added in
// workgroup memory before the epilogue (a split of the reduction without partial sums in memory or a
// second dispatch, for small maps with long reductions).
// Weights are pre-packed on the CPU (packConv2dWeight) as [group][k][ceil(coutG / 4)] vec4, zero
// padded, so every weight load is one aligned vec4.
// With PRE_K > 0 (a 1x1 conv, stride 1, one group, NHWC input) the A values are a depthwise PRE_K x PRE_K
// conv of x (stride 1, zero padding PRE_K / 2) with its bias and optional SiLU (PRE_ACT), computed as they
// are staged: a DWConv followed by a pointwise Conv (Ultralytics' Detect cv3 branches) in one dispatch.
// With POST_N > 0 the layer is followed by a 1x1 conv to POST_N channels inside the same dispatch: the
// workgroup's tile (all outC channels: one tile along N, no split reduction) gets its bias and activation and
// goes to workgroup memory instead of y; the 1x1 conv (its weights and bias in aux, POST_ACT, then RESIDUAL)
// multiplies it and writes y, which then has POST_N channels (a Conv followed by a 1x1 Conv: the Segment
// head's box and mask-coefficient branches, Proto's last two convs, PSA's feed-forward). Both together: a
// DWConv -> Conv -> 1x1 Conv chain (the Segment head's class branches) in one dispatch.
//
// With POST_CAT 1 the post-conv's input is params.catC channels read from memory (a view in r's buffer) followed
// by the tile's channels (2: the tile's first), and RESIDUAL adds r to the tile (before the post-conv) instead
// of to y: a C2f/C3k2 block's last Bottleneck conv (x + cv2(cv1(x))) with the block's cv2, the 1x1 conv over
// the concat of the block's cv1 output (memory) and that Bottleneck's output (the tile); or a head's
// downsampling conv with the next block's cv1 over the concat of its output (the tile) and an earlier level's
// (memory); in one dispatch.
//
// With UP_R > 0 every value written to y is also written to the UP_R x UP_R block of r's view (a map UP_R
// times larger; NHWC) that a nearest upsample would copy it to: a Conv followed by nn.Upsample (the YOLO
// heads') in one dispatch, r then being the upsample's output instead of a residual.
//
// Views: activation element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c
// (NHWC), or with IN_NCHW / OUT_NCHW at base + ((b * stride + off + c) * H + y) * W + x.

// Element type of activations (and of weights bound as storage) in memory: f32 here, f16 in its f16 variant (f16Variant),
// which differs from this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;
// Arithmetic of the tile products: f32, or f16 in the half-math variant (halfMathVariant: `alias T = S;` and
// HALF_MATH true, on top of the f16 variant), where each reduction step's products are summed in f16 (packed
// f16 FMAs, half the workgroup memory) and then added to the f32 accumulators, so that f16 rounding spans
// the BK products of a step, not the whole reduction.
alias T = f32;
const HALF_MATH = false;

struct Params {
  batch: u32,
  inH: u32,
  inW: u32,
  inC: u32,
  outH: u32,
  outW: u32,
  outC: u32,
  groups: u32,
  pad: u32,
  xBase: u32,
  xStride: u32,
  xOff: u32,
  yBase: u32,
  yStride: u32,
  yOff: u32,
  rBase: u32,
  rStride: u32,
  rOff: u32,
  // POST_CAT: the view (in r's buffer) of the catC channels the post-conv reads besides the tile's.
  catBase: u32,
  catStride: u32,
  catOff: u32,
  catC: u32,
}

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read> w: array<vec4<S>>;
@group(0) @binding(2) var<storage, read> b: array<S>;
// The residual or the concat value, read (through y instead with R_IN_Y); or with UP_R the upsampled copy, written.
@group(0) @binding(3) var<storage, read_write> r: array<S>;
@group(0) @binding(4) var<storage, read_write> y: array<S>;
// Split-K partial sums, f32 in both variants: [slice][pixel][outC] (a 4-byte dummy when KSPLIT is 1).
@group(0) @binding(5) var<storage, read_write> p: array<f32>;
// x again, as vec4s (VEC_A): bound to the same buffer (a dummy when VEC_A is off).
@group(0) @binding(6) var<storage, read> x4: array<vec4<S>>;
// The depthwise pre-conv (PRE_K > 0): [tap][ceil(inC / 4)] weight vec4s, then its bias as ceil(inC / 4)
// vec4s (packConv2dPreWeight); or the 1x1 post-conv (POST_N > 0): [outC][ceil(POST_N / 4)] weight vec4s, then
// its bias as ceil(POST_N / 4) vec4s (packConv2dPostWeight); with both, the pre-conv's first and the
// post-conv's after it (postBase()). Otherwise a dummy.
@group(0) @binding(7) var<storage, read> aux: array<vec4<S>>;
@group(0) @binding(8) var<uniform> params: Params;

// 0: identity, 1: SiLU x * sigmoid(x).
override ACT: u32 = 0u;
// Square kernel size and stride.
override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
// Add r (same view shape as y) after the activation: Ultralytics Bottleneck x + cv2(cv1(x)).
override RESIDUAL: bool = false;
// Read x as NCHW / write y as NCHW instead of NHWC.
override IN_NCHW: bool = false;
override OUT_NCHW: bool = false;
// Invocations along output pixels and along output-channel vec4s; BK = reduction depth per step (of each
// of WG_K invocation groups along the reduction).
override WG_M: u32 = 16u;
override WG_N: u32 = 16u;
override BK: u32 = 16u; // a multiple of 4
override WG_K: u32 = 1u;
// Register tile per invocation: PIX4 groups of 4 consecutive pixels x CH4 vec4s of channels (1 or 2 each).
override PIX4: u32 = 1u;
override CH4: u32 = 1u;

// Split the reduction over KSPLIT workgroups per output tile (more workgroups for small maps with deep
// reductions): each writes its raw partial sums to p, and conv2d_splitk_reduce adds them up and applies
// bias, activation and residual. 1: no split, the epilogue here.
override KSPLIT: u32 = 1u;

// Load the next reduction step's A and B values into registers while this step computes (hides global
// load latency; needs aPer() of 1, 2, 4 or 8 A values and bPer() <= 4 B vec4s per invocation).
override PREFETCH: bool = false;
// Stage A four reduction rows at a time: one vec4 load of 4 consecutive input channels of a pixel and tap
// (NHWC input whose channels per group, view base, stride and offset are multiples of 4; no PREFETCH).
override VEC_A: bool = false;
// Workgroup tile buffers, 1 or 2. With 2 the next step is staged into the other buffer during this step's
// products, so each step needs one barrier instead of two (with PREFETCH: loads issued before the
// products, stored after them).
override BUFFERS: u32 = 1u;
// Depthwise pre-conv window (0: none) and its activation (0: identity, 1: SiLU); see the top.
override PRE_K: u32 = 0u;
override PRE_ACT: u32 = 0u;
// 1x1 post-conv output channels (0: none) and its activation; see the top.
override POST_N: u32 = 0u;
override POST_ACT: u32 = 0u;
// The post-conv also reads params.catC channels from r's buffer: 0 no, 1 before the tile's, 2 after; see the top.
override POST_CAT: u32 = 0u;
// Tile rows per post-conv work item (1 or 4): with 4 each weight vec4 loaded serves four pixels.
override POST_ROWS: u32 = 1u;
// Nearest upsample factor of the copy written to r (0: none; needs RESIDUAL off); see the top.
override UP_R: u32 = 0u;
// r's view lies in y's buffer (a residual or concat value in the region y is written into): r's values are read
// through y, and r is bound to a dummy. WebGPU forbids two bindings of one buffer where one is writable.
override R_IN_Y: bool = false;


// Accumulators for the largest register tile: 8 pixels x 2 channel vec4s.
const MAX_ACC = 16u;
// Marks a pixel-table row past the end: every iy computed from it is negative.
const NO_PIXEL = -1073741824;

// A tile, [depth()][PIX4 * WG_M + 1] vec4s: row kb holds 4 consecutive pixels per vec4, so an invocation
// reads each group of 4 pixels with one load (the +1 vec4 per row spreads the scalar stores across banks).
// BUFFERS of them, one after the other.
var<workgroup> aTile: array<vec4<T>, BUFFERS * BK * WG_K * (PIX4 * WG_M + 1u)>;
// B tile, [depth()][CH4 * WG_N] vec4s (BUFFERS of them).
var<workgroup> bTile: array<vec4<T>, BUFFERS * BK * WG_K * CH4 * WG_N>;

// Reduction rows staged per step (all invocation groups), and invocations per workgroup.
fn depth() -> u32 {
  return BK * WG_K;
}
fn invocations() -> u32 {
  return WG_M * WG_N * WG_K;
}
// Per tile row: (image, oy * STRIDE - pad, ox * STRIDE - pad).
var<workgroup> pixTile: array<vec3<i32>, 4u * PIX4 * WG_M>;
// POST_N > 0: the layer's own output tile (bias and activation applied), [pixel row][channel], BM x BN.
var<workgroup> eTile: array<f32, select(1u, 16u * PIX4 * WG_M * CH4 * WG_N, POST_N > 0u)>;

fn xIndex(n: u32, iy: u32, ix: u32, c: u32) -> u32 {
  if (IN_NCHW) {
    return params.xBase + ((n * params.xStride + c) * params.inH + iy) * params.inW + ix;
  }
  return params.xBase + ((n * params.inH + iy) * params.inW + ix) * params.xStride + c;
}

fn outIndex(base: u32, stride: u32, n: u32, oy: u32, ox: u32, c: u32) -> u32 {
  if (OUT_NCHW) {
    return base + ((n * stride + c) * params.outH + oy) * params.outW + ox;
  }
  return base + ((n * params.outH + oy) * params.outW + ox) * stride + c;
}

// Element i of r's buffer: read through y when r's view lies in y's buffer (R_IN_Y).
fn rAt(i: u32) -> f32 {
  if (R_IN_Y) {
    return f32(y[i]);
  }
  return f32(r[i]);
}

// UP_R > 0: output value v at (n, oy, ox, channel ch) into its UP_R x UP_R block of r's NHWC view.
fn storeUp(n: u32, oy: u32, ox: u32, ch: u32, v: S) {
  let h = params.outH * UP_R;
  let w = params.outW * UP_R;
  for (var dy = 0u; dy < UP_R; dy++) {
    for (var dx = 0u; dx < UP_R; dx++) {
      r[params.rBase + ((n * h + oy * UP_R + dy) * w + ox * UP_R + dx) * params.rStride + params.rOff + ch] = v;
    }
  }
}

// A value of tile row i at reduction position (ky, kx, input channel c): 0 outside the map or past kTotal.
fn loadA(i: u32, kOk: bool, ky: u32, kx: u32, c: u32) -> T {
  let px = pixTile[i];
  let iy = px.y + i32(ky);
  let ix = px.z + i32(kx);
  if (kOk && iy >= 0 && iy < i32(params.inH) && ix >= 0 && ix < i32(params.inW)) {
    if (PRE_K > 0u) {
      return T(preConv(u32(px.x), iy, ix, c - params.xOff));
    }
    return T(x[xIndex(u32(px.x), u32(iy), u32(ix), c)]);
  }
  return 0.0;
}

// The depthwise pre-conv at pixel (n, iy, ix), input channel ch (counted from the view's first channel):
// bias + the taps inside the map, then PRE_ACT.
fn preConv(n: u32, iy: i32, ix: i32, ch: u32) -> f32 {
  let c4s = (params.inC + 3u) / 4u;
  let q = ch / 4u;
  let lane = ch % 4u;
  let r = i32(PRE_K / 2u);
  var v = f32(aux[PRE_K * PRE_K * c4s + q][lane]);
  for (var ty = 0u; ty < PRE_K; ty++) {
    let y = iy + i32(ty) - r;
    if (y < 0 || y >= i32(params.inH)) {
      continue;
    }
    for (var tx = 0u; tx < PRE_K; tx++) {
      let xx = ix + i32(tx) - r;
      if (xx < 0 || xx >= i32(params.inW)) {
        continue;
      }
      let xv = f32(x[xIndex(n, u32(y), u32(xx), params.xOff + ch)]);
      v = fma(f32(aux[(ty * PRE_K + tx) * c4s + q][lane]), xv, v);
    }
  }
  if (PRE_ACT == 1u) {
    v = v / (1.0 + exp(-v));
  }
  return v;
}

// preConv for the four channels ch .. ch + 3 (ch a multiple of 4; VEC_A's aligned views).
fn preConv4(n: u32, iy: i32, ix: i32, ch: u32) -> vec4<f32> {
  let c4s = (params.inC + 3u) / 4u;
  let q = ch / 4u;
  let r = i32(PRE_K / 2u);
  var v = vec4<f32>(aux[PRE_K * PRE_K * c4s + q]);
  for (var ty = 0u; ty < PRE_K; ty++) {
    let y = iy + i32(ty) - r;
    if (y < 0 || y >= i32(params.inH)) {
      continue;
    }
    for (var tx = 0u; tx < PRE_K; tx++) {
      let xx = ix + i32(tx) - r;
      if (xx < 0 || xx >= i32(params.inW)) {
        continue;
      }
      let xv = vec4<f32>(x4[xIndex(n, u32(y), u32(xx), params.xOff + ch) / 4u]);
      v = fma(vec4<f32>(aux[(ty * PRE_K + tx) * c4s + q]), xv, v);
    }
  }
  if (PRE_ACT == 1u) {
    v = v / (1.0 + exp(-v));
  }
  return v;
}

// The A values of tile row i at reduction positions (ky, kx, input channels c .. c + 3), c a multiple of 4
// (VEC_A): 0 outside the map or past kTotal (a multiple of 4 then).
fn loadA4(i: u32, kOk: bool, ky: u32, kx: u32, c: u32) -> vec4<T> {
  let px = pixTile[i];
  let iy = px.y + i32(ky);
  let ix = px.z + i32(kx);
  if (kOk && iy >= 0 && iy < i32(params.inH) && ix >= 0 && ix < i32(params.inW)) {
    if (PRE_K > 0u) {
      return vec4<T>(preConv4(u32(px.x), iy, ix, c - params.xOff));
    }
    return vec4<T>(x4[xIndex(u32(px.x), u32(iy), u32(ix), c) / 4u]);
  }
  return vec4<T>(0.0);
}

// B tile entry j (row j / bRowLen, channel vec4 j % bRowLen) of reduction step kStep: 0 past the ends.
fn loadB(j: u32, kStep: u32, g: u32, n0: u32, kTotal: u32, coutG4: u32, bRowLen: u32) -> vec4<T> {
  let kb = kStep * depth() + j / bRowLen;
  let n4 = n0 / 4u + j % bRowLen;
  if (j < depth() * bRowLen && kb < kTotal && n4 < coutG4) {
    return vec4<T>(w[(g * kTotal + kb) * coutG4 + n4]);
  }
  return vec4<T>(0.0);
}

// Where this invocation stages A values: column kk of the A tile, rows aRow, aRow + nt / depth(), ...; and the
// reduction position (ky, kx, input channel c) of that column at the step being staged.
struct Stager {
  kk: u32,
  aRow: u32,
  lid: u32,
  kOk: bool,
  ky: u32,
  kx: u32,
  c: u32,
}

// Weight-side coordinates of a B tile: group, first channel, reduction length, channel vec4s per group.
struct BSide {
  g: u32,
  n0: u32,
  kTotal: u32,
  coutG4: u32,
}

// Loads step kStep's A and B values and stores them into tile buffer buf.
fn stageDirect(buf: u32, kStep: u32, st: Stager, bs: BSide) {
  let aRowLen = PIX4 * WG_M + 1u;
  let bRowLen = CH4 * WG_N;
  let nt = invocations();
  let aAt = buf * depth() * aRowLen + st.kk * aRowLen;
  if (VEC_A) {
    // Columns kk .. kk + 3 (kk a multiple of 4), rows aRow, aRow + 4 * nt / depth(), ...
    for (var i = st.aRow; i < 4u * PIX4 * WG_M; i += 4u * nt / depth()) {
      let v = loadA4(i, st.kOk, st.ky, st.kx, st.c);
      aTile[aAt + i / 4u][i % 4u] = v.x;
      aTile[aAt + aRowLen + i / 4u][i % 4u] = v.y;
      aTile[aAt + 2u * aRowLen + i / 4u][i % 4u] = v.z;
      aTile[aAt + 3u * aRowLen + i / 4u][i % 4u] = v.w;
    }
  } else {
    for (var i = st.aRow; i < 4u * PIX4 * WG_M; i += nt / depth()) {
      aTile[aAt + i / 4u][i % 4u] = loadA(i, st.kOk, st.ky, st.kx, st.c);
    }
  }
  for (var j = st.lid; j < depth() * bRowLen; j += nt) {
    bTile[buf * depth() * bRowLen + j] = loadB(j, kStep, bs.g, bs.n0, bs.kTotal, bs.coutG4, bRowLen);
  }
}

// A values and B vec4s each invocation stages per reduction step (constants once the overrides are set).
fn aPer() -> u32 {
  return 4u * PIX4 * WG_M * depth() / invocations();
}
fn bPer() -> u32 {
  return (depth() * CH4 * WG_N + invocations() - 1u) / invocations();
}

// Prefetch registers (constant indices only, so they stay registers): A values of rows aRow + r * nt / depth(),
// B entries lid + r * nt.
struct Regs {
  a0: T,
  a1: T,
  a2: T,
  a3: T,
  a4: T,
  a5: T,
  a6: T,
  a7: T,
  b0: vec4<T>,
  b1: vec4<T>,
  b2: vec4<T>,
  b3: vec4<T>,
}

// Loads step kStep's A and B values into registers.
fn loadRegs(kStep: u32, st: Stager, bs: BSide) -> Regs {
  let step = invocations() / depth();
  let bRowLen = CH4 * WG_N;
  let nt = invocations();
  var r: Regs;
  r.a0 = loadA(st.aRow, st.kOk, st.ky, st.kx, st.c);
  if (aPer() > 1u) {
    r.a1 = loadA(st.aRow + step, st.kOk, st.ky, st.kx, st.c);
  }
  if (aPer() > 2u) {
    r.a2 = loadA(st.aRow + 2u * step, st.kOk, st.ky, st.kx, st.c);
    r.a3 = loadA(st.aRow + 3u * step, st.kOk, st.ky, st.kx, st.c);
  }
  if (aPer() > 4u) {
    r.a4 = loadA(st.aRow + 4u * step, st.kOk, st.ky, st.kx, st.c);
    r.a5 = loadA(st.aRow + 5u * step, st.kOk, st.ky, st.kx, st.c);
    r.a6 = loadA(st.aRow + 6u * step, st.kOk, st.ky, st.kx, st.c);
    r.a7 = loadA(st.aRow + 7u * step, st.kOk, st.ky, st.kx, st.c);
  }
  r.b0 = loadB(st.lid, kStep, bs.g, bs.n0, bs.kTotal, bs.coutG4, bRowLen);
  if (bPer() > 1u) {
    r.b1 = loadB(st.lid + nt, kStep, bs.g, bs.n0, bs.kTotal, bs.coutG4, bRowLen);
  }
  if (bPer() > 2u) {
    r.b2 = loadB(st.lid + 2u * nt, kStep, bs.g, bs.n0, bs.kTotal, bs.coutG4, bRowLen);
    r.b3 = loadB(st.lid + 3u * nt, kStep, bs.g, bs.n0, bs.kTotal, bs.coutG4, bRowLen);
  }
  return r;
}

// Stores registers loaded by loadRegs into tile buffer buf.
fn storeRegs(buf: u32, r: Regs, kk: u32, aRow: u32, lid: u32) {
  let step = invocations() / depth();
  let aRowLen = PIX4 * WG_M + 1u;
  let bRowLen = CH4 * WG_N;
  let nt = invocations();
  let aAt = buf * depth() * aRowLen + kk * aRowLen;
  storeA(aAt, aRow, r.a0);
  if (aPer() > 1u) {
    storeA(aAt, aRow + step, r.a1);
  }
  if (aPer() > 2u) {
    storeA(aAt, aRow + 2u * step, r.a2);
    storeA(aAt, aRow + 3u * step, r.a3);
  }
  if (aPer() > 4u) {
    storeA(aAt, aRow + 4u * step, r.a4);
    storeA(aAt, aRow + 5u * step, r.a5);
    storeA(aAt, aRow + 6u * step, r.a6);
    storeA(aAt, aRow + 7u * step, r.a7);
  }
  let bAt = buf * depth() * bRowLen;
  if (lid < depth() * bRowLen) {
    bTile[bAt + lid] = r.b0;
  }
  if (bPer() > 1u && lid + nt < depth() * bRowLen) {
    bTile[bAt + lid + nt] = r.b1;
  }
  if (bPer() > 2u && lid + 2u * nt < depth() * bRowLen) {
    bTile[bAt + lid + 2u * nt] = r.b2;
  }
  if (bPer() > 2u && lid + 3u * nt < depth() * bRowLen) {
    bTile[bAt + lid + 3u * nt] = r.b3;
  }
}

// Moves the staging position (k, ci, kx, ky) on by one reduction step of depth() (no divisions).
fn advance(k: ptr<function, u32>, ci: ptr<function, u32>, kx: ptr<function, u32>, ky: ptr<function, u32>, cinG: u32) {
  *k += depth();
  *ci += depth();
  while (*ci >= cinG) {
    *ci -= cinG;
    *kx += 1u;
    if (*kx == KSIZE) {
      *kx = 0u;
      *ky += 1u;
    }
  }
}

// Stores A value v of tile row i into the column starting at aTile[aAt].
fn storeA(aAt: u32, i: u32, v: T) {
  aTile[aAt + i / 4u][i % 4u] = v;
}

// One reduction row of the tile product for this invocation's register tile: acc += A x B, with the row's
// first A vec4 at aTile[ai] (PIX4 of them) and first B vec4 at bTile[bi] (CH4 of them, WG_N apart).
fn mac(acc: ptr<function, array<vec4<T>, MAX_ACC>>, ai: u32, bi: u32) {
  let a0 = aTile[ai];
  let b0 = bTile[bi];
  (*acc)[0] = fma(vec4<T>(a0.x), b0, (*acc)[0]);
  (*acc)[2] = fma(vec4<T>(a0.y), b0, (*acc)[2]);
  (*acc)[4] = fma(vec4<T>(a0.z), b0, (*acc)[4]);
  (*acc)[6] = fma(vec4<T>(a0.w), b0, (*acc)[6]);
  var b1 = vec4<T>(0.0);
  if (CH4 == 2u) {
    b1 = bTile[bi + WG_N];
    (*acc)[1] = fma(vec4<T>(a0.x), b1, (*acc)[1]);
    (*acc)[3] = fma(vec4<T>(a0.y), b1, (*acc)[3]);
    (*acc)[5] = fma(vec4<T>(a0.z), b1, (*acc)[5]);
    (*acc)[7] = fma(vec4<T>(a0.w), b1, (*acc)[7]);
  }
  if (PIX4 == 2u) {
    let a1 = aTile[ai + 1u];
    (*acc)[8] = fma(vec4<T>(a1.x), b0, (*acc)[8]);
    (*acc)[10] = fma(vec4<T>(a1.y), b0, (*acc)[10]);
    (*acc)[12] = fma(vec4<T>(a1.z), b0, (*acc)[12]);
    (*acc)[14] = fma(vec4<T>(a1.w), b0, (*acc)[14]);
    if (CH4 == 2u) {
      (*acc)[9] = fma(vec4<T>(a1.x), b1, (*acc)[9]);
      (*acc)[11] = fma(vec4<T>(a1.y), b1, (*acc)[11]);
      (*acc)[13] = fma(vec4<T>(a1.z), b1, (*acc)[13]);
      (*acc)[15] = fma(vec4<T>(a1.w), b1, (*acc)[15]);
    }
  }
}

// Where an invocation's register tile lands: its first pixel and channel, group, split-K slice, and the
// pixel and per-group channel counts.
struct Tile {
  m: u32,
  n: u32,
  g: u32,
  slice: u32,
  pixels: u32,
  coutG: u32,
}

// Stores accumulator row `row` (pixel t.m + row), channel vec4 `c` (channels t.n + 4 * c * WG_N + 0..3):
// the raw sums to p when split, else bias, activation and residual into y. Skips pixels and channels past the ends.
fn store(t: Tile, row: u32, c: u32, v4: vec4<f32>) {
  let m = t.m + row;
  if (m >= t.pixels) {
    return;
  }
  let ox = m % params.outW;
  let q = m / params.outW;
  let oy = q % params.outH;
  let n = q / params.outH;
  for (var j = 0u; j < 4u; j++) {
    let co = t.n + 4u * c * WG_N + j;
    if (co >= t.coutG) {
      return;
    }
    let ch = t.g * t.coutG + co;
    if (KSPLIT > 1u) {
      p[(t.slice * t.pixels + m) * params.outC + ch] = v4[j];
      continue;
    }
    var v = v4[j] + f32(b[ch]);
    if (ACT == 1u) {
      v = v / (1.0 + exp(-v));
    }
    if (RESIDUAL) {
      v += rAt(outIndex(params.rBase, params.rStride, n, oy, ox, params.rOff + ch));
    }
    y[outIndex(params.yBase, params.yStride, n, oy, ox, params.yOff + ch)] = S(v);
    if (UP_R > 0u) {
      storeUp(n, oy, ox, ch, S(v));
    }
  }
}

// With WG_K > 1, invocation groups 1 .. WG_K - 1 park their register tiles for group 0 to add up, in the
// workgroup tiles (idle once the reduction is done): the B tile, then the A tile, laid out as
// [group - 1][accumulator slot][invocation in its group] (the spec's validate checks that they fit).
// Where accumulator j (acc[2 * row + c]) of invocation lidK of group kg > 0 goes: slots count only the
// 4 * PIX4 * CH4 accumulators the register tile uses.
fn parkedIndex(kg: u32, lidK: u32, j: u32) -> u32 {
  let slot = select(j / 2u, j, CH4 == 2u);
  return ((kg - 1u) * 4u * PIX4 * CH4 + slot) * WG_M * WG_N + lidK;
}

// (With HALF_MATH the tiles are f16: that variant's validate allows WG_K 1 only.)
fn parkAt(i: u32, v: vec4<f32>) {
  let bLen = BUFFERS * depth() * CH4 * WG_N;
  if (i < bLen) {
    bTile[i] = vec4<T>(v);
  } else {
    aTile[i - bLen] = vec4<T>(v);
  }
}

fn parkedAt(i: u32) -> vec4<f32> {
  let bLen = BUFFERS * depth() * CH4 * WG_N;
  if (i < bLen) {
    return vec4<f32>(bTile[i]);
  }
  return vec4<f32>(aTile[i - bLen]);
}

// Adds the products summed in part (type T) to the f32 accumulators and clears part: after every step with
// HALF_MATH, once after the reduction otherwise (then part was the accumulator itself).
fn fold(acc: ptr<function, array<vec4<f32>, MAX_ACC>>, part: ptr<function, array<vec4<T>, MAX_ACC>>) {
  (*acc)[0] += vec4<f32>((*part)[0]);
  (*acc)[2] += vec4<f32>((*part)[2]);
  (*acc)[4] += vec4<f32>((*part)[4]);
  (*acc)[6] += vec4<f32>((*part)[6]);
  if (CH4 == 2u) {
    (*acc)[1] += vec4<f32>((*part)[1]);
    (*acc)[3] += vec4<f32>((*part)[3]);
    (*acc)[5] += vec4<f32>((*part)[5]);
    (*acc)[7] += vec4<f32>((*part)[7]);
  }
  if (PIX4 == 2u) {
    (*acc)[8] += vec4<f32>((*part)[8]);
    (*acc)[10] += vec4<f32>((*part)[10]);
    (*acc)[12] += vec4<f32>((*part)[12]);
    (*acc)[14] += vec4<f32>((*part)[14]);
    if (CH4 == 2u) {
      (*acc)[9] += vec4<f32>((*part)[9]);
      (*acc)[11] += vec4<f32>((*part)[11]);
      (*acc)[13] += vec4<f32>((*part)[13]);
      (*acc)[15] += vec4<f32>((*part)[15]);
    }
  }
  *part = array<vec4<T>, MAX_ACC>();
}

// Parks this invocation's register tile (constant indices into acc only).
fn park(kg: u32, lidK: u32, acc: ptr<function, array<vec4<f32>, MAX_ACC>>) {
  parkAt(parkedIndex(kg, lidK, 0u), (*acc)[0]);
  parkAt(parkedIndex(kg, lidK, 2u), (*acc)[2]);
  parkAt(parkedIndex(kg, lidK, 4u), (*acc)[4]);
  parkAt(parkedIndex(kg, lidK, 6u), (*acc)[6]);
  if (CH4 == 2u) {
    parkAt(parkedIndex(kg, lidK, 1u), (*acc)[1]);
    parkAt(parkedIndex(kg, lidK, 3u), (*acc)[3]);
    parkAt(parkedIndex(kg, lidK, 5u), (*acc)[5]);
    parkAt(parkedIndex(kg, lidK, 7u), (*acc)[7]);
  }
  if (PIX4 == 2u) {
    parkAt(parkedIndex(kg, lidK, 8u), (*acc)[8]);
    parkAt(parkedIndex(kg, lidK, 10u), (*acc)[10]);
    parkAt(parkedIndex(kg, lidK, 12u), (*acc)[12]);
    parkAt(parkedIndex(kg, lidK, 14u), (*acc)[14]);
    if (CH4 == 2u) {
      parkAt(parkedIndex(kg, lidK, 9u), (*acc)[9]);
      parkAt(parkedIndex(kg, lidK, 11u), (*acc)[11]);
      parkAt(parkedIndex(kg, lidK, 13u), (*acc)[13]);
      parkAt(parkedIndex(kg, lidK, 15u), (*acc)[15]);
    }
  }
}

// Adds the register tile group kg parked for invocation lidK to acc.
fn addParked(kg: u32, lidK: u32, acc: ptr<function, array<vec4<f32>, MAX_ACC>>) {
  (*acc)[0] += parkedAt(parkedIndex(kg, lidK, 0u));
  (*acc)[2] += parkedAt(parkedIndex(kg, lidK, 2u));
  (*acc)[4] += parkedAt(parkedIndex(kg, lidK, 4u));
  (*acc)[6] += parkedAt(parkedIndex(kg, lidK, 6u));
  if (CH4 == 2u) {
    (*acc)[1] += parkedAt(parkedIndex(kg, lidK, 1u));
    (*acc)[3] += parkedAt(parkedIndex(kg, lidK, 3u));
    (*acc)[5] += parkedAt(parkedIndex(kg, lidK, 5u));
    (*acc)[7] += parkedAt(parkedIndex(kg, lidK, 7u));
  }
  if (PIX4 == 2u) {
    (*acc)[8] += parkedAt(parkedIndex(kg, lidK, 8u));
    (*acc)[10] += parkedAt(parkedIndex(kg, lidK, 10u));
    (*acc)[12] += parkedAt(parkedIndex(kg, lidK, 12u));
    (*acc)[14] += parkedAt(parkedIndex(kg, lidK, 14u));
    if (CH4 == 2u) {
      (*acc)[9] += parkedAt(parkedIndex(kg, lidK, 9u));
      (*acc)[11] += parkedAt(parkedIndex(kg, lidK, 11u));
      (*acc)[13] += parkedAt(parkedIndex(kg, lidK, 13u));
      (*acc)[15] += parkedAt(parkedIndex(kg, lidK, 15u));
    }
  }
}

// POST_N > 0: stores an accumulator (tile row `row`, channel vec4 `c` of invocation column tn) with bias and
// activation into eTile (channels 4 * tn + 4 * c * WG_N + 0..3; 0 past outC).
fn park1(row: u32, c: u32, tn: u32, v4: vec4<f32>, m0: u32, pixels: u32) {
  let bn = 4u * CH4 * WG_N;
  let col = 4u * tn + 4u * c * WG_N;
  let m = m0 + row;
  let ox = m % params.outW;
  let t = m / params.outW;
  let oy = t % params.outH;
  let n = t / params.outH;
  for (var j = 0u; j < 4u; j++) {
    var v = 0.0;
    if (col + j < params.outC) {
      v = v4[j] + f32(b[col + j]);
      if (ACT == 1u) {
        v = v / (1.0 + exp(-v));
      }
      if (POST_CAT > 0u && RESIDUAL && m < pixels) {
        v += rAt(outIndex(params.rBase, params.rStride, n, oy, ox, params.rOff + col + j));
      }
    }
    eTile[row * bn + col + j] = v;
  }
}

// POST_N > 0: this invocation's register tile (tile rows 4 * tm * PIX4 .., channel column tn) into eTile.
fn postTile(tm: u32, tn: u32, acc: ptr<function, array<vec4<f32>, MAX_ACC>>, m0: u32, pixels: u32) {
  let lrow = 4u * tm * PIX4;
  park1(lrow, 0u, tn, (*acc)[0], m0, pixels);
  park1(lrow + 1u, 0u, tn, (*acc)[2], m0, pixels);
  park1(lrow + 2u, 0u, tn, (*acc)[4], m0, pixels);
  park1(lrow + 3u, 0u, tn, (*acc)[6], m0, pixels);
  if (CH4 == 2u) {
    park1(lrow, 1u, tn, (*acc)[1], m0, pixels);
    park1(lrow + 1u, 1u, tn, (*acc)[3], m0, pixels);
    park1(lrow + 2u, 1u, tn, (*acc)[5], m0, pixels);
    park1(lrow + 3u, 1u, tn, (*acc)[7], m0, pixels);
  }
  if (PIX4 == 2u) {
    park1(lrow + 4u, 0u, tn, (*acc)[8], m0, pixels);
    park1(lrow + 5u, 0u, tn, (*acc)[10], m0, pixels);
    park1(lrow + 6u, 0u, tn, (*acc)[12], m0, pixels);
    park1(lrow + 7u, 0u, tn, (*acc)[14], m0, pixels);
    if (CH4 == 2u) {
      park1(lrow + 4u, 1u, tn, (*acc)[9], m0, pixels);
      park1(lrow + 5u, 1u, tn, (*acc)[11], m0, pixels);
      park1(lrow + 6u, 1u, tn, (*acc)[13], m0, pixels);
      park1(lrow + 7u, 1u, tn, (*acc)[15], m0, pixels);
    }
  }
}

// Where the post-conv's weights start in aux: after the pre-conv's taps and bias rows when there is one.
fn postBase() -> u32 {
  if (PRE_K > 0u) {
    return (PRE_K * PRE_K + 1u) * ((params.inC + 3u) / 4u);
  }
  return 0u;
}

// The post-conv's output vec4 q (channels 4 * q ..) at tile pixel m, its sums s (bias included): POST_ACT, the
// residual (without POST_CAT), then y and the upsampled copy.
fn postStore(m: u32, q: u32, s: vec4<f32>) {
  let ox = m % params.outW;
  let t = m / params.outW;
  let oy = t % params.outH;
  let n = t / params.outH;
  for (var j = 0u; j < 4u; j++) {
    let ch = 4u * q + j;
    if (ch >= POST_N) {
      break;
    }
    var v = s[j];
    if (POST_ACT == 1u) {
      v = v / (1.0 + exp(-v));
    }
    if (RESIDUAL && POST_CAT == 0u) {
      v += rAt(outIndex(params.rBase, params.rStride, n, oy, ox, params.rOff + ch));
    }
    y[outIndex(params.yBase, params.yStride, n, oy, ox, params.yOff + ch)] = S(v);
    if (UP_R > 0u) {
      storeUp(n, oy, ox, ch, S(v));
    }
  }
}

// Weight rows of the post-conv in aux (after postBase()): the catC memory channels' (POST_CAT 1: first; 2: after
// the tile's cin), the tile's, the bias row last. Where the tile's and the memory channels' rows start.
fn postTileRow() -> u32 {
  return select(0u, params.catC, POST_CAT == 1u);
}
fn postCatRow(cin: u32) -> u32 {
  return select(0u, cin, POST_CAT == 2u);
}
fn postCatC() -> u32 {
  return select(0u, params.catC, POST_CAT > 0u);
}

// Memory channel k of the POST_CAT view at pixel m (an NHWC view over all pixels: m is its pixel index); 0 for
// a pixel past the end.
fn catValue(m: u32, pixels: u32, k: u32) -> f32 {
  if (m >= pixels) {
    return 0.0;
  }
  return rAt(params.catBase + m * params.catStride + params.catOff + k);
}

// POST_N > 0: the 1x1 post-conv over the tile in eTile: each invocation takes (POST_ROWS tile rows, 4 output
// channels) work items in turn, sums cin products with aux's weight vec4s (and catC more with POST_CAT), adds the
// bias, and stores through postStore.
fn postConv(lid: u32, m0: u32, pixels: u32, cin: u32) {
  let bm = 4u * PIX4 * WG_M;
  let bn = 4u * CH4 * WG_N;
  let q4s = (POST_N + 3u) / 4u;
  let base = postBase();
  let catC = postCatC();
  let tileRow = postTileRow();
  let catRow = postCatRow(cin);
  if (POST_ROWS == 4u) {
    for (var e = lid; e < (bm / 4u) * q4s; e += invocations()) {
      let row = 4u * (e / q4s);
      let q = e % q4s;
      let m = m0 + row;
      if (m >= pixels) {
        continue;
      }
      let bias = vec4<f32>(aux[base + (catC + cin) * q4s + q]);
      var s0 = bias;
      var s1 = bias;
      var s2 = bias;
      var s3 = bias;
      for (var k = 0u; k < catC; k++) {
        let wv = vec4<f32>(aux[base + (catRow + k) * q4s + q]);
        s0 = fma(vec4<f32>(catValue(m, pixels, k)), wv, s0);
        s1 = fma(vec4<f32>(catValue(m + 1u, pixels, k)), wv, s1);
        s2 = fma(vec4<f32>(catValue(m + 2u, pixels, k)), wv, s2);
        s3 = fma(vec4<f32>(catValue(m + 3u, pixels, k)), wv, s3);
      }
      for (var k = 0u; k < cin; k++) {
        let wv = vec4<f32>(aux[base + (tileRow + k) * q4s + q]);
        s0 = fma(vec4<f32>(eTile[row * bn + k]), wv, s0);
        s1 = fma(vec4<f32>(eTile[(row + 1u) * bn + k]), wv, s1);
        s2 = fma(vec4<f32>(eTile[(row + 2u) * bn + k]), wv, s2);
        s3 = fma(vec4<f32>(eTile[(row + 3u) * bn + k]), wv, s3);
      }
      postStore(m, q, s0);
      if (m + 1u < pixels) {
        postStore(m + 1u, q, s1);
      }
      if (m + 2u < pixels) {
        postStore(m + 2u, q, s2);
      }
      if (m + 3u < pixels) {
        postStore(m + 3u, q, s3);
      }
    }
    return;
  }
  for (var e = lid; e < bm * q4s; e += invocations()) {
    let row = e / q4s;
    let q = e % q4s;
    let m = m0 + row;
    if (m >= pixels) {
      continue;
    }
    var s = vec4<f32>(aux[base + (catC + cin) * q4s + q]);
    for (var k = 0u; k < catC; k++) {
      s = fma(vec4<f32>(catValue(m, pixels, k)), vec4<f32>(aux[base + (catRow + k) * q4s + q]), s);
    }
    for (var k = 0u; k < cin; k++) {
      s = fma(vec4<f32>(eTile[row * bn + k]), vec4<f32>(aux[base + (tileRow + k) * q4s + q]), s);
    }
    postStore(m, q, s);
  }
}

@compute @workgroup_size(WG_M * WG_N * WG_K)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let bm = 4u * PIX4 * WG_M;
  let bn = 4u * CH4 * WG_N;
  let aRowLen = PIX4 * WG_M + 1u;
  let bRowLen = CH4 * WG_N;
  let nt = invocations();
  let pixels = params.batch * params.outH * params.outW;
  let cinG = params.inC / params.groups;
  let coutG = params.outC / params.groups;
  let coutG4 = (coutG + 3u) / 4u;
  let kTotal = KSIZE * KSIZE * cinG;
  let tilesN = (coutG + bn - 1u) / bn;

  let tileM = wid.x + wid.z * nwg.x;
  let colTiles = tilesN * params.groups;
  let slice = wid.y / colTiles;
  let g = (wid.y % colTiles) / tilesN;
  let m0 = tileM * bm;
  let n0 = (wid.y % tilesN) * bn;
  // Bounds guard (uniform over the workgroup: folded dispatches overshoot; empty groups do nothing).
  if (m0 >= pixels || g >= params.groups || cinG == 0u || coutG == 0u) {
    return;
  }

  // Pixel table for the tile rows.
  for (var i = lid; i < bm; i += nt) {
    let m = m0 + i;
    var e = vec3<i32>(0, NO_PIXEL, NO_PIXEL);
    if (m < pixels) {
      let ox = m % params.outW;
      let t = m / params.outW;
      let oy = t % params.outH;
      e = vec3<i32>(i32(t / params.outH), i32(oy * STRIDE) - i32(params.pad), i32(ox * STRIDE) - i32(params.pad));
    }
    pixTile[i] = e;
  }

  // This invocation's role when staging A: a fixed column kk, rows aRow, aRow + nt / depth(), ...
  // Its k = kStep * depth() + kk is tracked incrementally as (ci, kx, ky) to avoid divisions.
  // This workgroup's K steps: all of them, or its slice's share when split.
  let kStepsAll = (kTotal + depth() - 1u) / depth();
  let perSlice = (kStepsAll + KSPLIT - 1u) / KSPLIT;
  let kStep0 = min(slice * perSlice, kStepsAll);
  let kStep1 = min(kStep0 + perSlice, kStepsAll);
  // NHWC: neighbouring invocations take neighbouring k (consecutive channels of one pixel: coalesced).
  // NCHW: they take neighbouring rows instead (consecutive pixels of one channel plane: coalesced there).
  let aRowStep = nt / depth();
  var kk = select(lid % depth(), lid / aRowStep, IN_NCHW);
  var aRow = select(lid / depth(), lid % aRowStep, IN_NCHW);
  if (VEC_A) {
    // Four neighbouring k per invocation: neighbouring invocations take neighbouring vec4s of one pixel.
    kk = 4u * (lid % (depth() / 4u));
    aRow = lid / (depth() / 4u);
  }
  var k = kStep0 * depth() + kk;
  var ci = k % cinG;
  var kx = (k / cinG) % KSIZE;
  var ky = k / cinG / KSIZE;
  let cBase = params.xOff + g * cinG;

  // This invocation's role when computing: pixel groups m0 + 4 * (tm * PIX4 + q) + (0..3) for q < PIX4,
  // channel vec4s n0 + 4 * (tn + c * WG_N) + (0..3) for c < CH4; pixel row 4 * q + i, channel vec4 c in
  // accumulator 2 * (4 * q + i) + c. Every index into acc is a constant (the loops over q and c written out),
  // so the accumulators stay in registers: a dynamically indexed array would live in local memory.
  // With WG_K > 1, invocation group kg multiplies its own BK rows of each staged step.
  let lidK = lid % (WG_M * WG_N);
  let kg = lid / (WG_M * WG_N);
  let tn = lidK % WG_N;
  let tm = lidK / WG_N;
  var acc: array<vec4<f32>, MAX_ACC>; // zero-initialized
  var part: array<vec4<T>, MAX_ACC>; // this step's products with HALF_MATH, else all of them (folded into acc)

  let bs = BSide(g, n0, kTotal, coutG4);
  var regs: Regs;
  workgroupBarrier(); // the pixel table is complete
  if (kStep0 < kStep1) {
    let st = Stager(kk, aRow, lid, k < kTotal, ky, kx, cBase + ci);
    if (BUFFERS == 2u) {
      // The first step straight into buffer 0; the loop stages each next one while computing.
      stageDirect(0u, kStep0, st, bs);
      advance(&k, &ci, &kx, &ky, cinG);
      workgroupBarrier();
    } else if (PREFETCH) {
      regs = loadRegs(kStep0, st, bs);
    }
  }

  for (var kStep = kStep0; kStep < kStep1; kStep++) {
    let more = kStep + 1u < kStep1;
    var cur = 0u;
    if (BUFFERS == 2u) {
      cur = (kStep - kStep0) % 2u;
      if (more) {
        let st = Stager(kk, aRow, lid, k < kTotal, ky, kx, cBase + ci);
        if (PREFETCH) {
          regs = loadRegs(kStep + 1u, st, bs); // stored after the products below
        } else {
          stageDirect(1u - cur, kStep + 1u, st, bs);
        }
        advance(&k, &ci, &kx, &ky, cinG);
      }
    } else {
      if (PREFETCH) {
        storeRegs(0u, regs, kk, aRow, lid);
      } else {
        stageDirect(0u, kStep, Stager(kk, aRow, lid, k < kTotal, ky, kx, cBase + ci), bs);
      }
      workgroupBarrier();
      // Advance (ci, kx, ky) to the next step, and with PREFETCH start its loads before computing this one.
      advance(&k, &ci, &kx, &ky, cinG);
      if (PREFETCH && more) {
        regs = loadRegs(kStep + 1u, Stager(kk, aRow, lid, k < kTotal, ky, kx, cBase + ci), bs);
      }
    }

    let aBuf = cur * depth() * aRowLen;
    let bBuf = cur * depth() * bRowLen;
    // Four reduction rows per iteration (BK is a multiple of 4): fewer loop and address instructions.
    for (var kb = kg * BK; kb < kg * BK + BK; kb += 4u) {
      let ai = aBuf + kb * aRowLen + tm * PIX4;
      let bi = bBuf + kb * bRowLen + tn;
      mac(&part, ai, bi);
      mac(&part, ai + aRowLen, bi + bRowLen);
      mac(&part, ai + 2u * aRowLen, bi + 2u * bRowLen);
      mac(&part, ai + 3u * aRowLen, bi + 3u * bRowLen);
    }
    if (HALF_MATH) {
      fold(&acc, &part);
    }
    if (BUFFERS == 2u && PREFETCH && more) {
      storeRegs(1u - cur, regs, kk, aRow, lid);
    }
    workgroupBarrier();
  }

  if (!HALF_MATH) {
    fold(&acc, &part);
  }

  // Invocation groups 1 .. WG_K - 1 hand their sums to group 0, which finishes the tile. (No early return of
  // groups 1..: a barrier may follow, and it must stay in uniform control flow.)
  var finishes = true;
  if (WG_K > 1u) {
    if (kg > 0u) {
      park(kg, lidK, &acc);
    }
    workgroupBarrier();
    finishes = kg == 0u;
    if (finishes) {
      for (var other = 1u; other < WG_K; other++) {
        addParked(other, lidK, &acc);
      }
    }
  }

  // Epilogue (bias, activation, residual, store) for each accumulator; constant indices keep acc in registers.
  let ctx = Tile(m0 + 4u * tm * PIX4, n0 + 4u * tn, g, slice, pixels, coutG);
  if (POST_N > 0u) {
    // This tile with bias and activation into eTile (0 past the channels), then the 1x1 post-conv.
    if (finishes) {
      postTile(tm, tn, &acc, m0, pixels);
    }
    workgroupBarrier();
    postConv(lid, m0, pixels, coutG);
    return;
  }
  if (!finishes) {
    return;
  }
  store(ctx, 0u, 0u, acc[0]);
  store(ctx, 1u, 0u, acc[2]);
  store(ctx, 2u, 0u, acc[4]);
  store(ctx, 3u, 0u, acc[6]);
  if (CH4 == 2u) {
    store(ctx, 0u, 1u, acc[1]);
    store(ctx, 1u, 1u, acc[3]);
    store(ctx, 2u, 1u, acc[5]);
    store(ctx, 3u, 1u, acc[7]);
  }
  if (PIX4 == 2u) {
    store(ctx, 4u, 0u, acc[8]);
    store(ctx, 5u, 0u, acc[10]);
    store(ctx, 6u, 0u, acc[12]);
    store(ctx, 7u, 0u, acc[14]);
    if (CH4 == 2u) {
      store(ctx, 4u, 1u, acc[9]);
      store(ctx, 5u, 1u, acc[11]);
      store(ctx, 6u, 1u, acc[13]);
      store(ctx, 7u, 1u, acc[15]);
    }
  }
}
