// conv2d_uniform: 2-D convolution for adapters that run invocations as SIMD lanes of a CPU
// (llvmpipe/lavapipe, SwiftShader), with bias, optional SiLU and optional residual add fused.
//
// On such an adapter a storage-buffer load whose address differs per invocation is a loop over the
// lanes, and a storage load at a uniform address costs the same; a uniform-buffer load at an address
// that is the same for every invocation is one scalar load broadcast to all lanes. So here:
//   - one invocation computes TM output pixels times 4 * TN4 output channels of one chunk, in
//     TM x TN4 named vec4 registers; the pixels are WG apart (consecutive invocations: consecutive
//     pixels), or with ROW neighbours in a row, so that a 3x3 conv loads each input column once
//     for all its taps ((TM - 1) * STRIDE + 3 loads per input channel and kernel row instead of
//     3 * TM: 24% less time for a 3x3 64 -> 64 conv at 160x160);
//   - per reduction step it loads the TM pixels' input values (the only per-lane loads) and TN4
//     weight vec4s from the uniform buffer `w`, at addresses that depend only on the loop
//     counters, each weight vec4 feeding TM FMAs.
// A dispatch covers one chunk of at most 4 * TN4 output channels (`coBase`, `coCount`) of one group
// and one slice of its input channels (`ciBase`, `ciCount`); the executor binds the 64 KiB window
// of the packed weights that holds that chunk's slice, laid out as
// [k = (ky * KSIZE + kx) * ciCount + ci][TN4] vec4, then one row of the chunk's bias
// (packConv2dUniformWeight): bias loads too are lane-invariant uniform loads. When a layer's weights
// per chunk overflow the window, its input channels are split into slices run one after another:
// the first stores its partial sums, later ones add to them (`accumulate`), and the last applies
// the epilogue (`finish`). So wide layers keep the widest register tile.
//
// Views: activation element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c
// (NHWC), or with IN_NCHW / OUT_NCHW at base + ((b * stride + off + c) * H + y) * W + x.

// Element type of activations (and of weights bound as storage) in memory: f32 here, f16 in its f16 variant (f16Variant),
// which differs from this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;

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
  phaseY: u32,
  phaseX: u32,
  ciBase: u32,
  ciCount: u32,
  accumulate: u32,
  finish: u32,
}

// One chunk's weights (and bias): 64 KiB, the largest uniform binding every WebGPU adapter allows.
const W_VEC4S = 4096u;

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, W_VEC4S>;
// The residual (a dummy with R_IN_Y, its view then read through y).
@group(0) @binding(2) var<storage, read> r: array<S>;
@group(0) @binding(3) var<storage, read_write> y: array<S>;
@group(0) @binding(4) var<uniform> params: Params;

// 0: identity, 1: SiLU x * sigmoid(x).
override ACT: u32 = 0u;
// Square kernel size and stride.
override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
// Add r (same view shape as y) after the activation: Ultralytics Bottleneck x + cv2(cv1(x)).
override RESIDUAL: bool = false;
// r's view lies in y's buffer (a residual in the concat region y is written into): read through y, r bound to
// a dummy (WebGPU forbids binding one buffer twice where one binding is writable).
override R_IN_Y: bool = false;
// Read x as NCHW / write y as NCHW instead of NHWC.
override IN_NCHW: bool = false;
override OUT_NCHW: bool = false;
// Output step: computed pixel (oy, ox) is stored at (oy * OUT_STEP + phaseY, ox * OUT_STEP + phaseX)
// of a map OUT_STEP times larger. A transposed conv with kernel == stride == OUT_STEP is OUT_STEP^2
// such 1x1 convs, one per phase (Ultralytics Proto's 2x upsample).
override OUT_STEP: u32 = 1u;
// Output pixels per invocation (1..4) and output-channel vec4s per invocation (1..8): the register
// tile.
override TM: u32 = 4u;
override TN4: u32 = 8u;
// Invocations per workgroup; a workgroup covers TM * WG pixels.
override WG: u32 = 64u;
// ROW: an invocation's TM pixels are neighbours in a row (rows padded to a multiple of TM), so
// that, for KSIZE <= 3, the (TM - 1) * STRIDE + KSIZE input columns they cover are loaded once per
// input channel and shared by the taps; else they are WG pixels apart and each tap loads its own.
override ROW: bool = false;

