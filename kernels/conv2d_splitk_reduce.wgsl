// conv2d_splitk_reduce: the second half of a split-K conv2d. Adds the KSPLIT partial sums conv2d wrote to
// p ([slice][pixel][outC], f32), then applies what conv2d's own epilogue would have: bias, activation,
// residual, and the store into y's NHWC (or NCHW) view, and with UP_R conv2d's upsampled copy into r. One
// invocation per output element, channel fastest.

// Element type of activations (and of the bias) in memory: f32 here, f16 in its f16 variant (f16Variant).
alias S = f32;

struct Params {
  batch: u32,
  outH: u32,
  outW: u32,
  outC: u32,
  yBase: u32,
  yStride: u32,
  yOff: u32,
  rBase: u32,
  rStride: u32,
  rOff: u32,
}

@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<S>;
// The residual, read (a dummy with R_IN_Y, its view then read through y); or with UP_R the upsampled copy, written.
@group(0) @binding(2) var<storage, read_write> r: array<S>;
@group(0) @binding(3) var<storage, read_write> y: array<S>;
@group(0) @binding(4) var<uniform> params: Params;

// The number of partial sums per output (conv2d's KSPLIT).
override KSPLIT: u32 = 2u;
// 0: identity, 1: SiLU x * sigmoid(x).
override ACT: u32 = 0u;
// Add r (same view shape as y) after the activation.
override RESIDUAL: bool = false;
// Write y as NCHW instead of NHWC.
override OUT_NCHW: bool = false;
override WG: u32 = 256u;
// conv2d's UP_R: also write each value to its UP_R x UP_R block of r's NHWC view (0: no; RESIDUAL off).
override UP_R: u32 = 0u;
// r's view lies in y's buffer: read through y, r bound to a dummy (conv2d's R_IN_Y).
override R_IN_Y: bool = false;

fn outIndex(base: u32, stride: u32, n: u32, oy: u32, ox: u32, c: u32) -> u32 {
  if (OUT_NCHW) {
    return base + ((n * stride + c) * params.outH + oy) * params.outW + ox;
  }
  return base + ((n * params.outH + oy) * params.outW + ox) * stride + c;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let pixels = params.batch * params.outH * params.outW;
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= pixels * params.outC) {
    return;
  }
  let c = i % params.outC;
  let m = i / params.outC;
  var v = 0.0;
  for (var s = 0u; s < KSPLIT; s++) {
    v += p[s * pixels * params.outC + i];
  }
  v += f32(b[c]);
  if (ACT == 1u) {
    v = v / (1.0 + exp(-v));
  }
  let ox = m % params.outW;
  let t = m / params.outW;
  let oy = t % params.outH;
  let n = t / params.outH;
  if (RESIDUAL) {
    let ri = outIndex(params.rBase, params.rStride, n, oy, ox, params.rOff + c);
    if (R_IN_Y) {
      v += f32(y[ri]);
    } else {
      v += f32(r[ri]);
    }
  }
  y[outIndex(params.yBase, params.yStride, n, oy, ox, params.yOff + c)] = S(v);
  if (UP_R > 0u) {
    let h = params.outH * UP_R;
    let w = params.outW * UP_R;
    for (var dy = 0u; dy < UP_R; dy++) {
      for (var dx = 0u; dx < UP_R; dx++) {
        r[params.rBase + ((n * h + oy * UP_R + dy) * w + ox * UP_R + dx) * params.rStride + params.rOff + c] = S(v);
      }
    }
  }
}
