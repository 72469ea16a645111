// conv2d_uniform: 2-D convolution for adapters that run invocations as SIMD lanes of a CPU
// (llvmpipe/lavapipe, SwiftShader), with bias, optional SiLU and optional residual add fused.
//
// On such an adapter (measured on lavapipe 22.3, 8 lanes) a storage-buffer load is a loop over the
// lanes, one scalar load each, whatever its address; a uniform-buffer load is a gather (a scalar load
// per lane, no loop), even at an address that is the same for every lane; an FMA on registers costs
// a small fraction of either. So the work per load is what counts:
//   - one invocation computes TM (up to 16) output pixels times 4 * TN4 (up to 32) output channels of
//     one chunk, in named vec4 registers; the pixels are WG apart (consecutive invocations:
//     consecutive pixels), or with ROW neighbours in a row, so that a conv of kernel <= 3 loads each
//     input column once for all its taps ((TM - 1) * STRIDE + KSIZE loads per input channel and
//     kernel row instead of KSIZE * TM);
//   - per reduction step it loads the TM pixels' input values (the per-lane loads) and TN4 weight
//     vec4s from the uniform buffer `w`, each weight vec4 feeding TM FMAs. On lavapipe 16 x 8 ran
//     the 3x3 64 -> 64 conv at 160x160 at 46 GFLOP/s, 8 x 8 at 35, 4 x 8 at 25; with subgroups
//     (the subgroup variant, `weightOf`) a row's TN4 vec4s are one load spread over the lanes: 61;
//   - with VEC4_IN a pixel's (or column's) input values are loaded four channels at a time, one
//     per-lane loop for four (tileSpread4, tileRow4): 68 on that conv.
// Every code path is written once (the taps of a kernel row aside): llvmpipe inlines every call
// before it folds the branches on overrides, so dead copies cost compile time (an epilogue written
// once per pixel made each pipeline take 3x as long to create as the loop over pixels below). For
// the same reason each tile has its own entry points, and the epilogue's activation and residual are
// Params (one pipeline serves every epilogue).
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
  // The epilogue, on the last slice (`finish`): 0 identity, 1 SiLU x * sigmoid(x). It and `residual` are
  // Params rather than overrides so that fewer pipelines are made (YOLO11n-seg: 18 instead of 25, its
  // first forward on lavapipe 1.2 s instead of 1.7), for ~3% more time per forward (llvmpipe runs each of
  // these branches under a lane mask where an override's would be folded away).
  act: u32,
  // Then add a residual of y's view shape (Ultralytics Bottleneck x + cv2(cv1(x))): 0 none, 1 read through
  // r, 2 read through y (its view lies in y's buffer, a residual in the concat region y is written into; r
  // is then a dummy, as WebGPU forbids binding one buffer twice where one binding is writable).
  residual: u32,
}

// One chunk's weights (and bias): 64 KiB, the largest uniform binding every WebGPU adapter allows.
const W_VEC4S = 4096u;

// Results smaller than this in magnitude are stored as 0 (flush to zero). lavapipe runs with denormals
// enabled, and SiLU's negative tail (x * sigmoid(x) down to ~1e-36 before it rounds to 0) times a
// weight gives denormal products in the next conv's FMAs, each a microcode assist on x86: YOLO11n-seg's
// forward took 6% longer (model.3's four dispatches 4.5-5.0 ms each instead of 3.4-3.6). Such a value
// is far below the f32 resolution of any sum it enters.
const FLUSH_BELOW = 1e-30;

fn flush(v: f32) -> f32 {
  return select(v, 0.0, abs(v) < FLUSH_BELOW);
}

fn flush4(v: vec4<f32>) -> vec4<f32> {
  return select(v, vec4<f32>(), abs(v) < vec4<f32>(FLUSH_BELOW));
}

@group(0) @binding(0) var<storage, read> x: array<S>;
// The input again as vec4s of four channels, for the entry points of VEC4_IN (`mainIn4`, `main4In4`).
@group(0) @binding(0) var<storage, read> x4: array<vec4<S>>;
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, W_VEC4S>;
// The residual (a dummy with `residual` 2, its view then read through y).
@group(0) @binding(2) var<storage, read> r: array<S>;
@group(0) @binding(3) var<storage, read_write> y: array<S>;
@group(0) @binding(4) var<uniform> params: Params;
// The residual and the output again as vec4s of four channels, for the entry point `main4`
// (VEC4_OUT): the same bindings, each used by one entry point only.
@group(0) @binding(2) var<storage, read> r4: array<vec4<S>>;
@group(0) @binding(3) var<storage, read_write> y4: array<vec4<S>>;

// Square kernel size and stride.
override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
// Read x as NCHW / write y as NCHW instead of NHWC.
override IN_NCHW: bool = false;
override OUT_NCHW: bool = false;
// Output step: computed pixel (oy, ox) is stored at (oy * OUT_STEP + phaseY, ox * OUT_STEP + phaseX)
// of a map OUT_STEP times larger. A transposed conv with kernel == stride == OUT_STEP is OUT_STEP^2
// such 1x1 convs, one per phase (Ultralytics Proto's 2x upsample).
override OUT_STEP: u32 = 1u;
// Output pixels per invocation (1..16) and output-channel vec4s per invocation (1..8): the register
// tile.
override TM: u32 = 16u;
override TN4: u32 = 8u;
// Invocations per workgroup; a workgroup covers TM * WG pixels. One SIMD group (8 lanes on a
// 256-bit llvmpipe) keeps small maps spread over the CPU's threads, each running whole workgroups:
// on lavapipe YOLO11n-seg's forward took 458 ms with 8, 477 with 16, 483 with 32.
override WG: u32 = 8u;
// VEC4_OUT: the spec picks the entry point `main4` (`mainRow4` with ROW), which stores (and reads
// back partial sums and the residual) four channels at a time: one per-lane loop of a vec4 where
// `main` runs four of a scalar. Needs NHWC output (and residual) views whose channel offsets and
// strides are multiples of 4 and a channel count per group that is one too. Not read by the shader
// itself.
override VEC4_OUT: bool = false;
// ROW: the spec picks the entry point `mainRow` (`mainRow4` with VEC4_OUT): an invocation's TM
// pixels are neighbours in a row (rows padded to a multiple of TM), so that, for KSIZE <= 3 and
// STRIDE <= 2, the (TM - 1) * STRIDE + KSIZE <= 33 input columns they cover are loaded once per
// input channel and shared by the taps; else they are WG pixels apart and each tap loads its own.
// Not read by the shader itself.
override ROW: bool = false;
// VEC4_IN: the spec picks the entry point `mainIn4` (`main4In4` with VEC4_OUT; with ROW `mainRowIn4`,
// `mainRow4In4`), whose tile loads four input channels at a time (tileSpread4, tileRow4). Needs an NHWC
// input view whose base, channel stride and offset are multiples of 4, and a dispatch whose first input
// channel and channel count are too. Not read by the shader itself.
override VEC4_IN: bool = false;

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
    if (params.act == 1u) {
      v = v / (1.0 + exp(-v));
    }
    if (params.residual == 2u) {
      v += f32(y[ri]);
    } else if (params.residual == 1u) {
      v += f32(r[ri]);
    }
  }
  y[i] = S(flush(v));
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

// put for four channels at once (main4): i and ri are multiples of 4.
fn put4(i: u32, ri: u32, bias: vec4<f32>, s: vec4<f32>) {
  var v = s;
  if (params.accumulate != 0u) {
    v += vec4<f32>(y4[i / 4u]);
  }
  if (params.finish != 0u) {
    v += bias;
    if (params.act == 1u) {
      v = v / (1.0 + exp(-v));
    }
    if (params.residual == 2u) {
      v += vec4<f32>(y4[ri / 4u]);
    } else if (params.residual == 1u) {
      v += vec4<f32>(r4[ri / 4u]);
    }
  }
  y4[i / 4u] = vec4<S>(flush4(v));
}

