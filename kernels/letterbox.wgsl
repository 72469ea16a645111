// letterbox: Ultralytics' LetterBox + the predictor's preprocess on the GPU, bit for bit as
// src/data/letterbox.ts `letterboxInto` computes it: an 8-bit RGB image resized exactly as OpenCV's
// INTER_LINEAR (src/data/resize.ts), placed at (top, left) in an outW x outH canvas of `pad`, written as
// NCHW float32 `byte / 255` at element `offset` of y.
//
// x: the RGB bytes, row-major, packed little-endian 4 per u32.
// t: the float LUT (256 f32 bit patterns, `f32(v / 255)` rounded in double on the CPU, since WGSL division
//    may be inexact), then for the bilinear mode the column taps (sx, a0, a1) per resized column and the
//    row taps (sy as i32 bits, b0, b1) per resized row, as OpenCV computes them (fixed point, 2048 = 1).
// mode: 0 copy (same size), 1 area2x (exact 2x downscale: (a + b + c + d + 2) >> 2), 2 bilinear.
//
// One invocation per output pixel; integer arithmetic only (all values non-negative except sy).

struct Params {
  srcW: u32,
  srcH: u32,
  resizedW: u32,
  resizedH: u32,
  outW: u32,
  outH: u32,
  top: u32,
  left: u32,
  offset: u32,
  mode: u32,
  pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> t: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 64u;

const LUT_LEN: u32 = 256u;

/** Byte `i` of the image. */
fn byteAt(i: u32) -> i32 {
  return i32((x[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu);
}

/** The RGB source pixel (col, row). */
fn src(col: u32, row: u32) -> vec3<i32> {
  let i = (row * params.srcW + col) * 3u;
  return vec3<i32>(byteAt(i), byteAt(i + 1u), byteAt(i + 2u));
}

/** OpenCV's horizontal pass of one source row at one resized column: S[sx] * a0 + S[sx + 1] * a1. */
fn hpass(row: u32, sx: u32, a0: i32, a1: i32) -> vec3<i32> {
  var v = src(sx, row) * a0;
  if (a1 != 0) {
    v += src(sx + 1u, row) * a1;
  }
  return v;
}

/** The resized image's RGB at (rx, ry). */
fn resized(rx: u32, ry: u32) -> vec3<u32> {
  if (params.mode == 0u) {
    return vec3<u32>(src(rx, ry));
  }
  if (params.mode == 1u) {
    let s = src(2u * rx, 2u * ry) + src(2u * rx + 1u, 2u * ry) + src(2u * rx, 2u * ry + 1u) +
      src(2u * rx + 1u, 2u * ry + 1u);
    return vec3<u32>((s + 2) >> vec3<u32>(2u));
  }
  let xt = LUT_LEN + 3u * rx;
  let yt = LUT_LEN + 3u * params.resizedW + 3u * ry;
  let sx = t[xt];
  let a0 = i32(t[xt + 1u]);
  let a1 = i32(t[xt + 2u]);
  let sy = bitcast<i32>(t[yt]);
  let b0 = i32(t[yt + 1u]);
  let b1 = i32(t[yt + 2u]);
  let last = i32(params.srcH) - 1;
  let s0 = hpass(u32(clamp(sy, 0, last)), sx, a0, a1);
  let s1 = hpass(u32(clamp(sy + 1, 0, last)), sx, a0, a1);
  let four = vec3<u32>(4u);
  let sixteen = vec3<u32>(16u);
  let v = (((b0 * (s0 >> four)) >> sixteen) + ((b1 * (s1 >> four)) >> sixteen) + 2) >> vec3<u32>(2u);
  return vec3<u32>(clamp(v, vec3<i32>(0), vec3<i32>(255)));
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let plane = params.outW * params.outH;
  if (i >= plane) {
    return;
  }
  let ox = i % params.outW;
  let oy = i / params.outW;
  let o = params.offset + i;
  let inside = ox >= params.left && ox < params.left + params.resizedW && oy >= params.top &&
    oy < params.top + params.resizedH;
  var v = vec3<u32>(params.pad);
  if (inside) {
    v = resized(ox - params.left, oy - params.top);
  }
  y[o] = bitcast<f32>(t[v.x]);
  y[o + plane] = bitcast<f32>(t[v.y]);
  y[o + 2u * plane] = bitcast<f32>(t[v.z]);
}
