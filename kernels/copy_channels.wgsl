// copy_channels: copies a channel-slice view into another view of the same (batch, H, W,
// channels) shape: the rare concat input that cannot be written in place, a split that must be
// materialised, or a layout change (IN_NCHW / OUT_NCHW, e.g. the network input or output1).
//
// One invocation per element, channel fastest (pixel fastest when reading NCHW).
// Views: element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c (NHWC),
// or base + ((b * stride + off + c) * H + y) * W + x (NCHW).

// Element type of activations (and of weights bound as storage) in memory: f32 here, f16 in its f16 variant (f16Variant),
// which differs from this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;

struct Params {
  batch: u32,
  height: u32,
  width: u32,
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

override IN_NCHW: bool = false;
override OUT_NCHW: bool = false;
override WG: u32 = 64u;

fn viewIndex(nchw: bool, base: u32, stride: u32, off: u32, n: u32, py: u32, px: u32, c: u32) -> u32 {
  if (nchw) {
    return base + ((n * stride + off + c) * params.height + py) * params.width + px;
  }
  return base + ((n * params.height + py) * params.width + px) * stride + off + c;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let hw = params.height * params.width;
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= params.batch * hw * params.channels) {
    return;
  }
  var c: u32;
  var p: u32;
  var n: u32;
  if (IN_NCHW) {
    p = idx % hw;
    c = (idx / hw) % params.channels;
    n = idx / (hw * params.channels);
  } else {
    c = idx % params.channels;
    p = (idx / params.channels) % hw;
    n = idx / (hw * params.channels);
  }
  let py = p / params.width;
  let px = p % params.width;
  let v = x[viewIndex(IN_NCHW, params.xBase, params.xStride, params.xOff, n, py, px, c)];
  y[viewIndex(OUT_NCHW, params.yBase, params.yStride, params.yOff, n, py, px, c)] = v;
}