// store4 for main4 (NHWC, coCount a multiple of 4).
fn store4Vec(o: Out, j: u32, acc: vec4<f32>) {
  let co = 4u * j;
  if (co >= params.coCount) {
    return;
  }
  put4(o.yi + co, o.ri + co, w[KSIZE * KSIZE * params.ciCount * TN4 + j], acc);
}

// The registers of one pixel of the tile (`Tile.a0` .. `a15`): its 4 * TN4 output channels of the
// chunk, channels 4j .. 4j + 3 in c{j}. Named fields rather than an array: llvmpipe keeps these in
// registers (or plain stack slots), while an array indexed by a loop counter, even an unrolled one,
// runs at half the speed. Fields past TN4 are never read or written (their code is folded away).
struct Regs {
  c0: vec4<f32>,
  c1: vec4<f32>,
  c2: vec4<f32>,
  c3: vec4<f32>,
  c4: vec4<f32>,
  c5: vec4<f32>,
  c6: vec4<f32>,
  c7: vec4<f32>,
}

// The registers of an invocation's TM pixels, declared once in each entry point and passed by pointer
// (fields past TM are never read or written).
struct Tile {
  a0: Regs,
  a1: Regs,
  a2: Regs,
  a3: Regs,
  a4: Regs,
  a5: Regs,
  a6: Regs,
  a7: Regs,
  a8: Regs,
  a9: Regs,
  a10: Regs,
  a11: Regs,
  a12: Regs,
  a13: Regs,
  a14: Regs,
  a15: Regs,
}

// One value per pixel of the tile: pixel t's input value of a reduction step in v{t}.
struct Pixels {
  v0: f32,
  v1: f32,
  v2: f32,
  v3: f32,
  v4: f32,
  v5: f32,
  v6: f32,
  v7: f32,
  v8: f32,
  v9: f32,
  v10: f32,
  v11: f32,
  v12: f32,
  v13: f32,
  v14: f32,
  v15: f32,
}


// Epilogue of one pixel's registers.
fn store(m: u32, a: Regs) {
  let o = outOf(m);
  store4(o, 0u, a.c0);
  if (TN4 > 1u) {
    store4(o, 1u, a.c1);
  }
  if (TN4 > 2u) {
    store4(o, 2u, a.c2);
  }
  if (TN4 > 3u) {
    store4(o, 3u, a.c3);
  }
  if (TN4 > 4u) {
    store4(o, 4u, a.c4);
  }
  if (TN4 > 5u) {
    store4(o, 5u, a.c5);
  }
  if (TN4 > 6u) {
    store4(o, 6u, a.c6);
  }
  if (TN4 > 7u) {
    store4(o, 7u, a.c7);
  }
}

// store for main4.
fn storeVec(m: u32, a: Regs) {
  let o = outOf(m);
  store4Vec(o, 0u, a.c0);
  if (TN4 > 1u) {
    store4Vec(o, 1u, a.c1);
  }
  if (TN4 > 2u) {
    store4Vec(o, 2u, a.c2);
  }
  if (TN4 > 3u) {
    store4Vec(o, 3u, a.c3);
  }
  if (TN4 > 4u) {
    store4Vec(o, 4u, a.c4);
  }
  if (TN4 > 5u) {
    store4Vec(o, 5u, a.c5);
  }
  if (TN4 > 6u) {
    store4Vec(o, 6u, a.c6);
  }
  if (TN4 > 7u) {
    store4Vec(o, 7u, a.c7);
  }
}


// An invocation's builtins, one struct for the four entry points. The subgroup variant adds its lane.
struct Invocation {
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  // subgroups: @builtin(subgroup_invocation_id) lane: u32,
}

// A line with a trailing "subgroups:" comment is that comment's code in the subgroup variant
// (`subgroupVariant`; for a device with the `subgroups` feature whose subgroups are whole workgroups of
// at least TN4 lanes). There a reduction row's TN4 weight vec4s are one per-lane load (lane l loads
// vec4 l of the row) and each lane takes vec4 j from lane j by a shuffle, a register move on llvmpipe,
// instead of one uniform-buffer gather per vec4 (lavapipe, TM 16 x TN4 8: 3x3 convs 46 -> 61 GFLOP/s,
// 1x1 with 256 input channels 28 -> 33).

// This invocation's lane in its subgroup (0 here, where no lane is read).
fn laneOf(inv: Invocation) -> u32 {
  return 0u; // subgroups: return inv.lane;
}

// This lane's share of weight row `wi`: its vec4 `lane` (nothing here, where weightOf loads each vec4).
fn laneWeights(wi: u32, lane: u32) -> vec4<f32> {
  return vec4<f32>(); // subgroups: return w[min(wi + lane, W_VEC4S - 1u)];
}

// Weight vec4 j of row `wi` (j < TN4, a constant at each call), given this lane's share `wl`.
fn weightOf(wl: vec4<f32>, wi: u32, j: u32) -> vec4<f32> {
  return w[wi + j]; // subgroups: return subgroupShuffle(wl, j);
}

