// conv2d_uniform: 2-D convolution for adapters that run invocations as SIMD lanes of a CPU
// (llvmpipe/lavapipe, SwiftShader), with bias, optional SiLU and optional residual add fused.
//
// On such an adapter a storage-buffer load whose address differs per invocation is a loop over the
// lanes, and a storage load at a uniform address costs the same; a uniform-buffer load at an address
// that is the same for every invocation is one scalar load broadcast to all lanes. So here:
//   - one invocation computes TM output pixels, WG apart (consecutive invocations: consecutive
//     pixels), times 4 * TN4 output channels of one chunk, in TM x TN4 named vec4 registers;
//   - per reduction step it loads TM input values (the only per-lane loads) and TN4 weight vec4s
//     from the uniform buffer `w`, at addresses that depend only on the loop counters, each weight
//     vec4 feeding TM FMAs.
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

@group(0) @binding(0) var<storage, read_write> x: array<f32>; // read only (shared: may alias y's buffer)
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, W_VEC4S>;
@group(0) @binding(2) var<storage, read_write> r: array<f32>; // read only (shared: may alias y's buffer)
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

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
// Output step: computed pixel (oy, ox) is stored at (oy * OUT_STEP + phaseY, ox * OUT_STEP + phaseX)
// of a map OUT_STEP times larger. A transposed conv with kernel == stride == OUT_STEP is OUT_STEP^2
// such 1x1 convs, one per phase (Ultralytics Proto's 2x upsample).
override OUT_STEP: u32 = 1u;
// Output pixels per invocation (1..MAX_TM) and output-channel vec4s per invocation (1..MAX_TN4):
// the register tile.
override TM: u32 = 4u;
override TN4: u32 = 8u;
// Invocations per workgroup; a workgroup covers TM * WG pixels.
override WG: u32 = 64u;

