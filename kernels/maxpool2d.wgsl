// maxpool2d: max pooling (square window KSIZE, stride STRIDE, padding ignored like PyTorch's -inf
// padding) over NHWC views; SPPF uses KSIZE = 5, STRIDE = 1, pad = 2.
//
// One invocation per output element, channel fastest, so a warp reads and writes contiguously.
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
}

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read_write> y: array<S>;
@group(0) @binding(2) var<uniform> params: Params;

override KSIZE: u32 = 5u;
override STRIDE: u32 = 1u;
override WG: u32 = 64u;

// The lowest finite f32, exactly (a decimal rounded up past it is an error in Tint, Dawn's compiler).
const LOWEST = -0x1.fffffep+127f;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  let c = idx % params.channels;
  let m = idx / params.channels;
  if (m >= params.batch * params.outH * params.outW) {
    return;
  }
  let ox = m % params.outW;
  let oy = (m / params.outW) % params.outH;
  let n = m / (params.outW * params.outH);
  let iy0 = i32(oy * STRIDE) - i32(params.pad);
  let ix0 = i32(ox * STRIDE) - i32(params.pad);

  var v = LOWEST;
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
        params.xOff + c;
      v = max(v, f32(x[i]));
    }
  }
  y[params.yBase + ((n * params.outH + oy) * params.outW + ox) * params.yStride + params.yOff + c] = S(v);
}