// One reduction step: pixel t's input value xs.v{t} times the TN4 weight vec4s of row `wi`, each
// weight vec4 loaded once for the TM pixels (fields past TM / TN4 are constant-folded away).
fn fmaStep(tl: ptr<function, Tile>, xs: Pixels, wi: u32, lane: u32) {
  let wl = laneWeights(wi, lane);
  let x0 = vec4<f32>(xs.v0);
  let x1 = vec4<f32>(xs.v1);
  let x2 = vec4<f32>(xs.v2);
  let x3 = vec4<f32>(xs.v3);
  let x4 = vec4<f32>(xs.v4);
  let x5 = vec4<f32>(xs.v5);
  let x6 = vec4<f32>(xs.v6);
  let x7 = vec4<f32>(xs.v7);
  let x8 = vec4<f32>(xs.v8);
  let x9 = vec4<f32>(xs.v9);
  let x10 = vec4<f32>(xs.v10);
  let x11 = vec4<f32>(xs.v11);
  let x12 = vec4<f32>(xs.v12);
  let x13 = vec4<f32>(xs.v13);
  let x14 = vec4<f32>(xs.v14);
  let x15 = vec4<f32>(xs.v15);
  {
    let w0 = weightOf(wl, wi, 0u);
    (*tl).a0.c0 = fma(x0, w0, (*tl).a0.c0);
    if (TM > 1u) {
      (*tl).a1.c0 = fma(x1, w0, (*tl).a1.c0);
    }
    if (TM > 2u) {
      (*tl).a2.c0 = fma(x2, w0, (*tl).a2.c0);
    }
    if (TM > 3u) {
      (*tl).a3.c0 = fma(x3, w0, (*tl).a3.c0);
    }
    if (TM > 4u) {
      (*tl).a4.c0 = fma(x4, w0, (*tl).a4.c0);
    }
    if (TM > 5u) {
      (*tl).a5.c0 = fma(x5, w0, (*tl).a5.c0);
    }
    if (TM > 6u) {
      (*tl).a6.c0 = fma(x6, w0, (*tl).a6.c0);
    }
    if (TM > 7u) {
      (*tl).a7.c0 = fma(x7, w0, (*tl).a7.c0);
    }
    if (TM > 8u) {
      (*tl).a8.c0 = fma(x8, w0, (*tl).a8.c0);
    }
    if (TM > 9u) {
      (*tl).a9.c0 = fma(x9, w0, (*tl).a9.c0);
    }
    if (TM > 10u) {
      (*tl).a10.c0 = fma(x10, w0, (*tl).a10.c0);
    }
    if (TM > 11u) {
      (*tl).a11.c0 = fma(x11, w0, (*tl).a11.c0);
    }
    if (TM > 12u) {
      (*tl).a12.c0 = fma(x12, w0, (*tl).a12.c0);
    }
    if (TM > 13u) {
      (*tl).a13.c0 = fma(x13, w0, (*tl).a13.c0);
    }
    if (TM > 14u) {
      (*tl).a14.c0 = fma(x14, w0, (*tl).a14.c0);
    }
    if (TM > 15u) {
      (*tl).a15.c0 = fma(x15, w0, (*tl).a15.c0);
    }
  }
  if (TN4 > 1u) {
    let w1 = weightOf(wl, wi, 1u);
    (*tl).a0.c1 = fma(x0, w1, (*tl).a0.c1);
    if (TM > 1u) {
      (*tl).a1.c1 = fma(x1, w1, (*tl).a1.c1);
    }
    if (TM > 2u) {
      (*tl).a2.c1 = fma(x2, w1, (*tl).a2.c1);
    }
    if (TM > 3u) {
      (*tl).a3.c1 = fma(x3, w1, (*tl).a3.c1);
    }
    if (TM > 4u) {
      (*tl).a4.c1 = fma(x4, w1, (*tl).a4.c1);
    }
    if (TM > 5u) {
      (*tl).a5.c1 = fma(x5, w1, (*tl).a5.c1);
    }
    if (TM > 6u) {
      (*tl).a6.c1 = fma(x6, w1, (*tl).a6.c1);
    }
    if (TM > 7u) {
      (*tl).a7.c1 = fma(x7, w1, (*tl).a7.c1);
    }
    if (TM > 8u) {
      (*tl).a8.c1 = fma(x8, w1, (*tl).a8.c1);
    }
    if (TM > 9u) {
      (*tl).a9.c1 = fma(x9, w1, (*tl).a9.c1);
    }
    if (TM > 10u) {
      (*tl).a10.c1 = fma(x10, w1, (*tl).a10.c1);
    }
    if (TM > 11u) {
      (*tl).a11.c1 = fma(x11, w1, (*tl).a11.c1);
    }
    if (TM > 12u) {
      (*tl).a12.c1 = fma(x12, w1, (*tl).a12.c1);
    }
    if (TM > 13u) {
      (*tl).a13.c1 = fma(x13, w1, (*tl).a13.c1);
    }
    if (TM > 14u) {
      (*tl).a14.c1 = fma(x14, w1, (*tl).a14.c1);
    }
    if (TM > 15u) {
      (*tl).a15.c1 = fma(x15, w1, (*tl).a15.c1);
    }
  }
  if (TN4 > 2u) {
    let w2 = weightOf(wl, wi, 2u);
    (*tl).a0.c2 = fma(x0, w2, (*tl).a0.c2);
    if (TM > 1u) {
      (*tl).a1.c2 = fma(x1, w2, (*tl).a1.c2);
    }
    if (TM > 2u) {
      (*tl).a2.c2 = fma(x2, w2, (*tl).a2.c2);
    }
    if (TM > 3u) {
      (*tl).a3.c2 = fma(x3, w2, (*tl).a3.c2);
    }
    if (TM > 4u) {
      (*tl).a4.c2 = fma(x4, w2, (*tl).a4.c2);
    }
    if (TM > 5u) {
      (*tl).a5.c2 = fma(x5, w2, (*tl).a5.c2);
    }
    if (TM > 6u) {
      (*tl).a6.c2 = fma(x6, w2, (*tl).a6.c2);
    }
    if (TM > 7u) {
      (*tl).a7.c2 = fma(x7, w2, (*tl).a7.c2);
    }
    if (TM > 8u) {
      (*tl).a8.c2 = fma(x8, w2, (*tl).a8.c2);
    }
    if (TM > 9u) {
      (*tl).a9.c2 = fma(x9, w2, (*tl).a9.c2);
    }
    if (TM > 10u) {
      (*tl).a10.c2 = fma(x10, w2, (*tl).a10.c2);
    }
    if (TM > 11u) {
      (*tl).a11.c2 = fma(x11, w2, (*tl).a11.c2);
    }
    if (TM > 12u) {
      (*tl).a12.c2 = fma(x12, w2, (*tl).a12.c2);
    }
    if (TM > 13u) {
      (*tl).a13.c2 = fma(x13, w2, (*tl).a13.c2);
    }
    if (TM > 14u) {
      (*tl).a14.c2 = fma(x14, w2, (*tl).a14.c2);
    }
    if (TM > 15u) {
      (*tl).a15.c2 = fma(x15, w2, (*tl).a15.c2);
    }
  }
  if (TN4 > 3u) {
    let w3 = weightOf(wl, wi, 3u);
    (*tl).a0.c3 = fma(x0, w3, (*tl).a0.c3);
    if (TM > 1u) {
      (*tl).a1.c3 = fma(x1, w3, (*tl).a1.c3);
    }
    if (TM > 2u) {
      (*tl).a2.c3 = fma(x2, w3, (*tl).a2.c3);
    }
    if (TM > 3u) {
      (*tl).a3.c3 = fma(x3, w3, (*tl).a3.c3);
    }
    if (TM > 4u) {
      (*tl).a4.c3 = fma(x4, w3, (*tl).a4.c3);
    }
    if (TM > 5u) {
      (*tl).a5.c3 = fma(x5, w3, (*tl).a5.c3);
    }
    if (TM > 6u) {
      (*tl).a6.c3 = fma(x6, w3, (*tl).a6.c3);
    }
    if (TM > 7u) {
      (*tl).a7.c3 = fma(x7, w3, (*tl).a7.c3);
    }
    if (TM > 8u) {
      (*tl).a8.c3 = fma(x8, w3, (*tl).a8.c3);
    }
    if (TM > 9u) {
      (*tl).a9.c3 = fma(x9, w3, (*tl).a9.c3);
    }
    if (TM > 10u) {
      (*tl).a10.c3 = fma(x10, w3, (*tl).a10.c3);
    }
    if (TM > 11u) {
      (*tl).a11.c3 = fma(x11, w3, (*tl).a11.c3);
    }
    if (TM > 12u) {
      (*tl).a12.c3 = fma(x12, w3, (*tl).a12.c3);
    }
    if (TM > 13u) {
      (*tl).a13.c3 = fma(x13, w3, (*tl).a13.c3);
    }
    if (TM > 14u) {
      (*tl).a14.c3 = fma(x14, w3, (*tl).a14.c3);
    }
    if (TM > 15u) {
      (*tl).a15.c3 = fma(x15, w3, (*tl).a15.c3);
    }
  }
  if (TN4 > 4u) {
    let w4 = weightOf(wl, wi, 4u);
    (*tl).a0.c4 = fma(x0, w4, (*tl).a0.c4);
    if (TM > 1u) {
      (*tl).a1.c4 = fma(x1, w4, (*tl).a1.c4);
    }
    if (TM > 2u) {
      (*tl).a2.c4 = fma(x2, w4, (*tl).a2.c4);
    }
    if (TM > 3u) {
      (*tl).a3.c4 = fma(x3, w4, (*tl).a3.c4);
    }
    if (TM > 4u) {
      (*tl).a4.c4 = fma(x4, w4, (*tl).a4.c4);
    }
    if (TM > 5u) {
      (*tl).a5.c4 = fma(x5, w4, (*tl).a5.c4);
    }
    if (TM > 6u) {
      (*tl).a6.c4 = fma(x6, w4, (*tl).a6.c4);
    }
    if (TM > 7u) {
      (*tl).a7.c4 = fma(x7, w4, (*tl).a7.c4);
    }
    if (TM > 8u) {
      (*tl).a8.c4 = fma(x8, w4, (*tl).a8.c4);
    }
    if (TM > 9u) {
      (*tl).a9.c4 = fma(x9, w4, (*tl).a9.c4);
    }
    if (TM > 10u) {
      (*tl).a10.c4 = fma(x10, w4, (*tl).a10.c4);
    }
    if (TM > 11u) {
      (*tl).a11.c4 = fma(x11, w4, (*tl).a11.c4);
    }
    if (TM > 12u) {
      (*tl).a12.c4 = fma(x12, w4, (*tl).a12.c4);
    }
    if (TM > 13u) {
      (*tl).a13.c4 = fma(x13, w4, (*tl).a13.c4);
    }
    if (TM > 14u) {
      (*tl).a14.c4 = fma(x14, w4, (*tl).a14.c4);
    }
    if (TM > 15u) {
      (*tl).a15.c4 = fma(x15, w4, (*tl).a15.c4);
    }
  }
  if (TN4 > 5u) {
    let w5 = weightOf(wl, wi, 5u);
    (*tl).a0.c5 = fma(x0, w5, (*tl).a0.c5);
    if (TM > 1u) {
      (*tl).a1.c5 = fma(x1, w5, (*tl).a1.c5);
    }
    if (TM > 2u) {
      (*tl).a2.c5 = fma(x2, w5, (*tl).a2.c5);
    }
    if (TM > 3u) {
      (*tl).a3.c5 = fma(x3, w5, (*tl).a3.c5);
    }
    if (TM > 4u) {
      (*tl).a4.c5 = fma(x4, w5, (*tl).a4.c5);
    }
    if (TM > 5u) {
      (*tl).a5.c5 = fma(x5, w5, (*tl).a5.c5);
    }
    if (TM > 6u) {
      (*tl).a6.c5 = fma(x6, w5, (*tl).a6.c5);
    }
    if (TM > 7u) {
      (*tl).a7.c5 = fma(x7, w5, (*tl).a7.c5);
    }
    if (TM > 8u) {
      (*tl).a8.c5 = fma(x8, w5, (*tl).a8.c5);
    }
    if (TM > 9u) {
      (*tl).a9.c5 = fma(x9, w5, (*tl).a9.c5);
    }
    if (TM > 10u) {
      (*tl).a10.c5 = fma(x10, w5, (*tl).a10.c5);
    }
    if (TM > 11u) {
      (*tl).a11.c5 = fma(x11, w5, (*tl).a11.c5);
    }
    if (TM > 12u) {
      (*tl).a12.c5 = fma(x12, w5, (*tl).a12.c5);
    }
    if (TM > 13u) {
      (*tl).a13.c5 = fma(x13, w5, (*tl).a13.c5);
    }
    if (TM > 14u) {
      (*tl).a14.c5 = fma(x14, w5, (*tl).a14.c5);
    }
    if (TM > 15u) {
      (*tl).a15.c5 = fma(x15, w5, (*tl).a15.c5);
    }
  }
  if (TN4 > 6u) {
    let w6 = weightOf(wl, wi, 6u);
    (*tl).a0.c6 = fma(x0, w6, (*tl).a0.c6);
    if (TM > 1u) {
      (*tl).a1.c6 = fma(x1, w6, (*tl).a1.c6);
    }
    if (TM > 2u) {
      (*tl).a2.c6 = fma(x2, w6, (*tl).a2.c6);
    }
    if (TM > 3u) {
      (*tl).a3.c6 = fma(x3, w6, (*tl).a3.c6);
    }
    if (TM > 4u) {
      (*tl).a4.c6 = fma(x4, w6, (*tl).a4.c6);
    }
    if (TM > 5u) {
      (*tl).a5.c6 = fma(x5, w6, (*tl).a5.c6);
    }
    if (TM > 6u) {
      (*tl).a6.c6 = fma(x6, w6, (*tl).a6.c6);
    }
    if (TM > 7u) {
      (*tl).a7.c6 = fma(x7, w6, (*tl).a7.c6);
    }
    if (TM > 8u) {
      (*tl).a8.c6 = fma(x8, w6, (*tl).a8.c6);
    }
    if (TM > 9u) {
      (*tl).a9.c6 = fma(x9, w6, (*tl).a9.c6);
    }
    if (TM > 10u) {
      (*tl).a10.c6 = fma(x10, w6, (*tl).a10.c6);
    }
    if (TM > 11u) {
      (*tl).a11.c6 = fma(x11, w6, (*tl).a11.c6);
    }
    if (TM > 12u) {
      (*tl).a12.c6 = fma(x12, w6, (*tl).a12.c6);
    }
    if (TM > 13u) {
      (*tl).a13.c6 = fma(x13, w6, (*tl).a13.c6);
    }
    if (TM > 14u) {
      (*tl).a14.c6 = fma(x14, w6, (*tl).a14.c6);
    }
    if (TM > 15u) {
      (*tl).a15.c6 = fma(x15, w6, (*tl).a15.c6);
    }
  }
  if (TN4 > 7u) {
    let w7 = weightOf(wl, wi, 7u);
    (*tl).a0.c7 = fma(x0, w7, (*tl).a0.c7);
    if (TM > 1u) {
      (*tl).a1.c7 = fma(x1, w7, (*tl).a1.c7);
    }
    if (TM > 2u) {
      (*tl).a2.c7 = fma(x2, w7, (*tl).a2.c7);
    }
    if (TM > 3u) {
      (*tl).a3.c7 = fma(x3, w7, (*tl).a3.c7);
    }
    if (TM > 4u) {
      (*tl).a4.c7 = fma(x4, w7, (*tl).a4.c7);
    }
    if (TM > 5u) {
      (*tl).a5.c7 = fma(x5, w7, (*tl).a5.c7);
    }
    if (TM > 6u) {
      (*tl).a6.c7 = fma(x6, w7, (*tl).a6.c7);
    }
    if (TM > 7u) {
      (*tl).a7.c7 = fma(x7, w7, (*tl).a7.c7);
    }
    if (TM > 8u) {
      (*tl).a8.c7 = fma(x8, w7, (*tl).a8.c7);
    }
    if (TM > 9u) {
      (*tl).a9.c7 = fma(x9, w7, (*tl).a9.c7);
    }
    if (TM > 10u) {
      (*tl).a10.c7 = fma(x10, w7, (*tl).a10.c7);
    }
    if (TM > 11u) {
      (*tl).a11.c7 = fma(x11, w7, (*tl).a11.c7);
    }
    if (TM > 12u) {
      (*tl).a12.c7 = fma(x12, w7, (*tl).a12.c7);
    }
    if (TM > 13u) {
      (*tl).a13.c7 = fma(x13, w7, (*tl).a13.c7);
    }
    if (TM > 14u) {
      (*tl).a14.c7 = fma(x14, w7, (*tl).a14.c7);
    }
    if (TM > 15u) {
      (*tl).a15.c7 = fma(x15, w7, (*tl).a15.c7);
    }
  }
}


