// dwconv2d: depthwise convolution (groups == in channels == out channels), square kernel, any
// stride and padding, with bias, optional SiLU and an optional residual added after it, over NHWC views.
//
// One invocation computes one output pixel for 4 consecutive channels (consecutive invocations
// take consecutive channel quads, so loads and stores of a warp are contiguous). Weights are
// pre-packed on the CPU (packDwconv2dWeight) as [ky * KSIZE + kx][ceil(C / 4)] vec4, zero padded.
//
// Views: element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c.

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

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read> w: array<vec4<S>>;
@group(0) @binding(2) var<storage, read> b: array<S>;
@group(0) @binding(3) var<storage, read> r: array<S>;
@group(0) @binding(4) var<storage, read_write> y: array<S>;
@group(0) @binding(5) var<uniform> params: Params;

// 0: identity, 1: SiLU x * sigmoid(x).
override ACT: u32 = 0u;
override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override RESIDUAL: bool = false;
override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let c4s = (params.channels + 3u) / 4u;
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  let c4 = idx % c4s;
  let m = idx / c4s;
  if (m >= params.batch * params.outH * params.outW) {
    return;
  }
  let ox = m % params.outW;
  let oy = (m / params.outW) % params.outH;
  let n = m / (params.outW * params.outH);
  let c0 = c4 * 4u;
  let valid = min(4u, params.channels - c0);
  let iy0 = i32(oy * STRIDE) - i32(params.pad);
  let ix0 = i32(ox * STRIDE) - i32(params.pad);

  var acc = vec4<f32>(0.0);
  for (var ky = 0u; ky < KSIZE; ky++) {
    let iy = iy0 + i32(ky);
    if (iy < 0 || iy >= i32(params.inH)) {
      continue;
    }
    for (var kx = 0u; kx < KSIZE; kx++) {
      let ix = ix0 + i32(kx);
      if (ix < 0 || ix >= i32(params.inW)) {
        continue;
      }
      let i = params.xBase + ((n * params.inH + u32(iy)) * params.inW + u32(ix)) * params.xStride +
        params.xOff + c0;
      // Lanes past the last channel read a neighbour (clamped into the buffer) and store nothing.
      let last = arrayLength(&x) - 1u;
      let xv = vec4<f32>(f32(x[i]), f32(x[min(i + 1u, last)]), f32(x[min(i + 2u, last)]), f32(x[min(i + 3u, last)]));
      acc = fma(xv, vec4<f32>(w[(ky * KSIZE + kx) * c4s + c4]), acc);
    }
  }

  let pix = (n * params.outH + oy) * params.outW + ox;
  let o = params.yBase + pix * params.yStride + params.yOff + c0;
  let ro = params.rBase + pix * params.rStride + params.rOff + c0;
  // Unrolled on vec4 components: a loop indexing acc by its counter costs per-lane scratch memory
  // on llvmpipe.
  let lastC = params.channels - 1u;
  var v = acc + vec4<f32>(f32(b[c0]), f32(b[min(c0 + 1u, lastC)]), f32(b[min(c0 + 2u, lastC)]), f32(b[min(c0 + 3u, lastC)]));
  if (ACT == 1u) {
    v = v / (1.0 + exp(-v));
  }
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