const MAX_TM = 4u;
const MAX_TN4 = 8u;

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
    v += y[i];
  }
  if (params.finish != 0u) {
    v += bias;
    if (ACT == 1u) {
      v = v / (1.0 + exp(-v));
    }
    if (RESIDUAL) {
      v += r[ri];
    }
  }
  y[i] = v;
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
  // last one are computed as the last one and not stored.
  if (pixels == 0u || params.coCount == 0u || params.ciCount == 0u) {
    return;
  }
  let cinOff = params.coBase / coutG * cinG + params.ciBase;
  var cStep = 1u;
  if (IN_NCHW) {
    cStep = params.inH * params.inW;
  }
  let m0 = (wid.x + wid.y * nwg.x) * WG * TM + lid;
  let p0 = pixelAt(min(m0, pixels - 1u));
  let p1 = pixelAt(min(m0 + WG, pixels - 1u));
  let p2 = pixelAt(min(m0 + 2u * WG, pixels - 1u));
  let p3 = pixelAt(min(m0 + 3u * WG, pixels - 1u));

  // The register tile a{pixel}{channel vec4}, as named variables: llvmpipe keeps these in
  // registers (or plain stack slots), while an array indexed by a loop counter, even an unrolled
  // one, runs at half the speed. Lines guarded by TM / TN4 are constant-folded away.
  var a00 = vec4<f32>(); var a01 = vec4<f32>(); var a02 = vec4<f32>(); var a03 = vec4<f32>(); var a04 = vec4<f32>(); var a05 = vec4<f32>(); var a06 = vec4<f32>(); var a07 = vec4<f32>();
  var a10 = vec4<f32>(); var a11 = vec4<f32>(); var a12 = vec4<f32>(); var a13 = vec4<f32>(); var a14 = vec4<f32>(); var a15 = vec4<f32>(); var a16 = vec4<f32>(); var a17 = vec4<f32>();
  var a20 = vec4<f32>(); var a21 = vec4<f32>(); var a22 = vec4<f32>(); var a23 = vec4<f32>(); var a24 = vec4<f32>(); var a25 = vec4<f32>(); var a26 = vec4<f32>(); var a27 = vec4<f32>();
  var a30 = vec4<f32>(); var a31 = vec4<f32>(); var a32 = vec4<f32>(); var a33 = vec4<f32>(); var a34 = vec4<f32>(); var a35 = vec4<f32>(); var a36 = vec4<f32>(); var a37 = vec4<f32>();

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
        let x0 = vec4<f32>(select(0.0, x[xi0], t0.ok));
        var x1 = vec4<f32>();
        var x2 = vec4<f32>();
        var x3 = vec4<f32>();
        if (TM > 1u) {
          x1 = vec4<f32>(select(0.0, x[xi1], t1.ok));
        }
        if (TM > 2u) {
          x2 = vec4<f32>(select(0.0, x[xi2], t2.ok));
        }
        if (TM > 3u) {
          x3 = vec4<f32>(select(0.0, x[xi3], t3.ok));
        }
        let w0 = w[wi];
        a00 = fma(x0, w0, a00);
        if (TM > 1u) {
          a10 = fma(x1, w0, a10);
        }
        if (TM > 2u) {
          a20 = fma(x2, w0, a20);
        }
        if (TM > 3u) {
          a30 = fma(x3, w0, a30);
        }
        if (TN4 > 1u) {
          let w1 = w[wi + 1u];
          a01 = fma(x0, w1, a01);
          if (TM > 1u) {
            a11 = fma(x1, w1, a11);
          }
          if (TM > 2u) {
            a21 = fma(x2, w1, a21);
          }
          if (TM > 3u) {
            a31 = fma(x3, w1, a31);
          }
        }
        if (TN4 > 2u) {
          let w2 = w[wi + 2u];
          a02 = fma(x0, w2, a02);
          if (TM > 1u) {
            a12 = fma(x1, w2, a12);
          }
          if (TM > 2u) {
            a22 = fma(x2, w2, a22);
          }
          if (TM > 3u) {
            a32 = fma(x3, w2, a32);
          }
        }
        if (TN4 > 3u) {
          let w3 = w[wi + 3u];
          a03 = fma(x0, w3, a03);
          if (TM > 1u) {
            a13 = fma(x1, w3, a13);
          }
          if (TM > 2u) {
            a23 = fma(x2, w3, a23);
          }
          if (TM > 3u) {
            a33 = fma(x3, w3, a33);
          }
        }
        if (TN4 > 4u) {
          let w4 = w[wi + 4u];
          a04 = fma(x0, w4, a04);
          if (TM > 1u) {
            a14 = fma(x1, w4, a14);
          }
          if (TM > 2u) {
            a24 = fma(x2, w4, a24);
          }
          if (TM > 3u) {
            a34 = fma(x3, w4, a34);
          }
        }
        if (TN4 > 5u) {
          let w5 = w[wi + 5u];
          a05 = fma(x0, w5, a05);
          if (TM > 1u) {
            a15 = fma(x1, w5, a15);
          }
          if (TM > 2u) {
            a25 = fma(x2, w5, a25);
          }
          if (TM > 3u) {
            a35 = fma(x3, w5, a35);
          }
        }
        if (TN4 > 6u) {
          let w6 = w[wi + 6u];
          a06 = fma(x0, w6, a06);
          if (TM > 1u) {
            a16 = fma(x1, w6, a16);
          }
          if (TM > 2u) {
            a26 = fma(x2, w6, a26);
          }
          if (TM > 3u) {
            a36 = fma(x3, w6, a36);
          }
        }
        if (TN4 > 7u) {
          let w7 = w[wi + 7u];
          a07 = fma(x0, w7, a07);
          if (TM > 1u) {
            a17 = fma(x1, w7, a17);
          }
          if (TM > 2u) {
            a27 = fma(x2, w7, a27);
          }
          if (TM > 3u) {
            a37 = fma(x3, w7, a37);
          }
        }
        xi0 += cStep;
        xi1 += cStep;
        xi2 += cStep;
        xi3 += cStep;
        wi += TN4;
      }
    }
  }

  if (m0 < pixels) {
    store(m0, a00, a01, a02, a03, a04, a05, a06, a07);
  }
  if (TM > 1u && m0 + WG < pixels) {
    store(m0 + WG, a10, a11, a12, a13, a14, a15, a16, a17);
  }
  if (TM > 2u && m0 + 2u * WG < pixels) {
    store(m0 + 2u * WG, a20, a21, a22, a23, a24, a25, a26, a27);
  }
  if (TM > 3u && m0 + 3u * WG < pixels) {
    store(m0 + 3u * WG, a30, a31, a32, a33, a34, a35, a36, a37);
  }
}