// The input columns of a ROW invocation at one kernel row and input channel: column j (input x
// ox0 * STRIDE - pad + j) in c{j}, for the (TM - 1) * STRIDE + KSIZE <= 33 columns its taps cover.
struct Cols {
  c0: f32,
  c1: f32,
  c2: f32,
  c3: f32,
  c4: f32,
  c5: f32,
  c6: f32,
  c7: f32,
  c8: f32,
  c9: f32,
  c10: f32,
  c11: f32,
  c12: f32,
  c13: f32,
  c14: f32,
  c15: f32,
  c16: f32,
  c17: f32,
  c18: f32,
  c19: f32,
  c20: f32,
  c21: f32,
  c22: f32,
  c23: f32,
  c24: f32,
  c25: f32,
  c26: f32,
  c27: f32,
  c28: f32,
  c29: f32,
  c30: f32,
  c31: f32,
  c32: f32,
}


// The TM pixels' values of kernel column kx (0, 1 or 2, a constant at every call): columns kx,
// STRIDE + kx, 2 * STRIDE + kx, ... (STRIDE 1 or 2).
fn rowPixels(cs: Cols, kx: u32) -> Pixels {
  if (STRIDE == 1u) {
    if (kx == 0u) {
      return Pixels(
        cs.c0, cs.c1, cs.c2, cs.c3, cs.c4, cs.c5, cs.c6, cs.c7, cs.c8, cs.c9, cs.c10, cs.c11,
        cs.c12, cs.c13, cs.c14, cs.c15,
      );
    }
    if (kx == 1u) {
      return Pixels(
        cs.c1, cs.c2, cs.c3, cs.c4, cs.c5, cs.c6, cs.c7, cs.c8, cs.c9, cs.c10, cs.c11, cs.c12,
        cs.c13, cs.c14, cs.c15, cs.c16,
      );
    }
    return Pixels(
      cs.c2, cs.c3, cs.c4, cs.c5, cs.c6, cs.c7, cs.c8, cs.c9, cs.c10, cs.c11, cs.c12, cs.c13,
      cs.c14, cs.c15, cs.c16, cs.c17,
    );
  }
  if (kx == 0u) {
    return Pixels(
      cs.c0, cs.c2, cs.c4, cs.c6, cs.c8, cs.c10, cs.c12, cs.c14, cs.c16, cs.c18, cs.c20, cs.c22,
      cs.c24, cs.c26, cs.c28, cs.c30,
    );
  }
  if (kx == 1u) {
    return Pixels(
      cs.c1, cs.c3, cs.c5, cs.c7, cs.c9, cs.c11, cs.c13, cs.c15, cs.c17, cs.c19, cs.c21, cs.c23,
      cs.c25, cs.c27, cs.c29, cs.c31,
    );
  }
  return Pixels(
    cs.c2, cs.c4, cs.c6, cs.c8, cs.c10, cs.c12, cs.c14, cs.c16, cs.c18, cs.c20, cs.c22, cs.c24,
    cs.c26, cs.c28, cs.c30, cs.c32,
  );
}

