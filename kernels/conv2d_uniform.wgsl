// conv2d_uniform: 2-D convolution for adapters that run invocations as SIMD lanes of a CPU
// (llvmpipe/lavapipe, SwiftShader), with bias, optional SiLU and optional residual add fused.
//
// On such an adapter a storage-buffer load whose address differs per invocation is a loop over the
// lanes, and a storage load at a uniform address costs the same; a uniform-buffer load at an address
// that is the same for every invocation is one scalar load broadcast to all lanes. So here:
//   - one invocation computes one output pixel (consecutive invocations: consecutive pixels);
//   - it accumulates 4 * TN4 output channels of one chunk in TN4 vec4 registers (named a0..a7);
//   - per reduction step it loads one input value (the only per-lane load) and TN4 weight vec4s
//     from the uniform buffer `w`, at addresses that depend only on the loop counters.
// A dispatch covers one chunk of at most 4 * TN4 output channels (`coBase`, `coCount`) of one group;
// the executor binds the 64 KiB window of the packed weights that holds that chunk, laid out as
// [k = (ky * KSIZE + kx) * cinG + ci][TN4] vec4 (packConv2dUniformWeight).
//
// Views: activation element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c
// (NHWC), or with IN_NCHW / OUT_NCHW at base + ((b * stride + off + c) * H + y) * W + x.

struct Params {
  batch: u32,
  inH: u32,
  inW: u32,
  inC: u32,
  outH: u32,
  outW: u32,
  outC: u32,
  groups: u32,
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
  coBase: u32,
  coCount: u32,
}

// One chunk's weights: 64 KiB, the largest uniform binding every WebGPU adapter allows.
const W_VEC4S = 4096u;

@group(0) @binding(0) var<storage, read_write> x: array<f32>; // read only (shared: may alias y's buffer)
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, W_VEC4S>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> r: array<f32>; // read only (shared: may alias y's buffer)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

// 0: identity, 1: SiLU x * sigmoid(x).
override ACT: u32 = 0u;
// Square kernel size and stride.
override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
// Add r (same view shape as y) after the activation: Ultralytics Bottleneck x + cv2(cv1(x)).
override RESIDUAL: bool = false;
// Read x as NCHW / write y as NCHW instead of NHWC.
override IN_NCHW: bool = false;
override OUT_NCHW: bool = false;
// Output-channel vec4s per invocation (the register tile), at most MAX_TN4.
override TN4: u32 = 4u;
// Invocations (pixels) per workgroup.
override WG: u32 = 64u;

const MAX_TN4 = 8u;

fn outIndex(base: u32, stride: u32, n: u32, oy: u32, ox: u32, c: u32) -> u32 {
  if (OUT_NCHW) {
    return base + ((n * stride + c) * params.outH + oy) * params.outW + ox;
  }
  return base + ((n * params.outH + oy) * params.outW + ox) * stride + c;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let pixels = params.batch * params.outH * params.outW;
  let cinG = params.inC / params.groups;
  let coutG = params.outC / params.groups;
  // Bounds guard, uniform over the dispatch: an empty map or chunk does nothing; lanes past the last
  // pixel compute it again and store nothing.
  if (pixels == 0u || params.coCount == 0u || cinG == 0u) {
    return;
  }
  let mRaw = (wid.x + wid.y * nwg.x) * WG + lid;
  let m = min(mRaw, pixels - 1u);
  let ox = m % params.outW;
  let t = m / params.outW;
  let oy = t % params.outH;
  let n = t / params.outH;
  let g = params.coBase / max(coutG, 1u);

  // Input addressing: element (n, iy, ix, c) at pixel index * pixStep + c * cStep + cBase.
  var pixStep = params.xStride;
  var cStep = 1u;
  var cBase = params.xBase + n * params.inH * params.inW * params.xStride + params.xOff + g * cinG;
  if (IN_NCHW) {
    pixStep = 1u;
    cStep = params.inH * params.inW;
    cBase = params.xBase + (n * params.xStride + params.xOff + g * cinG) * cStep;
  }

  // The register tile as named variables: llvmpipe keeps these in registers, while an array indexed
  // by a loop counter (even one it unrolls) ends up in memory and runs at half the speed.
  var a0 = vec4<f32>();
  var a1 = vec4<f32>();
  var a2 = vec4<f32>();
  var a3 = vec4<f32>();
  var a4 = vec4<f32>();
  var a5 = vec4<f32>();
  var a6 = vec4<f32>();
  var a7 = vec4<f32>();
  let iy0 = i32(oy * STRIDE) - i32(params.pad);
  let ix0 = i32(ox * STRIDE) - i32(params.pad);
  for (var ky = 0u; ky < KSIZE; ky++) {
    let iy = iy0 + i32(ky);
    let yOk = iy >= 0 && iy < i32(params.inH);
    let iyc = u32(clamp(iy, 0, i32(params.inH) - 1));
    for (var kx = 0u; kx < KSIZE; kx++) {
      let ix = ix0 + i32(kx);
      let ok = yOk && ix >= 0 && ix < i32(params.inW);
      let ixc = u32(clamp(ix, 0, i32(params.inW) - 1));
      var xi = cBase + (iyc * params.inW + ixc) * pixStep;
      var wi = (ky * KSIZE + kx) * cinG * TN4;
      for (var ci = 0u; ci < cinG; ci++) {
        let xv = vec4<f32>(select(0.0, x[xi], ok));
        // Conditions on TN4 are constant: the compiler drops the unused lines.
        a0 = fma(xv, w[wi], a0);
        if (TN4 > 1u) {
          a1 = fma(xv, w[wi + 1u], a1);
        }
        if (TN4 > 2u) {
          a2 = fma(xv, w[wi + 2u], a2);
        }
        if (TN4 > 3u) {
          a3 = fma(xv, w[wi + 3u], a3);
        }
        if (TN4 > 4u) {
          a4 = fma(xv, w[wi + 4u], a4);
        }
        if (TN4 > 5u) {
          a5 = fma(xv, w[wi + 5u], a5);
        }
        if (TN4 > 6u) {
          a6 = fma(xv, w[wi + 6u], a6);
        }
        if (TN4 > 7u) {
          a7 = fma(xv, w[wi + 7u], a7);
        }
        xi += cStep;
        wi += TN4;
      }
    }
  }

  if (mRaw >= pixels) {
    return;
  }
  let acc = array<vec4<f32>, MAX_TN4>(a0, a1, a2, a3, a4, a5, a6, a7);
  for (var j = 0u; j < TN4; j++) {
    for (var q = 0u; q < 4u; q++) {
      let co = 4u * j + q;
      if (co < params.coCount) {
        let c = params.coBase + co;
        var v = acc[j][q] + b[c];
        if (ACT == 1u) {
          v = v / (1.0 + exp(-v));
        }
        if (RESIDUAL) {
          v += r[outIndex(params.rBase, params.rStride, n, oy, ox, params.rOff + c)];
        }
        y[outIndex(params.yBase, params.yStride, n, oy, ox, params.yOff + c)] = v;
      }
    }
  }
}