// One input tap of one output pixel: where its channel 0 is, and whether it lies inside the map
// (outside, the index is clamped into the map and the value replaced by the zero padding).
struct Tap {
  xi: u32,
  ok: bool,
}

// An output pixel's coordinates.
struct Pixel {
  n: u32,
  oy: u32,
  ox: u32,
}

fn pixelAt(m: u32) -> Pixel {
  let t = m / params.outW;
  return Pixel(t / params.outH, t % params.outH, m % params.outW);
}

fn tapOf(p: Pixel, ky: u32, kx: u32, cinOff: u32) -> Tap {
  let iy = i32(p.oy * STRIDE + ky) - i32(params.pad);
  let ix = i32(p.ox * STRIDE + kx) - i32(params.pad);
  let ok = iy >= 0 && iy < i32(params.inH) && ix >= 0 && ix < i32(params.inW);
  let yc = u32(clamp(iy, 0, i32(params.inH) - 1));
  let xc = u32(clamp(ix, 0, i32(params.inW) - 1));
  if (IN_NCHW) {
    let plane = params.inH * params.inW;
    return Tap(params.xBase + (p.n * params.xStride + params.xOff + cinOff) * plane + yc * params.inW + xc, ok);
  }
  let pix = (p.n * params.inH + yc) * params.inW + xc;
  return Tap(params.xBase + pix * params.xStride + params.xOff + cinOff, ok);
}

fn outIndex(base: u32, stride: u32, p: Pixel, c: u32) -> u32 {
  let h = params.outH * OUT_STEP;
  let w = params.outW * OUT_STEP;
  let oy = p.oy * OUT_STEP + params.phaseY;
  let ox = p.ox * OUT_STEP + params.phaseX;
  if (OUT_NCHW) {
    return base + ((p.n * stride + c) * h + oy) * w + ox;
  }
  return base + ((p.n * h + oy) * w + ox) * stride + c;
}

// Where one output pixel's channel 0 is stored (and its residual read), and the step between channels.
struct Out {
  yi: u32,
  ri: u32,
  step: u32,
}

fn outOf(m: u32) -> Out {
  let p = pixelAt(m);
  var step = 1u;
  if (OUT_NCHW) {
    step = params.outH * params.outW * OUT_STEP * OUT_STEP;
  }
  let c = params.coBase;
  return Out(
    outIndex(params.yBase, params.yStride, p, params.yOff + c),
    outIndex(params.rBase, params.rStride, p, params.rOff + c),
    step,
  );
}

// Epilogue of one output element: the partial sum `s` of this dispatch's input channels, plus
// the earlier slices' sum already in y (`accumulate`), then on the last slice (`finish`) bias,
// activation and residual; stored to y[i].
fn put(i: u32, ri: u32, bias: f32, s: f32) {
  var v = s;
  if (params.accumulate != 0u) {
    v += f32(y[i]);
  }
  if (params.finish != 0u) {
    v += bias;
    if (ACT == 1u) {
      v = v / (1.0 + exp(-v));
    }
    if (RESIDUAL && R_IN_Y) {
      v += f32(y[ri]);
    } else if (RESIDUAL) {
      v += f32(r[ri]);
    }
  }
  y[i] = S(v);
}