// Input value at tap `t` shifted by `off` channels; zero where the tap lies in the padding.
fn load(t: Tap, off: u32) -> f32 {
  return select(0.0, f32(x[t.xi + off]), t.ok);
}

// The pixels of one invocation (see tileRow, tileSpread): pixel t is m0 + t * mStep, the first `count` stored.
struct Span {
  m0: u32,
  mStep: u32,
  count: u32,
}

// What every tile starts from: the map's pixel count, where the chunk's input channels start, the
// step between input channels; `empty` for a map or chunk with nothing to do (uniform over the
// dispatch).
struct Setup {
  empty: bool,
  pixels: u32,
  cinOff: u32,
  cStep: u32,
}

fn setup() -> Setup {
  let pixels = params.batch * params.outH * params.outW;
  let cinG = params.inC / params.groups;
  let coutG = params.outC / params.groups;
  var cStep = 1u;
  if (IN_NCHW) {
    cStep = params.inH * params.inW;
  }
  return Setup(
    pixels == 0u || params.coCount == 0u || params.ciCount == 0u,
    pixels,
    params.coBase / coutG * cinG + params.ciBase,
    cStep,
  );
}

// The input taps of a ROW invocation's columns at one kernel row: column j (input x ox0 * STRIDE -
// pad + j) in k{j}, for the (TM - 1) * STRIDE + KSIZE <= 33 columns its taps cover.
struct RowTaps {
  k0: Tap,
  k1: Tap,
  k2: Tap,
  k3: Tap,
  k4: Tap,
  k5: Tap,
  k6: Tap,
  k7: Tap,
  k8: Tap,
  k9: Tap,
  k10: Tap,
  k11: Tap,
  k12: Tap,
  k13: Tap,
  k14: Tap,
  k15: Tap,
  k16: Tap,
  k17: Tap,
  k18: Tap,
  k19: Tap,
  k20: Tap,
  k21: Tap,
  k22: Tap,
  k23: Tap,
  k24: Tap,
  k25: Tap,
  k26: Tap,
  k27: Tap,
  k28: Tap,
  k29: Tap,
  k30: Tap,
  k31: Tap,
  k32: Tap,
}

fn rowTaps(p: Pixel, ky: u32, cinOff: u32) -> RowTaps {
  return RowTaps(
    tapOf(p, ky, 0u, cinOff),
    tapOf(p, ky, 1u, cinOff),
    tapOf(p, ky, 2u, cinOff),
    tapOf(p, ky, 3u, cinOff),
    tapOf(p, ky, 4u, cinOff),
    tapOf(p, ky, 5u, cinOff),
    tapOf(p, ky, 6u, cinOff),
    tapOf(p, ky, 7u, cinOff),
    tapOf(p, ky, 8u, cinOff),
    tapOf(p, ky, 9u, cinOff),
    tapOf(p, ky, 10u, cinOff),
    tapOf(p, ky, 11u, cinOff),
    tapOf(p, ky, 12u, cinOff),
    tapOf(p, ky, 13u, cinOff),
    tapOf(p, ky, 14u, cinOff),
    tapOf(p, ky, 15u, cinOff),
    tapOf(p, ky, 16u, cinOff),
    tapOf(p, ky, 17u, cinOff),
    tapOf(p, ky, 18u, cinOff),
    tapOf(p, ky, 19u, cinOff),
    tapOf(p, ky, 20u, cinOff),
    tapOf(p, ky, 21u, cinOff),
    tapOf(p, ky, 22u, cinOff),
    tapOf(p, ky, 23u, cinOff),
    tapOf(p, ky, 24u, cinOff),
    tapOf(p, ky, 25u, cinOff),
    tapOf(p, ky, 26u, cinOff),
    tapOf(p, ky, 27u, cinOff),
    tapOf(p, ky, 28u, cinOff),
    tapOf(p, ky, 29u, cinOff),
    tapOf(p, ky, 30u, cinOff),
    tapOf(p, ky, 31u, cinOff),
    tapOf(p, ky, 32u, cinOff),
  );
}

// The columns a ROW invocation's taps cover.
fn rowColumns() -> u32 {
  return (TM - 1u) * STRIDE + KSIZE;
}

// One input channel's columns (the only per-lane loads: each column once for all its taps).
fn rowCols(ts: RowTaps, off: u32) -> Cols {
  let ncol = rowColumns();
  var cs: Cols;
  cs.c0 = load(ts.k0, off);
  if (ncol > 1u) {
    cs.c1 = load(ts.k1, off);
  }
  if (ncol > 2u) {
    cs.c2 = load(ts.k2, off);
  }
  if (ncol > 3u) {
    cs.c3 = load(ts.k3, off);
  }
  if (ncol > 4u) {
    cs.c4 = load(ts.k4, off);
  }
  if (ncol > 5u) {
    cs.c5 = load(ts.k5, off);
  }
  if (ncol > 6u) {
    cs.c6 = load(ts.k6, off);
  }
  if (ncol > 7u) {
    cs.c7 = load(ts.k7, off);
  }
  if (ncol > 8u) {
    cs.c8 = load(ts.k8, off);
  }
  if (ncol > 9u) {
    cs.c9 = load(ts.k9, off);
  }
  if (ncol > 10u) {
    cs.c10 = load(ts.k10, off);
  }
  if (ncol > 11u) {
    cs.c11 = load(ts.k11, off);
  }
  if (ncol > 12u) {
    cs.c12 = load(ts.k12, off);
  }
  if (ncol > 13u) {
    cs.c13 = load(ts.k13, off);
  }
  if (ncol > 14u) {
    cs.c14 = load(ts.k14, off);
  }
  if (ncol > 15u) {
    cs.c15 = load(ts.k15, off);
  }
  if (ncol > 16u) {
    cs.c16 = load(ts.k16, off);
  }
  if (ncol > 17u) {
    cs.c17 = load(ts.k17, off);
  }
  if (ncol > 18u) {
    cs.c18 = load(ts.k18, off);
  }
  if (ncol > 19u) {
    cs.c19 = load(ts.k19, off);
  }
  if (ncol > 20u) {
    cs.c20 = load(ts.k20, off);
  }
  if (ncol > 21u) {
    cs.c21 = load(ts.k21, off);
  }
  if (ncol > 22u) {
    cs.c22 = load(ts.k22, off);
  }
  if (ncol > 23u) {
    cs.c23 = load(ts.k23, off);
  }
  if (ncol > 24u) {
    cs.c24 = load(ts.k24, off);
  }
  if (ncol > 25u) {
    cs.c25 = load(ts.k25, off);
  }
  if (ncol > 26u) {
    cs.c26 = load(ts.k26, off);
  }
  if (ncol > 27u) {
    cs.c27 = load(ts.k27, off);
  }
  if (ncol > 28u) {
    cs.c28 = load(ts.k28, off);
  }
  if (ncol > 29u) {
    cs.c29 = load(ts.k29, off);
  }
  if (ncol > 30u) {
    cs.c30 = load(ts.k30, off);
  }
  if (ncol > 31u) {
    cs.c31 = load(ts.k31, off);
  }
  if (ncol > 32u) {
    cs.c32 = load(ts.k32, off);
  }
  return cs;
}

