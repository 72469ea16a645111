// upsample_nearest: nearest-neighbour upsampling by an integer SCALE (Ultralytics nn.Upsample
// scale_factor=2) over NHWC views: out (b, oy, ox, c) = in (b, oy / SCALE, ox / SCALE, c).
//
// One invocation per output element, channel fastest; or (VEC4, entry point main4) one per four
// channels of an input pixel, stored to its SCALE x SCALE output pixels: on a CPU adapter (lavapipe),
// where every load and store is a loop over the SIMD lanes and integer division runs lane by lane,
// that is one vec4 load, SCALE^2 vec4 stores and one index decode per 4 * SCALE^2 elements (YOLO11n-seg's
// two upsamples at 640: 8.0 -> 3.3 ms).
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
// x and y again as vec4s of four channels, for main4 (the same bindings, each used by one entry point).
@group(0) @binding(0) var<storage, read> x4: array<vec4<S>>;
@group(0) @binding(1) var<storage, read_write> y4: array<vec4<S>>;

override SCALE: u32 = 2u;
override WG: u32 = 64u;
// VEC4: the spec picks main4. Needs channels, bases, strides and offsets that are multiples of 4.
override VEC4: bool = false;

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

@compute @workgroup_size(WG)
fn main4(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let outH = params.inH * SCALE;
  let outW = params.inW * SCALE;
  let c4s = params.channels / 4u;
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  let c4 = idx % c4s;
  let m = idx / c4s;
  if (m >= params.batch * params.inH * params.inW) {
    return;
  }
  let ix = m % params.inW;
  let iy = (m / params.inW) % params.inH;
  let n = m / (params.inW * params.inH);
  let v = x4[(params.xBase + m * params.xStride + params.xOff) / 4u + c4];
  for (var dy = 0u; dy < SCALE; dy++) {
    let row = (n * outH + iy * SCALE + dy) * outW + ix * SCALE;
    for (var dx = 0u; dx < SCALE; dx++) {
      y4[(params.yBase + (row + dx) * params.yStride + params.yOff) / 4u + c4] = v;
    }
  }
}
