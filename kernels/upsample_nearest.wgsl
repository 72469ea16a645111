// upsample_nearest: nearest-neighbour upsampling by an integer SCALE (Ultralytics nn.Upsample
// scale_factor=2) over NHWC views: out (b, oy, ox, c) = in (b, oy / SCALE, ox / SCALE, c).
//
// One invocation per output element, channel fastest.
// Views: element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c.

// Element type of activations (and of weights bound as storage) in memory: f32 here, f16 in its f16 variant (f16Variant),
// which differs from this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;

struct Params {
  batch: u32,
  inH: u32,
  inW: u32,
  channels: u32,
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

override SCALE: u32 = 2u;
override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let outH = params.inH * SCALE;
  let outW = params.inW * SCALE;
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  let c = idx % params.channels;
  let m = idx / params.channels;
  if (m >= params.batch * outH * outW) {
    return;
  }
  let ox = m % outW;
  let oy = (m / outW) % outH;
  let n = m / (outW * outH);
  let i = params.xBase + ((n * params.inH + oy / SCALE) * params.inW + ox / SCALE) * params.xStride +
    params.xOff + c;
  y[params.yBase + ((n * outH + oy) * outW + ox) * params.yStride + params.yOff + c] = x[i];
}