// Four input channels' columns, each column one vec4 load (tileRow4).
struct ColsQuad {
  a: Cols,
  b: Cols,
  c: Cols,
  d: Cols,
}

fn rowQuads(ts: RowTaps, off: u32) -> ColsQuad {
  let ncol = rowColumns();
  var q: ColsQuad;
  {
    let v0 = load4(ts.k0, off);
    q.a.c0 = v0.x;
    q.b.c0 = v0.y;
    q.c.c0 = v0.z;
    q.d.c0 = v0.w;
  }
  if (ncol > 1u) {
    let v1 = load4(ts.k1, off);
    q.a.c1 = v1.x;
    q.b.c1 = v1.y;
    q.c.c1 = v1.z;
    q.d.c1 = v1.w;
  }
  if (ncol > 2u) {
    let v2 = load4(ts.k2, off);
    q.a.c2 = v2.x;
    q.b.c2 = v2.y;
    q.c.c2 = v2.z;
    q.d.c2 = v2.w;
  }
  if (ncol > 3u) {
    let v3 = load4(ts.k3, off);
    q.a.c3 = v3.x;
    q.b.c3 = v3.y;
    q.c.c3 = v3.z;
    q.d.c3 = v3.w;
  }
  if (ncol > 4u) {
    let v4 = load4(ts.k4, off);
    q.a.c4 = v4.x;
    q.b.c4 = v4.y;
    q.c.c4 = v4.z;
    q.d.c4 = v4.w;
  }
  if (ncol > 5u) {
    let v5 = load4(ts.k5, off);
    q.a.c5 = v5.x;
    q.b.c5 = v5.y;
    q.c.c5 = v5.z;
    q.d.c5 = v5.w;
  }
  if (ncol > 6u) {
    let v6 = load4(ts.k6, off);
    q.a.c6 = v6.x;
    q.b.c6 = v6.y;
    q.c.c6 = v6.z;
    q.d.c6 = v6.w;
  }
  if (ncol > 7u) {
    let v7 = load4(ts.k7, off);
    q.a.c7 = v7.x;
    q.b.c7 = v7.y;
    q.c.c7 = v7.z;
    q.d.c7 = v7.w;
  }
  if (ncol > 8u) {
    let v8 = load4(ts.k8, off);
    q.a.c8 = v8.x;
    q.b.c8 = v8.y;
    q.c.c8 = v8.z;
    q.d.c8 = v8.w;
  }
  if (ncol > 9u) {
    let v9 = load4(ts.k9, off);
    q.a.c9 = v9.x;
    q.b.c9 = v9.y;
    q.c.c9 = v9.z;
    q.d.c9 = v9.w;
  }
  if (ncol > 10u) {
    let v10 = load4(ts.k10, off);
    q.a.c10 = v10.x;
    q.b.c10 = v10.y;
    q.c.c10 = v10.z;
    q.d.c10 = v10.w;
  }
  if (ncol > 11u) {
    let v11 = load4(ts.k11, off);
    q.a.c11 = v11.x;
    q.b.c11 = v11.y;
    q.c.c11 = v11.z;
    q.d.c11 = v11.w;
  }
  if (ncol > 12u) {
    let v12 = load4(ts.k12, off);
    q.a.c12 = v12.x;
    q.b.c12 = v12.y;
    q.c.c12 = v12.z;
    q.d.c12 = v12.w;
  }
  if (ncol > 13u) {
    let v13 = load4(ts.k13, off);
    q.a.c13 = v13.x;
    q.b.c13 = v13.y;
    q.c.c13 = v13.z;
    q.d.c13 = v13.w;
  }
  if (ncol > 14u) {
    let v14 = load4(ts.k14, off);
    q.a.c14 = v14.x;
    q.b.c14 = v14.y;
    q.c.c14 = v14.z;
    q.d.c14 = v14.w;
  }
  if (ncol > 15u) {
    let v15 = load4(ts.k15, off);
    q.a.c15 = v15.x;
    q.b.c15 = v15.y;
    q.c.c15 = v15.z;
    q.d.c15 = v15.w;
  }
  if (ncol > 16u) {
    let v16 = load4(ts.k16, off);
    q.a.c16 = v16.x;
    q.b.c16 = v16.y;
    q.c.c16 = v16.z;
    q.d.c16 = v16.w;
  }
  if (ncol > 17u) {
    let v17 = load4(ts.k17, off);
    q.a.c17 = v17.x;
    q.b.c17 = v17.y;
    q.c.c17 = v17.z;
    q.d.c17 = v17.w;
  }
  if (ncol > 18u) {
    let v18 = load4(ts.k18, off);
    q.a.c18 = v18.x;
    q.b.c18 = v18.y;
    q.c.c18 = v18.z;
    q.d.c18 = v18.w;
  }
  if (ncol > 19u) {
    let v19 = load4(ts.k19, off);
    q.a.c19 = v19.x;
    q.b.c19 = v19.y;
    q.c.c19 = v19.z;
    q.d.c19 = v19.w;
  }
  if (ncol > 20u) {
    let v20 = load4(ts.k20, off);
    q.a.c20 = v20.x;
    q.b.c20 = v20.y;
    q.c.c20 = v20.z;
    q.d.c20 = v20.w;
  }
  if (ncol > 21u) {
    let v21 = load4(ts.k21, off);
    q.a.c21 = v21.x;
    q.b.c21 = v21.y;
    q.c.c21 = v21.z;
    q.d.c21 = v21.w;
  }
  if (ncol > 22u) {
    let v22 = load4(ts.k22, off);
    q.a.c22 = v22.x;
    q.b.c22 = v22.y;
    q.c.c22 = v22.z;
    q.d.c22 = v22.w;
  }
  if (ncol > 23u) {
    let v23 = load4(ts.k23, off);
    q.a.c23 = v23.x;
    q.b.c23 = v23.y;
    q.c.c23 = v23.z;
    q.d.c23 = v23.w;
  }
  if (ncol > 24u) {
    let v24 = load4(ts.k24, off);
    q.a.c24 = v24.x;
    q.b.c24 = v24.y;
    q.c.c24 = v24.z;
    q.d.c24 = v24.w;
  }
  if (ncol > 25u) {
    let v25 = load4(ts.k25, off);
    q.a.c25 = v25.x;
    q.b.c25 = v25.y;
    q.c.c25 = v25.z;
    q.d.c25 = v25.w;
  }
  if (ncol > 26u) {
    let v26 = load4(ts.k26, off);
    q.a.c26 = v26.x;
    q.b.c26 = v26.y;
    q.c.c26 = v26.z;
    q.d.c26 = v26.w;
  }
  if (ncol > 27u) {
    let v27 = load4(ts.k27, off);
    q.a.c27 = v27.x;
    q.b.c27 = v27.y;
    q.c.c27 = v27.z;
    q.d.c27 = v27.w;
  }
  if (ncol > 28u) {
    let v28 = load4(ts.k28, off);
    q.a.c28 = v28.x;
    q.b.c28 = v28.y;
    q.c.c28 = v28.z;
    q.d.c28 = v28.w;
  }
  if (ncol > 29u) {
    let v29 = load4(ts.k29, off);
    q.a.c29 = v29.x;
    q.b.c29 = v29.y;
    q.c.c29 = v29.z;
    q.d.c29 = v29.w;
  }
  if (ncol > 30u) {
    let v30 = load4(ts.k30, off);
    q.a.c30 = v30.x;
    q.b.c30 = v30.y;
    q.c.c30 = v30.z;
    q.d.c30 = v30.w;
  }
  if (ncol > 31u) {
    let v31 = load4(ts.k31, off);
    q.a.c31 = v31.x;
    q.b.c31 = v31.y;
    q.c.c31 = v31.z;
    q.d.c31 = v31.w;
  }
  if (ncol > 32u) {
    let v32 = load4(ts.k32, off);
    q.a.c32 = v32.x;
    q.b.c32 = v32.y;
    q.c.c32 = v32.z;
    q.d.c32 = v32.w;
  }
  return q;
}

