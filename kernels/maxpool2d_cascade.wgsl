// maxpool2d_cascade: SPPF's three chained max pools (window KSIZE, stride 1, pad KSIZE / 2, PyTorch's -inf
// padding) in one pass over NHWC views: y1 = pool(x), y2 = pool(y1), y3 = pool(y2). With -inf padding a
// chain of stride-1 pools is one pool of the summed window clipped to the map (any tap inside the map is
// reached through an in-map intermediate pixel between it and the output pixel), so each output element
// takes the max of x over three nested windows around it: KSIZE, 2 * KSIZE - 1 and 3 * KSIZE - 2 wide
// (5, 9, 13). Max is exact: the results equal the three chained pools bit for bit.
//
// One invocation per output element, channel fastest; the outer window's rows are scanned once, each
// row's max kept for the three widths. With VEC4 (entry point main4) one per four channels of a pixel:
// on a CPU adapter (lavapipe), where every load is a loop over the SIMD lanes, a quarter of the loads
// (YOLO11n-seg's SPPF at 640: 7.2 -> 4.6 ms).
// Views: element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c; the three outputs
// share one buffer (SPPF's concat), each with its own base, stride and offset.

// Element type of activations in memory: f32 here, f16 in its f16 variant (f16Variant), which differs from
// this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;

struct Params {
  batch: u32,
  height: u32,
  width: u32,
  channels: u32,
  xBase: u32,
  xStride: u32,
  xOff: u32,
  y1Base: u32,
  y1Stride: u32,
  y1Off: u32,
  y2Base: u32,
  y2Stride: u32,
  y2Off: u32,
  y3Base: u32,
  y3Stride: u32,
  y3Off: u32,
}

// The input (a dummy with X_IN_Y: its view then lies in y's buffer and is read through y; WebGPU forbids
// binding one buffer twice where one binding is writable). SPPF's cv1 output shares the concat's region.
@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read_write> y: array<S>;
@group(0) @binding(2) var<uniform> params: Params;
// x and y again as vec4s of four channels, for main4 (the same bindings, each used by one entry point).
@group(0) @binding(0) var<storage, read> x4: array<vec4<S>>;
@group(0) @binding(1) var<storage, read_write> y4: array<vec4<S>>;

// The window of one pool (odd).
override KSIZE: u32 = 5u;
override WG: u32 = 64u;
override X_IN_Y: bool = false;
// VEC4: the spec picks main4. Needs channels, bases, strides and offsets that are multiples of 4.
override VEC4: bool = false;

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
  let h = params.height;
  let w = params.width;
  if (m >= params.batch * h * w) {
    return;
  }
  let ox = i32(m % w);
  let oy = i32((m / w) % h);
  let n = m / (w * h);
  let r = i32(KSIZE / 2u); // one pool's reach; the chain reaches 2r and 3r
  var m1 = LOWEST;
  var m2 = LOWEST;
  var m3 = LOWEST;
  for (var dy = -3 * r; dy <= 3 * r; dy++) {
    let iy = oy + dy;
    if (iy < 0 || iy >= i32(h)) {
      continue;
    }
    let row = params.xBase + (n * h + u32(iy)) * w * params.xStride + params.xOff + c;
    var r1 = LOWEST;
    var r2 = LOWEST;
    var r3 = LOWEST;
    for (var dx = -3 * r; dx <= 3 * r; dx++) {
      let ix = ox + dx;
      if (ix < 0 || ix >= i32(w)) {
        continue;
      }
      let i = row + u32(ix) * params.xStride;
      var v: f32;
      if (X_IN_Y) {
        v = f32(y[i]);
      } else {
        v = f32(x[i]);
      }
      r3 = max(r3, v);
      if (abs(dx) <= 2 * r) {
        r2 = max(r2, v);
      }
      if (abs(dx) <= r) {
        r1 = max(r1, v);
      }
    }
    m3 = max(m3, r3);
    if (abs(dy) <= 2 * r) {
      m2 = max(m2, r2);
    }
    if (abs(dy) <= r) {
      m1 = max(m1, r1);
    }
  }
  let pixel = (n * h + u32(oy)) * w + u32(ox);
  y[params.y1Base + pixel * params.y1Stride + params.y1Off + c] = S(m1);
  y[params.y2Base + pixel * params.y2Stride + params.y2Off + c] = S(m2);
  y[params.y3Base + pixel * params.y3Stride + params.y3Off + c] = S(m3);
}

// main, four channels per invocation (VEC4).
@compute @workgroup_size(WG)
fn main4(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  let c4s = params.channels / 4u;
  let c = idx % c4s * 4u;
  let m = idx / c4s;
  let h = params.height;
  let w = params.width;
  if (m >= params.batch * h * w) {
    return;
  }
  let ox = i32(m % w);
  let oy = i32((m / w) % h);
  let n = m / (w * h);
  let r = i32(KSIZE / 2u); // one pool's reach; the chain reaches 2r and 3r
  var m1 = vec4<f32>(LOWEST);
  var m2 = vec4<f32>(LOWEST);
  var m3 = vec4<f32>(LOWEST);
  for (var dy = -3 * r; dy <= 3 * r; dy++) {
    let iy = oy + dy;
    if (iy < 0 || iy >= i32(h)) {
      continue;
    }
    let row = params.xBase + (n * h + u32(iy)) * w * params.xStride + params.xOff + c;
    var r1 = vec4<f32>(LOWEST);
    var r2 = vec4<f32>(LOWEST);
    var r3 = vec4<f32>(LOWEST);
    for (var dx = -3 * r; dx <= 3 * r; dx++) {
      let ix = ox + dx;
      if (ix < 0 || ix >= i32(w)) {
        continue;
      }
      let i = row + u32(ix) * params.xStride;
      var v: vec4<f32>;
      if (X_IN_Y) {
        v = vec4<f32>(y4[i / 4u]);
      } else {
        v = vec4<f32>(x4[i / 4u]);
      }
      r3 = max(r3, v);
      if (abs(dx) <= 2 * r) {
        r2 = max(r2, v);
      }
      if (abs(dx) <= r) {
        r1 = max(r1, v);
      }
    }
    m3 = max(m3, r3);
    if (abs(dy) <= 2 * r) {
      m2 = max(m2, r2);
    }
    if (abs(dy) <= r) {
      m1 = max(m1, r1);
    }
  }
  let pixel = (n * h + u32(oy)) * w + u32(ox);
  y4[(params.y1Base + pixel * params.y1Stride + params.y1Off + c) / 4u] = vec4<S>(m1);
  y4[(params.y2Base + pixel * params.y2Stride + params.y2Off + c) / 4u] = vec4<S>(m2);
  y4[(params.y3Base + pixel * params.y3Stride + params.y3Off + c) / 4u] = vec4<S>(m3);
}