// Epilogue of channels 4j .. 4j + 3 of the chunk at one pixel. Called once per register with a
// constant j, on vec4s rather than an array indexed by a loop counter: llvmpipe puts such an array
// in per-lane scratch memory, which cost 80% of a 1x1 conv.
fn store4(o: Out, j: u32, acc: vec4<f32>) {
  let co = 4u * j;
  if (co >= params.coCount) {
    return;
  }
  let n = params.coCount - co;
  let i = o.yi + co * o.step;
  let ri = o.ri + co * o.step;
  // The bias row follows the window's weight rows: a uniform load, broadcast to every lane.
  let bias = w[KSIZE * KSIZE * params.ciCount * TN4 + j];
  put(i, ri, bias.x, acc.x);
  if (n > 1u) {
    put(i + o.step, ri + o.step, bias.y, acc.y);
  }
  if (n > 2u) {
    put(i + 2u * o.step, ri + 2u * o.step, bias.z, acc.z);
  }
  if (n > 3u) {
    put(i + 3u * o.step, ri + 3u * o.step, bias.w, acc.w);
  }
}

// Epilogue of one pixel's TN4 registers (those past TN4 are constant-folded away).
fn store(
  m: u32,
  a0: vec4<f32>,
  a1: vec4<f32>,
  a2: vec4<f32>,
  a3: vec4<f32>,
  a4: vec4<f32>,
  a5: vec4<f32>,
  a6: vec4<f32>,
  a7: vec4<f32>,
) {
  let o = outOf(m);
  store4(o, 0u, a0);
  if (TN4 > 1u) {
    store4(o, 1u, a1);
  }
  if (TN4 > 2u) {
    store4(o, 2u, a2);
  }
  if (TN4 > 3u) {
    store4(o, 3u, a3);
  }
  if (TN4 > 4u) {
    store4(o, 4u, a4);
  }
  if (TN4 > 5u) {
    store4(o, 5u, a5);
  }
  if (TN4 > 6u) {
    store4(o, 6u, a6);
  }
  if (TN4 > 7u) {
    store4(o, 7u, a7);
  }
}

// The register tile: pixel t, channel vec4 j in a{t}{j}. Named fields rather than an array:
// llvmpipe keeps these in registers (or plain stack slots), while an array indexed by a loop
// counter, even an unrolled one, runs at half the speed.
struct Tile {
  a00: vec4<f32>,
  a01: vec4<f32>,
  a02: vec4<f32>,
  a03: vec4<f32>,
  a04: vec4<f32>,
  a05: vec4<f32>,
  a06: vec4<f32>,
  a07: vec4<f32>,
  a10: vec4<f32>,
  a11: vec4<f32>,
  a12: vec4<f32>,
  a13: vec4<f32>,
  a14: vec4<f32>,
  a15: vec4<f32>,
  a16: vec4<f32>,
  a17: vec4<f32>,
  a20: vec4<f32>,
  a21: vec4<f32>,
  a22: vec4<f32>,
  a23: vec4<f32>,
  a24: vec4<f32>,
  a25: vec4<f32>,
  a26: vec4<f32>,
  a27: vec4<f32>,
  a30: vec4<f32>,
  a31: vec4<f32>,
  a32: vec4<f32>,
  a33: vec4<f32>,
  a34: vec4<f32>,
  a35: vec4<f32>,
  a36: vec4<f32>,
  a37: vec4<f32>,
}