// A ROW invocation's pixels: TM neighbours of one output row (rows padded to a multiple of TM), from
// output pixel (row, ox0); `count` of them inside the row.
struct RowSpan {
  span: Span,
  p: Pixel,
}

fn rowSpan(inv: Invocation) -> RowSpan {
  let g = (inv.wid.x + inv.wid.y * inv.nwg.x) * WG + inv.lid;
  let perRow = (params.outW + TM - 1u) / TM;
  let rows = params.batch * params.outH;
  let row = min(g / perRow, rows - 1u);
  let ox0 = g % perRow * TM;
  let count = select(0u, min(TM, params.outW - ox0), g / perRow < rows);
  return RowSpan(Span(row * params.outW + ox0, 1u, count), Pixel(row / params.outH, row % params.outH, ox0));
}

// One input channel's reduction steps for a kernel row: its columns times the KSIZE taps' weight rows.
fn rowSteps(tl: ptr<function, Tile>, cs: Cols, wi: u32, kStep: u32, lane: u32) {
  fmaStep(tl, rowPixels(cs, 0u), wi, lane);
  if (KSIZE > 1u) {
    fmaStep(tl, rowPixels(cs, 1u), wi + kStep, lane);
  }
  if (KSIZE > 2u) {
    fmaStep(tl, rowPixels(cs, 2u), wi + 2u * kStep, lane);
  }
}

// The reduction of a ROW invocation into its registers tl.a0 .. a(TM - 1): TM neighbouring pixels of
// one row. Called by mainRow and mainRow4 only, so that a pipeline holds one of the tiles (on
// lavapipe a ROW pipeline took 25% less time to create, one without ROW 55% less).
fn tileRow(inv: Invocation, tl: ptr<function, Tile>) -> Span {
  // Bounds guard: an empty map or chunk does nothing; pixels past the last one (or past the end of
  // a ROW invocation's row) are computed and not stored.
  let s = setup();
  if (s.empty) {
    return Span(0u, 1u, 0u);
  }
  let lane = laneOf(inv);
  let rs = rowSpan(inv);
  let kStep = params.ciCount * TN4;
  for (var ky = 0u; ky < KSIZE; ky++) {
    let ts = rowTaps(rs.p, ky, s.cinOff);
    var wi = ky * KSIZE * kStep;
    var off = 0u;
    for (var ci = 0u; ci < params.ciCount; ci++) {
      rowSteps(tl, rowCols(ts, off), wi, kStep, lane);
      off += s.cStep;
      wi += TN4;
    }
  }
  return rs.span;
}

// tileRow with four input channels per column load (VEC4_IN with ROW: NHWC input whose channel offsets,
// strides and counts are multiples of 4): every fourth channel loads the columns of four, the three
// after it take theirs from registers, so the loop body holds one channel's steps (the four written
// out, or the columns as vec4s, ran at half the speed). Called by mainRowIn4 and mainRow4In4.
fn tileRow4(inv: Invocation, tl: ptr<function, Tile>) -> Span {
  let s = setup();
  if (s.empty) {
    return Span(0u, 1u, 0u);
  }
  let lane = laneOf(inv);
  let rs = rowSpan(inv);
  let kStep = params.ciCount * TN4;
  for (var ky = 0u; ky < KSIZE; ky++) {
    let ts = rowTaps(rs.p, ky, s.cinOff);
    var wi = ky * KSIZE * kStep;
    var q: ColsQuad;
    for (var ci = 0u; ci < params.ciCount; ci++) {
      let r = ci % 4u;
      if (r == 0u) {
        q = rowQuads(ts, ci);
      }
      var cs = q.a;
      if (r == 1u) {
        cs = q.b;
      } else if (r == 2u) {
        cs = q.c;
      } else if (r == 3u) {
        cs = q.d;
      }
      rowSteps(tl, cs, wi, kStep, lane);
      wi += TN4;
    }
  }
  return rs.span;
}

// The input taps of a spread tile's pixels (TM pixels WG apart) at one kernel position: t{j} for
// pixel j (fields past TM are never read).
struct Taps {
  t0: Tap,
  t1: Tap,
  t2: Tap,
  t3: Tap,
  t4: Tap,
  t5: Tap,
  t6: Tap,
  t7: Tap,
  t8: Tap,
  t9: Tap,
  t10: Tap,
  t11: Tap,
  t12: Tap,
  t13: Tap,
  t14: Tap,
  t15: Tap,
}

fn spreadTaps(m0: u32, pixels: u32, ky: u32, kx: u32, cinOff: u32) -> Taps {
  let last = pixels - 1u;
  return Taps(
    tapOf(pixelAt(min(m0 + 0u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 1u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 2u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 3u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 4u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 5u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 6u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 7u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 8u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 9u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 10u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 11u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 12u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 13u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 14u * WG, last)), ky, kx, cinOff),
    tapOf(pixelAt(min(m0 + 15u * WG, last)), ky, kx, cinOff),
  );
}

// The spread tile's pixels: invocation g's TM pixels are m0 + t * WG, m0 = its workgroup's first
// pixel + its index (consecutive invocations: consecutive pixels).
fn spreadSpan(inv: Invocation, pixels: u32) -> Span {
  let m0 = (inv.wid.x + inv.wid.y * inv.nwg.x) * WG * TM + inv.lid;
  return Span(m0, WG, select(0u, min(TM, (pixels - m0 + WG - 1u) / WG), m0 < pixels));
}

// One reduction step's input values of the tile's pixels (the only per-lane loads).
fn spreadPixels(ts: Taps, off: u32) -> Pixels {
  return Pixels(
    load(ts.t0, off),
    select(0.0, load(ts.t1, off), TM > 1u),
    select(0.0, load(ts.t2, off), TM > 2u),
    select(0.0, load(ts.t3, off), TM > 3u),
    select(0.0, load(ts.t4, off), TM > 4u),
    select(0.0, load(ts.t5, off), TM > 5u),
    select(0.0, load(ts.t6, off), TM > 6u),
    select(0.0, load(ts.t7, off), TM > 7u),
    select(0.0, load(ts.t8, off), TM > 8u),
    select(0.0, load(ts.t9, off), TM > 9u),
    select(0.0, load(ts.t10, off), TM > 10u),
    select(0.0, load(ts.t11, off), TM > 11u),
    select(0.0, load(ts.t12, off), TM > 12u),
    select(0.0, load(ts.t13, off), TM > 13u),
    select(0.0, load(ts.t14, off), TM > 14u),
    select(0.0, load(ts.t15, off), TM > 15u),
  );
}

// The reduction of an invocation into its registers tl.a0 .. a(TM - 1): TM pixels WG apart. Called
// by main and main4.
fn tileSpread(inv: Invocation, tl: ptr<function, Tile>) -> Span {
  // Bounds guard: an empty map or chunk does nothing; pixels past the last one are computed and not
  // stored.
  let s = setup();
  if (s.empty) {
    return Span(0u, 1u, 0u);
  }
  let lane = laneOf(inv);
  let span = spreadSpan(inv, s.pixels);
  for (var ky = 0u; ky < KSIZE; ky++) {
    for (var kx = 0u; kx < KSIZE; kx++) {
      let ts = spreadTaps(span.m0, s.pixels, ky, kx, s.cinOff);
      var wi = (ky * KSIZE + kx) * params.ciCount * TN4;
      var off = 0u;
      for (var ci = 0u; ci < params.ciCount; ci++) {
        fmaStep(tl, spreadPixels(ts, off), wi, lane);
        off += s.cStep;
        wi += TN4;
      }
    }
  }
  return span;
}

// Four input channels of a pixel at one tap (x4 view; the tap's index is a multiple of 4 under VEC4_IN).
fn load4(t: Tap, off: u32) -> vec4<f32> {
  return select(vec4<f32>(), vec4<f32>(x4[(t.xi + off) / 4u]), t.ok);
}

