// dwconv2d_uniform: depthwise convolution (groups == channels, square kernel up to 3x3, any stride
// and padding) for adapters that run invocations as SIMD lanes of a CPU (llvmpipe/lavapipe,
// SwiftShader), with bias, optional SiLU and optional residual add fused. Same views and results as
// dwconv2d.wgsl.
//
// On such an adapter a storage load is a loop over the lanes and a uniform-buffer load a per-lane
// gather (on lavapipe 22.3 even at a lane-invariant address), the gather the cheaper. So here:
//   - a workgroup covers one vec4 of channels (workgroup z) and WG * TM output pixels; weights and
//     bias come from the uniform buffer `w` at addresses that depend only on that vec4 and the tap;
//   - an invocation computes TM neighbouring pixels of one row, and loads each of the
//     (TM - 1) * STRIDE + KSIZE input columns of a kernel row once for all its taps;
//   - with VEC4 (entry point main4) a column's four channels are one vec4 load and a pixel's four
//     outputs one vec4 store (one per-lane loop where main runs four).
//
// Views: activation element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c.

// Element type of activations (and of weights bound as storage) in memory: f32 here, f16 in its f16 variant (f16Variant),
// which differs from this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;

struct Params {
  batch: u32,
  inH: u32,
  inW: u32,
  channels: u32,
  outH: u32,
  outW: u32,
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
}

// Weights and bias: 64 KiB, the largest uniform binding every WebGPU adapter allows; laid out as
// [ky * KSIZE + kx][ceil(channels / 4)] vec4, then the bias row (packDwconv2dUniformWeight).
const W_VEC4S = 4096u;

// Results smaller than this in magnitude are stored as 0 (flush to zero): lavapipe runs with
// denormals enabled, and a tiny activation (SiLU's negative tail) times a weight in the next conv is a
// denormal product, a microcode assist each on x86 (see conv2d_uniform.wgsl).
const FLUSH_BELOW = 1e-30;

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, W_VEC4S>;
@group(0) @binding(2) var<storage, read> r: array<S>;
@group(0) @binding(3) var<storage, read_write> y: array<S>;
@group(0) @binding(4) var<uniform> params: Params;
// x, r and y again as vec4s of four channels, for main4 (the same bindings, each used by one entry point).
@group(0) @binding(0) var<storage, read> x4: array<vec4<S>>;
@group(0) @binding(2) var<storage, read> r4: array<vec4<S>>;
@group(0) @binding(3) var<storage, read_write> y4: array<vec4<S>>;

// 0: identity, 1: SiLU x * sigmoid(x).
override ACT: u32 = 0u;
// Square kernel size (1..3) and stride.
override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
// Add r (same view shape as y) after the activation.
override RESIDUAL: bool = false;
// Neighbouring output pixels per invocation (1..4).
override TM: u32 = 4u;
override WG: u32 = 64u;
// VEC4: the spec picks main4. Needs channels, bases, strides and offsets (x, y and the residual's)
// that are multiples of 4. Not read by the shader itself.
override VEC4: bool = false;

// One input column: where its channel c0 is, and whether it lies inside the map.
struct Column {
  xi: u32,
  ok: bool,
}

fn columnAt(n: u32, yc: u32, yok: bool, ix: i32, c0: u32) -> Column {
  let ok = yok && ix >= 0 && ix < i32(params.inW);
  let xc = u32(clamp(ix, 0, i32(params.inW) - 1));
  return Column(params.xBase + ((n * params.inH + yc) * params.inW + xc) * params.xStride + params.xOff + c0, ok);
}

// The 4 channels of an input column (channels past the last read a clamped neighbour, unused).
fn load4(col: Column, last: u32) -> vec4<f32> {
  let v = vec4<f32>(f32(x[col.xi]), f32(x[min(col.xi + 1u, last)]), f32(x[min(col.xi + 2u, last)]), f32(x[min(col.xi + 3u, last)]));
  return select(vec4<f32>(), v, col.ok);
}

// The same as one vec4 load (main4: xi is a multiple of 4).
fn loadVec(col: Column) -> vec4<f32> {
  return select(vec4<f32>(), vec4<f32>(x4[col.xi / 4u]), col.ok);
}

// One kernel row's input columns (past ncol: zero, never read by a tap).
struct Columns {
  v0: vec4<f32>,
  v1: vec4<f32>,
  v2: vec4<f32>,
  v3: vec4<f32>,
  v4: vec4<f32>,
  v5: vec4<f32>,
  v6: vec4<f32>,
  v7: vec4<f32>,
  v8: vec4<f32>,
}