// One reduction step: pixel t's input value x{t} times the TN4 weight vec4s of row `wi`. Fields
// past TM / TN4 are constant-folded away.
fn fmaStep(acc: ptr<function, Tile>, xs0: f32, xs1: f32, xs2: f32, xs3: f32, wi: u32) {
  let x0 = vec4<f32>(xs0);
  let x1 = vec4<f32>(xs1);
  let x2 = vec4<f32>(xs2);
  let x3 = vec4<f32>(xs3);
  {
    let w0 = w[wi];
    (*acc).a00 = fma(x0, w0, (*acc).a00);
    if (TM > 1u) {
      (*acc).a10 = fma(x1, w0, (*acc).a10);
    }
    if (TM > 2u) {
      (*acc).a20 = fma(x2, w0, (*acc).a20);
    }
    if (TM > 3u) {
      (*acc).a30 = fma(x3, w0, (*acc).a30);
    }
  }
  if (TN4 > 1u) {
    let w1 = w[wi + 1u];
    (*acc).a01 = fma(x0, w1, (*acc).a01);
    if (TM > 1u) {
      (*acc).a11 = fma(x1, w1, (*acc).a11);
    }
    if (TM > 2u) {
      (*acc).a21 = fma(x2, w1, (*acc).a21);
    }
    if (TM > 3u) {
      (*acc).a31 = fma(x3, w1, (*acc).a31);
    }
  }
  if (TN4 > 2u) {
    let w2 = w[wi + 2u];
    (*acc).a02 = fma(x0, w2, (*acc).a02);
    if (TM > 1u) {
      (*acc).a12 = fma(x1, w2, (*acc).a12);
    }
    if (TM > 2u) {
      (*acc).a22 = fma(x2, w2, (*acc).a22);
    }
    if (TM > 3u) {
      (*acc).a32 = fma(x3, w2, (*acc).a32);
    }
  }
  if (TN4 > 3u) {
    let w3 = w[wi + 3u];
    (*acc).a03 = fma(x0, w3, (*acc).a03);
    if (TM > 1u) {
      (*acc).a13 = fma(x1, w3, (*acc).a13);
    }
    if (TM > 2u) {
      (*acc).a23 = fma(x2, w3, (*acc).a23);
    }
    if (TM > 3u) {
      (*acc).a33 = fma(x3, w3, (*acc).a33);
    }
  }
  if (TN4 > 4u) {
    let w4 = w[wi + 4u];
    (*acc).a04 = fma(x0, w4, (*acc).a04);
    if (TM > 1u) {
      (*acc).a14 = fma(x1, w4, (*acc).a14);
    }
    if (TM > 2u) {
      (*acc).a24 = fma(x2, w4, (*acc).a24);
    }
    if (TM > 3u) {
      (*acc).a34 = fma(x3, w4, (*acc).a34);
    }
  }
  if (TN4 > 5u) {
    let w5 = w[wi + 5u];
    (*acc).a05 = fma(x0, w5, (*acc).a05);
    if (TM > 1u) {
      (*acc).a15 = fma(x1, w5, (*acc).a15);
    }
    if (TM > 2u) {
      (*acc).a25 = fma(x2, w5, (*acc).a25);
    }
    if (TM > 3u) {
      (*acc).a35 = fma(x3, w5, (*acc).a35);
    }
  }
  if (TN4 > 6u) {
    let w6 = w[wi + 6u];
    (*acc).a06 = fma(x0, w6, (*acc).a06);
    if (TM > 1u) {
      (*acc).a16 = fma(x1, w6, (*acc).a16);
    }
    if (TM > 2u) {
      (*acc).a26 = fma(x2, w6, (*acc).a26);
    }
    if (TM > 3u) {
      (*acc).a36 = fma(x3, w6, (*acc).a36);
    }
  }
  if (TN4 > 7u) {
    let w7 = w[wi + 7u];
    (*acc).a07 = fma(x0, w7, (*acc).a07);
    if (TM > 1u) {
      (*acc).a17 = fma(x1, w7, (*acc).a17);
    }
    if (TM > 2u) {
      (*acc).a27 = fma(x2, w7, (*acc).a27);
    }
    if (TM > 3u) {
      (*acc).a37 = fma(x3, w7, (*acc).a37);
    }
  }
}