// Four reduction steps' input values of the tile's pixels: pixel j's four channels in q{j}.
struct Quads {
  q0: vec4<f32>,
  q1: vec4<f32>,
  q2: vec4<f32>,
  q3: vec4<f32>,
  q4: vec4<f32>,
  q5: vec4<f32>,
  q6: vec4<f32>,
  q7: vec4<f32>,
  q8: vec4<f32>,
  q9: vec4<f32>,
  q10: vec4<f32>,
  q11: vec4<f32>,
  q12: vec4<f32>,
  q13: vec4<f32>,
  q14: vec4<f32>,
  q15: vec4<f32>,
}

fn spreadQuads(ts: Taps, off: u32) -> Quads {
  return Quads(
    load4(ts.t0, off),
    select(vec4<f32>(), load4(ts.t1, off), TM > 1u),
    select(vec4<f32>(), load4(ts.t2, off), TM > 2u),
    select(vec4<f32>(), load4(ts.t3, off), TM > 3u),
    select(vec4<f32>(), load4(ts.t4, off), TM > 4u),
    select(vec4<f32>(), load4(ts.t5, off), TM > 5u),
    select(vec4<f32>(), load4(ts.t6, off), TM > 6u),
    select(vec4<f32>(), load4(ts.t7, off), TM > 7u),
    select(vec4<f32>(), load4(ts.t8, off), TM > 8u),
    select(vec4<f32>(), load4(ts.t9, off), TM > 9u),
    select(vec4<f32>(), load4(ts.t10, off), TM > 10u),
    select(vec4<f32>(), load4(ts.t11, off), TM > 11u),
    select(vec4<f32>(), load4(ts.t12, off), TM > 12u),
    select(vec4<f32>(), load4(ts.t13, off), TM > 13u),
    select(vec4<f32>(), load4(ts.t14, off), TM > 14u),
    select(vec4<f32>(), load4(ts.t15, off), TM > 15u),
  );
}

// Step c (0..3, a constant at each call) of four.
fn quadPixels(q: Quads, c: u32) -> Pixels {
  return Pixels(q.q0[c], q.q1[c], q.q2[c], q.q3[c], q.q4[c], q.q5[c], q.q6[c], q.q7[c], q.q8[c], q.q9[c], q.q10[c], q.q11[c], q.q12[c], q.q13[c], q.q14[c], q.q15[c]);
}

// tileSpread with four input channels per load (VEC4_IN: NHWC input whose channel offsets, strides
// and counts are multiples of 4): one per-lane loop per four channels of a pixel where tileSpread runs
// four. On lavapipe the 1x1 256 -> 64 conv at 80x80 ran at 47 GFLOP/s instead of 33, 64 -> 64 at 27
// instead of 22; YOLO11n-seg's forward took 259-261 ms of GPU time instead of 286-289. The four steps
// are written out: as a loop over the component (one fmaStep in the code, pipelines as quick to create
// as tileSpread's, 21-24 ms instead of 47-64) the forward ran no faster than with scalar loads. Called
// by mainIn4 and main4In4. (ROW tiles keep scalar loads: their 18 to 33 columns as vec4s ran at half
// the speed.)
fn tileSpread4(inv: Invocation, tl: ptr<function, Tile>) -> Span {
  let s = setup();
  if (s.empty) {
    return Span(0u, 1u, 0u);
  }
  let lane = laneOf(inv);
  let span = spreadSpan(inv, s.pixels);
  for (var ky = 0u; ky < KSIZE; ky++) {
    for (var kx = 0u; kx < KSIZE; kx++) {
      let ts = spreadTaps(span.m0, s.pixels, ky, kx, s.cinOff);
      var wi = (ky * KSIZE + kx) * params.ciCount * TN4;
      for (var off = 0u; off < params.ciCount; off += 4u) {
        let q = spreadQuads(ts, off);
        fmaStep(tl, quadPixels(q, 0u), wi, lane);
        fmaStep(tl, quadPixels(q, 1u), wi + TN4, lane);
        fmaStep(tl, quadPixels(q, 2u), wi + 2u * TN4, lane);
        fmaStep(tl, quadPixels(q, 3u), wi + 3u * TN4, lane);
        wi += 4u * TN4;
      }
    }
  }
  return span;
}

// Pixel t's registers (t < TM): a switch, so that the epilogue is written once (one call in a loop
// over the pixels: llvmpipe inlines every call before it folds the branches on overrides).
fn pick(t: u32, tl: ptr<function, Tile>) -> Regs {
  switch t {
    case 0u: {
      return (*tl).a0;
    }
    case 1u: {
      return (*tl).a1;
    }
    case 2u: {
      return (*tl).a2;
    }
    case 3u: {
      return (*tl).a3;
    }
    case 4u: {
      return (*tl).a4;
    }
    case 5u: {
      return (*tl).a5;
    }
    case 6u: {
      return (*tl).a6;
    }
    case 7u: {
      return (*tl).a7;
    }
    case 8u: {
      return (*tl).a8;
    }
    case 9u: {
      return (*tl).a9;
    }
    case 10u: {
      return (*tl).a10;
    }
    case 11u: {
      return (*tl).a11;
    }
    case 12u: {
      return (*tl).a12;
    }
    case 13u: {
      return (*tl).a13;
    }
    case 14u: {
      return (*tl).a14;
    }
    default: {
      return (*tl).a15;
    }
  }
}

// The epilogue of an invocation's pixels: the first span.count, one store call in a loop (see pick).
fn storeSpan(span: Span, tl: ptr<function, Tile>) {
  for (var t = 0u; t < span.count; t++) {
    store(span.m0 + t * span.mStep, pick(t, tl));
  }
}

// storeSpan with the vec4 epilogue (VEC4_OUT).
fn storeSpanVec(span: Span, tl: ptr<function, Tile>) {
  for (var t = 0u; t < span.count; t++) {
    storeVec(span.m0 + t * span.mStep, pick(t, tl));
  }
}

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  var tl: Tile;
  let span = tileSpread(inv, &tl);
  storeSpan(span, &tl);
}

// main with the ROW tile, vec4 input loads and the vec4 epilogue (ROW, VEC4_IN and VEC4_OUT).
@compute @workgroup_size(WG)
fn mainRow4In4(inv: Invocation) {
  var tl: Tile;
  let span = tileRow4(inv, &tl);
  storeSpanVec(span, &tl);
}

// main with the ROW tile and vec4 input loads (ROW and VEC4_IN).
@compute @workgroup_size(WG)
fn mainRowIn4(inv: Invocation) {
  var tl: Tile;
  let span = tileRow4(inv, &tl);
  storeSpan(span, &tl);
}

// main with the ROW tile and the vec4 epilogue (ROW and VEC4_OUT).
@compute @workgroup_size(WG)
fn mainRow4(inv: Invocation) {
  var tl: Tile;
  let span = tileRow(inv, &tl);
  storeSpanVec(span, &tl);
}

// main with the ROW tile (ROW).
@compute @workgroup_size(WG)
fn mainRow(inv: Invocation) {
  var tl: Tile;
  let span = tileRow(inv, &tl);
  storeSpan(span, &tl);
}

// main with vec4 input loads and the vec4 epilogue (VEC4_IN and VEC4_OUT).
@compute @workgroup_size(WG)
fn main4In4(inv: Invocation) {
  var tl: Tile;
  let span = tileSpread4(inv, &tl);
  storeSpanVec(span, &tl);
}

// main with vec4 input loads (VEC4_IN).
@compute @workgroup_size(WG)
fn mainIn4(inv: Invocation) {
  var tl: Tile;
  let span = tileSpread4(inv, &tl);
  storeSpan(span, &tl);
}

// main with the vec4 epilogue (VEC4_OUT).
@compute @workgroup_size(WG)
fn main4(inv: Invocation) {
  var tl: Tile;
  let span = tileSpread(inv, &tl);
  storeSpanVec(span, &tl);
}