// Column j of a kernel row (j constant wherever this is called: folds away).
fn pick(j: u32, c: Columns) -> vec4<f32> {
  switch j {
    case 0u: {
      return c.v0;
    }
    case 1u: {
      return c.v1;
    }
    case 2u: {
      return c.v2;
    }
    case 3u: {
      return c.v3;
    }
    case 4u: {
      return c.v4;
    }
    case 5u: {
      return c.v5;
    }
    case 6u: {
      return c.v6;
    }
    case 7u: {
      return c.v7;
    }
    default: {
      return c.v8;
    }
  }
}

// The TM pixels' sums.
struct Acc {
  a0: vec4<f32>,
  a1: vec4<f32>,
  a2: vec4<f32>,
  a3: vec4<f32>,
}

// One kernel row's taps added to the TM pixels' sums: each weight vec4 loaded once for them.
fn rowTaps(acc: Acc, ky: u32, c4s: u32, c4: u32, c: Columns) -> Acc {
  var a = acc;
  for (var kx = 0u; kx < KSIZE; kx++) {
    let wv = w[(ky * KSIZE + kx) * c4s + c4];
    a.a0 = fma(pick(kx, c), wv, a.a0);
    if (TM > 1u) {
      a.a1 = fma(pick(STRIDE + kx, c), wv, a.a1);
    }
    if (TM > 2u) {
      a.a2 = fma(pick(2u * STRIDE + kx, c), wv, a.a2);
    }
    if (TM > 3u) {
      a.a3 = fma(pick(3u * STRIDE + kx, c), wv, a.a3);
    }
  }
  return a;
}

// The bias and activation of one pixel's 4 channels.
fn finish(acc: vec4<f32>, bias: vec4<f32>) -> vec4<f32> {
  var v = acc + bias;
  if (ACT == 1u) {
    v = v / (1.0 + exp(-v));
  }
  return v;
}

// Values below FLUSH_BELOW in magnitude as 0.
fn flush4(v: vec4<f32>) -> vec4<f32> {
  return select(v, vec4<f32>(), abs(v) < vec4<f32>(FLUSH_BELOW));
}

// Epilogue of one pixel's 4 channels: bias, activation, residual, store of the real channels.
fn store(pix: u32, c0: u32, valid: u32, bias: vec4<f32>, acc: vec4<f32>) {
  var v = finish(acc, bias);
  let o = params.yBase + pix * params.yStride + params.yOff + c0;
  let ro = params.rBase + pix * params.rStride + params.rOff + c0;
  if (RESIDUAL) {
    v.x += f32(r[ro]);
    if (valid > 1u) {
      v.y += f32(r[ro + 1u]);
    }
    if (valid > 2u) {
      v.z += f32(r[ro + 2u]);
    }
    if (valid > 3u) {
      v.w += f32(r[ro + 3u]);
    }
  }
  v = flush4(v);
  y[o] = S(v.x);
  if (valid > 1u) {
    y[o + 1u] = S(v.y);
  }
  if (valid > 2u) {
    y[o + 2u] = S(v.z);
  }
  if (valid > 3u) {
    y[o + 3u] = S(v.w);
  }
}

// The same as one vec4 store (main4: all four channels real, views multiples of 4).
fn storeVec(pix: u32, c0: u32, bias: vec4<f32>, acc: vec4<f32>) {
  var v = finish(acc, bias);
  if (RESIDUAL) {
    v += vec4<f32>(r4[(params.rBase + pix * params.rStride + params.rOff + c0) / 4u]);
  }
  y4[(params.yBase + pix * params.yStride + params.yOff + c0) / 4u] = vec4<S>(flush4(v));
}

// Where an invocation works: its row of TM pixels and its vec4 of channels.
struct Work {
  live: bool,
  row: u32,
  ox0: u32,
  n: u32,
  oy: u32,
  c4: u32,
  c4s: u32,
}

