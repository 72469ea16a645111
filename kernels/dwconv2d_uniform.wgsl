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
//     (TM - 1) * STRIDE + KSIZE input columns of a kernel row once for all its taps.
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

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, W_VEC4S>;
@group(0) @binding(2) var<storage, read> r: array<S>;
@group(0) @binding(3) var<storage, read_write> y: array<S>;
@group(0) @binding(4) var<uniform> params: Params;

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

// Column j of this invocation's kernel row (j constant wherever this is called: folds away).
fn pick(j: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32>, v5: vec4<f32>, v6: vec4<f32>, v7: vec4<f32>, v8: vec4<f32>) -> vec4<f32> {
  switch j {
    case 0u: {
      return v0;
    }
    case 1u: {
      return v1;
    }
    case 2u: {
      return v2;
    }
    case 3u: {
      return v3;
    }
    case 4u: {
      return v4;
    }
    case 5u: {
      return v5;
    }
    case 6u: {
      return v6;
    }
    case 7u: {
      return v7;
    }
    default: {
      return v8;
    }
  }
}

// Epilogue of one pixel's 4 channels: bias, activation, residual, store of the real channels.
fn store(pix: u32, c0: u32, valid: u32, bias: vec4<f32>, acc: vec4<f32>) {
  var v = acc + bias;
  if (ACT == 1u) {
    v = v / (1.0 + exp(-v));
  }
  let o = params.yBase + pix * params.yStride + params.yOff + c0;
  let ro = params.rBase + pix * params.rStride + params.rOff + c0;
  if (RESIDUAL) {
    v.x += f32(r[ro]);
  }
  y[o] = S(v.x);
  if (valid > 1u) {
    if (RESIDUAL) {
      v.y += f32(r[ro + 1u]);
    }
    y[o + 1u] = S(v.y);
  }
  if (valid > 2u) {
    if (RESIDUAL) {
      v.z += f32(r[ro + 2u]);
    }
    y[o + 2u] = S(v.z);
  }
  if (valid > 3u) {
    if (RESIDUAL) {
      v.w += f32(r[ro + 3u]);
    }
    y[o + 3u] = S(v.w);
  }
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let c4s = (params.channels + 3u) / 4u;
  let c4 = wid.z;
  let perRow = (params.outW + TM - 1u) / TM;
  let rows = params.batch * params.outH;
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  // Bounds guard: invocations past the last row, and channel vec4s past the last, do nothing.
  if (g >= rows * perRow || c4 >= c4s) {
    return;
  }
  let row = g / perRow;
  let ox0 = g % perRow * TM;
  let n = row / params.outH;
  let oy = row % params.outH;
  let c0 = 4u * c4;
  let valid = min(4u, params.channels - c0);
  let last = arrayLength(&x) - 1u;
  let ncol = (TM - 1u) * STRIDE + KSIZE;
  let ix0 = i32(ox0 * STRIDE) - i32(params.pad);

  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var ky = 0u; ky < KSIZE; ky++) {
    let iy = i32(oy * STRIDE + ky) - i32(params.pad);
    let yok = iy >= 0 && iy < i32(params.inH);
    let yc = u32(clamp(iy, 0, i32(params.inH) - 1));
    // Each input column once (the only per-lane loads), shared by the taps.
    let v0 = load4(columnAt(n, yc, yok, ix0, c0), last);
    var v1 = vec4<f32>();
    var v2 = vec4<f32>();
    var v3 = vec4<f32>();
    var v4 = vec4<f32>();
    var v5 = vec4<f32>();
    var v6 = vec4<f32>();
    var v7 = vec4<f32>();
    var v8 = vec4<f32>();
    if (ncol > 1u) {
      v1 = load4(columnAt(n, yc, yok, ix0 + 1, c0), last);
    }
    if (ncol > 2u) {
      v2 = load4(columnAt(n, yc, yok, ix0 + 2, c0), last);
    }
    if (ncol > 3u) {
      v3 = load4(columnAt(n, yc, yok, ix0 + 3, c0), last);
    }
    if (ncol > 4u) {
      v4 = load4(columnAt(n, yc, yok, ix0 + 4, c0), last);
    }
    if (ncol > 5u) {
      v5 = load4(columnAt(n, yc, yok, ix0 + 5, c0), last);
    }
    if (ncol > 6u) {
      v6 = load4(columnAt(n, yc, yok, ix0 + 6, c0), last);
    }
    if (ncol > 7u) {
      v7 = load4(columnAt(n, yc, yok, ix0 + 7, c0), last);
    }
    if (ncol > 8u) {
      v8 = load4(columnAt(n, yc, yok, ix0 + 8, c0), last);
    }
    for (var kx = 0u; kx < KSIZE; kx++) {
      let wv = w[(ky * KSIZE + kx) * c4s + c4];
      acc0 = fma(pick(kx, v0, v1, v2, v3, v4, v5, v6, v7, v8), wv, acc0);
      if (TM > 1u) {
        acc1 = fma(pick(STRIDE + kx, v0, v1, v2, v3, v4, v5, v6, v7, v8), wv, acc1);
      }
      if (TM > 2u) {
        acc2 = fma(pick(2u * STRIDE + kx, v0, v1, v2, v3, v4, v5, v6, v7, v8), wv, acc2);
      }
      if (TM > 3u) {
        acc3 = fma(pick(3u * STRIDE + kx, v0, v1, v2, v3, v4, v5, v6, v7, v8), wv, acc3);
      }
    }
  }

  let bias = w[KSIZE * KSIZE * c4s + c4];
  let pix = row * params.outW + ox0;
  store(pix, c0, valid, bias, acc0);
  if (TM > 1u && ox0 + 1u < params.outW) {
    store(pix + 1u, c0, valid, bias, acc1);
  }
  if (TM > 2u && ox0 + 2u < params.outW) {
    store(pix + 2u, c0, valid, bias, acc2);
  }
  if (TM > 3u && ox0 + 3u < params.outW) {
    store(pix + 3u, c0, valid, bias, acc3);
  }
}