// Input column j of a ROW invocation (j is a constant wherever this is called, so this folds away).
fn col(j: u32, c0: f32, c1: f32, c2: f32, c3: f32, c4: f32, c5: f32, c6: f32, c7: f32, c8: f32) -> f32 {
  switch j {
    case 0u: {
      return c0;
    }
    case 1u: {
      return c1;
    }
    case 2u: {
      return c2;
    }
    case 3u: {
      return c3;
    }
    case 4u: {
      return c4;
    }
    case 5u: {
      return c5;
    }
    case 6u: {
      return c6;
    }
    case 7u: {
      return c7;
    }
    default: {
      return c8;
    }
  }
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
  // Bounds guard, uniform over the dispatch: an empty map or chunk does nothing; pixels past the
  // last one (or past the end of a ROW invocation's row) are computed and not stored.
  if (pixels == 0u || params.coCount == 0u || params.ciCount == 0u) {
    return;
  }
  let cinOff = params.coBase / coutG * cinG + params.ciBase;
  var cStep = 1u;
  if (IN_NCHW) {
    cStep = params.inH * params.inW;
  }
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  var acc: Tile;
  // Output pixel t of this invocation (linear index m{t}) and whether it is stored.
  var m0: u32;
  var m1: u32;
  var m2: u32;
  var m3: u32;
  var ok0: bool;
  var ok1: bool;
  var ok2: bool;
  var ok3: bool;
  if (ROW) {
    let perRow = (params.outW + TM - 1u) / TM;
    let rows = params.batch * params.outH;
    let row = min(g / perRow, rows - 1u);
    let ox0 = g % perRow * TM;
    let rowOk = g / perRow < rows;
    m0 = row * params.outW + ox0;
    m1 = m0 + 1u;
    m2 = m0 + 2u;
    m3 = m0 + 3u;
    ok0 = rowOk && ox0 < params.outW;
    ok1 = rowOk && ox0 + 1u < params.outW;
    ok2 = rowOk && ox0 + 2u < params.outW;
    ok3 = rowOk && ox0 + 3u < params.outW;
    let p = Pixel(row / params.outH, row % params.outH, ox0);
    // Input columns ox0 * STRIDE - pad + j, j < ncol, cover every tap of the TM pixels.
    let ncol = (TM - 1u) * STRIDE + KSIZE;
    let kStep = params.ciCount * TN4;
    for (var ky = 0u; ky < KSIZE; ky++) {
      let k0 = tapOf(p, ky, 0u, cinOff);
      var xc0 = k0.xi;
      let k1 = tapOf(p, ky, 1u, cinOff);
      var xc1 = k1.xi;
      let k2 = tapOf(p, ky, 2u, cinOff);
      var xc2 = k2.xi;
      let k3 = tapOf(p, ky, 3u, cinOff);
      var xc3 = k3.xi;
      let k4 = tapOf(p, ky, 4u, cinOff);
      var xc4 = k4.xi;
      let k5 = tapOf(p, ky, 5u, cinOff);
      var xc5 = k5.xi;
      let k6 = tapOf(p, ky, 6u, cinOff);
      var xc6 = k6.xi;
      let k7 = tapOf(p, ky, 7u, cinOff);
      var xc7 = k7.xi;
      let k8 = tapOf(p, ky, 8u, cinOff);
      var xc8 = k8.xi;
      var wi = ky * KSIZE * kStep;
      for (var ci = 0u; ci < params.ciCount; ci++) {
        // The only per-lane loads: each input column once, shared by the taps.
        let c0 = select(0.0, f32(x[xc0]), k0.ok);
        var c1 = 0.0;
        if (ncol > 1u) {
          c1 = select(0.0, f32(x[xc1]), k1.ok);
        }
        var c2 = 0.0;
        if (ncol > 2u) {
          c2 = select(0.0, f32(x[xc2]), k2.ok);
        }
        var c3 = 0.0;
        if (ncol > 3u) {
          c3 = select(0.0, f32(x[xc3]), k3.ok);
        }
        var c4 = 0.0;
        if (ncol > 4u) {
          c4 = select(0.0, f32(x[xc4]), k4.ok);
        }
        var c5 = 0.0;
        if (ncol > 5u) {
          c5 = select(0.0, f32(x[xc5]), k5.ok);
        }
        var c6 = 0.0;
        if (ncol > 6u) {
          c6 = select(0.0, f32(x[xc6]), k6.ok);
        }
        var c7 = 0.0;
        if (ncol > 7u) {
          c7 = select(0.0, f32(x[xc7]), k7.ok);
        }
        var c8 = 0.0;
        if (ncol > 8u) {
          c8 = select(0.0, f32(x[xc8]), k8.ok);
        }
        fmaStep(&acc, col(0u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(STRIDE + 0u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(2u * STRIDE + 0u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(3u * STRIDE + 0u, c0, c1, c2, c3, c4, c5, c6, c7, c8), wi + 0u * kStep);
        if (KSIZE > 1u) {
          fmaStep(&acc, col(1u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(STRIDE + 1u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(2u * STRIDE + 1u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(3u * STRIDE + 1u, c0, c1, c2, c3, c4, c5, c6, c7, c8), wi + 1u * kStep);
        }
        if (KSIZE > 2u) {
          fmaStep(&acc, col(2u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(STRIDE + 2u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(2u * STRIDE + 2u, c0, c1, c2, c3, c4, c5, c6, c7, c8), col(3u * STRIDE + 2u, c0, c1, c2, c3, c4, c5, c6, c7, c8), wi + 2u * kStep);
        }
        xc0 += cStep;
        xc1 += cStep;
        xc2 += cStep;
        xc3 += cStep;
        xc4 += cStep;
        xc5 += cStep;
        xc6 += cStep;
        xc7 += cStep;
        xc8 += cStep;
        wi += TN4;
      }
    }
  } else {
    m0 = (wid.x + wid.y * nwg.x) * WG * TM + lid;
    m1 = m0 + WG;
    m2 = m0 + 2u * WG;
    m3 = m0 + 3u * WG;
    ok0 = m0 < pixels;
    ok1 = m1 < pixels;
    ok2 = m2 < pixels;
    ok3 = m3 < pixels;
    let p0 = pixelAt(min(m0, pixels - 1u));
    let p1 = pixelAt(min(m1, pixels - 1u));
    let p2 = pixelAt(min(m2, pixels - 1u));
    let p3 = pixelAt(min(m3, pixels - 1u));
    for (var ky = 0u; ky < KSIZE; ky++) {
      for (var kx = 0u; kx < KSIZE; kx++) {
        let t0 = tapOf(p0, ky, kx, cinOff);
        let t1 = tapOf(p1, ky, kx, cinOff);
        let t2 = tapOf(p2, ky, kx, cinOff);
        let t3 = tapOf(p3, ky, kx, cinOff);
        var xi0 = t0.xi;
        var xi1 = t1.xi;
        var xi2 = t2.xi;
        var xi3 = t3.xi;
        var wi = (ky * KSIZE + kx) * params.ciCount * TN4;
        for (var ci = 0u; ci < params.ciCount; ci++) {
          // The only per-lane loads: one input value per pixel.
          let x0 = select(0.0, f32(x[xi0]), t0.ok);
          var x1 = 0.0;
          var x2 = 0.0;
          var x3 = 0.0;
          if (TM > 1u) {
            x1 = select(0.0, f32(x[xi1]), t1.ok);
          }
          if (TM > 2u) {
            x2 = select(0.0, f32(x[xi2]), t2.ok);
          }
          if (TM > 3u) {
            x3 = select(0.0, f32(x[xi3]), t3.ok);
          }
          fmaStep(&acc, x0, x1, x2, x3, wi);
          xi0 += cStep;
          xi1 += cStep;
          xi2 += cStep;
          xi3 += cStep;
          wi += TN4;
        }
      }
    }
  }

  if (ok0) {
    store(m0, acc.a00, acc.a01, acc.a02, acc.a03, acc.a04, acc.a05, acc.a06, acc.a07);
  }
  if (TM > 1u && ok1) {
    store(m1, acc.a10, acc.a11, acc.a12, acc.a13, acc.a14, acc.a15, acc.a16, acc.a17);
  }
  if (TM > 2u && ok2) {
    store(m2, acc.a20, acc.a21, acc.a22, acc.a23, acc.a24, acc.a25, acc.a26, acc.a27);
  }
  if (TM > 3u && ok3) {
    store(m3, acc.a30, acc.a31, acc.a32, acc.a33, acc.a34, acc.a35, acc.a36, acc.a37);
  }
}