fn workOf(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> Work {
  let c4s = (params.channels + 3u) / 4u;
  let perRow = (params.outW + TM - 1u) / TM;
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let row = g / perRow;
  // Invocations past the last row, and channel vec4s past the last, do nothing.
  let live = g < params.batch * params.outH * perRow && wid.z < c4s;
  return Work(live, row, g % perRow * TM, row / params.outH, row % params.outH, wid.z, c4s);
}

// The input row of kernel row ky: whether it lies inside the map, and its index clamped into it.
struct InputRow {
  ok: bool,
  y: u32,
}

fn inputRow(t: Work, ky: u32) -> InputRow {
  let iy = i32(t.oy * STRIDE + ky) - i32(params.pad);
  return InputRow(iy >= 0 && iy < i32(params.inH), u32(clamp(iy, 0, i32(params.inH) - 1)));
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let t = workOf(lid, wid, nwg);
  if (!t.live) {
    return;
  }
  let c0 = 4u * t.c4;
  let valid = min(4u, params.channels - c0);
  let last = arrayLength(&x) - 1u;
  let ncol = (TM - 1u) * STRIDE + KSIZE;
  let ix0 = i32(t.ox0 * STRIDE) - i32(params.pad);
  var acc = Acc();
  for (var ky = 0u; ky < KSIZE; ky++) {
    let iy = inputRow(t, ky);
    // Each input column once (the only per-lane loads), shared by the taps.
    var c = Columns();
    c.v0 = load4(columnAt(t.n, iy.y, iy.ok, ix0, c0), last);
    if (ncol > 1u) {
      c.v1 = load4(columnAt(t.n, iy.y, iy.ok, ix0 + 1, c0), last);
    }
    if (ncol > 2u) {
      c.v2 = load4(columnAt(t.n, iy.y, iy.ok, ix0 + 2, c0), last);
    }
    if (ncol > 3u) {
      c.v3 = load4(columnAt(t.n, iy.y, iy.ok, ix0 + 3, c0), last);
    }
    if (ncol > 4u) {
      c.v4 = load4(columnAt(t.n, iy.y, iy.ok, ix0 + 4, c0), last);
    }
    if (ncol > 5u) {
      c.v5 = load4(columnAt(t.n, iy.y, iy.ok, ix0 + 5, c0), last);
    }
    if (ncol > 6u) {
      c.v6 = load4(columnAt(t.n, iy.y, iy.ok, ix0 + 6, c0), last);
    }
    if (ncol > 7u) {
      c.v7 = load4(columnAt(t.n, iy.y, iy.ok, ix0 + 7, c0), last);
    }
    if (ncol > 8u) {
      c.v8 = load4(columnAt(t.n, iy.y, iy.ok, ix0 + 8, c0), last);
    }
    acc = rowTaps(acc, ky, t.c4s, t.c4, c);
  }

  let bias = w[KSIZE * KSIZE * t.c4s + t.c4];
  let pix = t.row * params.outW + t.ox0;
  store(pix, c0, valid, bias, acc.a0);
  if (TM > 1u && t.ox0 + 1u < params.outW) {
    store(pix + 1u, c0, valid, bias, acc.a1);
  }
  if (TM > 2u && t.ox0 + 2u < params.outW) {
    store(pix + 2u, c0, valid, bias, acc.a2);
  }
  if (TM > 3u && t.ox0 + 3u < params.outW) {
    store(pix + 3u, c0, valid, bias, acc.a3);
  }
}

// main with vec4 loads and stores (VEC4): the same sums in the same order.
@compute @workgroup_size(WG)
fn main4(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let t = workOf(lid, wid, nwg);
  if (!t.live) {
    return;
  }
  let c0 = 4u * t.c4;
  let ncol = (TM - 1u) * STRIDE + KSIZE;
  let ix0 = i32(t.ox0 * STRIDE) - i32(params.pad);
  var acc = Acc();
  for (var ky = 0u; ky < KSIZE; ky++) {
    let iy = inputRow(t, ky);
    var c = Columns();
    c.v0 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0, c0));
    if (ncol > 1u) {
      c.v1 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0 + 1, c0));
    }
    if (ncol > 2u) {
      c.v2 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0 + 2, c0));
    }
    if (ncol > 3u) {
      c.v3 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0 + 3, c0));
    }
    if (ncol > 4u) {
      c.v4 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0 + 4, c0));
    }
    if (ncol > 5u) {
      c.v5 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0 + 5, c0));
    }
    if (ncol > 6u) {
      c.v6 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0 + 6, c0));
    }
    if (ncol > 7u) {
      c.v7 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0 + 7, c0));
    }
    if (ncol > 8u) {
      c.v8 = loadVec(columnAt(t.n, iy.y, iy.ok, ix0 + 8, c0));
    }
    acc = rowTaps(acc, ky, t.c4s, t.c4, c);
  }

  let bias = w[KSIZE * KSIZE * t.c4s + t.c4];
  let pix = t.row * params.outW + t.ox0;
  storeVec(pix, c0, bias, acc.a0);
  if (TM > 1u && t.ox0 + 1u < params.outW) {
    storeVec(pix + 1u, c0, bias, acc.a1);
  }
  if (TM > 2u && t.ox0 + 2u < params.outW) {
    storeVec(pix + 2u, c0, bias, acc.a2);
  }
  if (TM > 3u && t.ox0 + 3u < params.outW) {
    storeVec(pix + 3u, c0, bias, acc.a3);
  }
}
