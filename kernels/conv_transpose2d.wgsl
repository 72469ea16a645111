// conv_transpose2d: PyTorch ConvTranspose2d with kernel == stride == KSIZE and no padding (Ultralytics
// Proto's 2x upsample), with bias, over NHWC views:
//   y[b, i * KSIZE + di, j * KSIZE + dj, co] = bias[co] + sum_ci x[b, i, j, ci] * w[ci, co, di, dj].
//
// Every input pixel feeds its own KSIZE x KSIZE output block, so this is one plain GEMM:
//   out[m, n] = sum_ci A[m, ci] * B[ci, n],  m = input pixel (b, i, j),  n = (di * KSIZE + dj, co),
// followed by a scatter of column n to output pixel (b, i * KSIZE + di, j * KSIZE + dj), channel co.
// A workgroup owns a BM x BN output tile (BM = 4 * WG_M pixels, BN = 4 * WG_N columns). Each step
// stages a BM x BK tile of A (input channels) and a BK x BN tile of B in workgroup memory, both as
// vec4 rows; each invocation accumulates a 4 x 4 register tile (4 pixels x 4 columns) with one vec4
// load of A and one of B per 16 FMAs.
// Weights are pre-packed on the CPU (packConvTranspose2dWeight) as [ci][tap][ceil(cout / 4)] vec4,
// zero padded per tap, so a vec4 column never straddles two taps and every weight load is one vec4.
//
// Views: element (b, y, x, c) lives at base + ((b * H + y) * W + x) * stride + off + c.

// Element type of activations (and of weights bound as storage) in memory: f32 here, f16 in its f16 variant (f16Variant),
// which differs from this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;

struct Params {
  batch: u32,
  inH: u32,
  inW: u32,
  inC: u32,
  outC: u32,
  xBase: u32,
  xStride: u32,
  xOff: u32,
  yBase: u32,
  yStride: u32,
  yOff: u32,
}

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read> w: array<vec4<S>>;
@group(0) @binding(2) var<storage, read> b: array<S>;
@group(0) @binding(3) var<storage, read_write> y: array<S>;
@group(0) @binding(4) var<uniform> params: Params;

// Kernel size == stride.
override KSIZE: u32 = 2u;
// Invocations along input pixels and along output-column vec4s; BK = input channels per step.
override WG_M: u32 = 16u;
override WG_N: u32 = 16u;
override BK: u32 = 16u;

// Register tile per invocation: TM pixels x TN (one vec4) columns.
const TM = 4u;
const TN = 4u;

// A tile, [BK][WG_M + 1] vec4s: row kb holds 4 consecutive pixels per vec4 (the +1 vec4 per row
// spreads the scalar stores across banks).
var<workgroup> aTile: array<vec4<f32>, BK * (WG_M + 1u)>;
// B tile, [BK][WG_N] vec4s.
var<workgroup> bTile: array<vec4<f32>, BK * WG_N>;

@compute @workgroup_size(WG_M * WG_N)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let bm = TM * WG_M;
  let nt = WG_M * WG_N;
  let pixels = params.batch * params.inH * params.inW;
  // Output columns per tap, padded to whole vec4s, and vec4 columns over all taps.
  let cout4 = (params.outC + 3u) / 4u;
  let cols4 = KSIZE * KSIZE * cout4;

  let m0 = (wid.x + wid.z * nwg.x) * bm;
  let n04 = wid.y * WG_N;
  // Bounds guard (uniform over the workgroup: folded dispatches overshoot).
  if (m0 >= pixels || n04 >= cols4 || params.inC == 0u) {
    return;
  }

  // Staging roles: A column kk, rows aRow, aRow + nt / BK, ...; B entries lid, lid + nt, ...
  let kk = lid % BK;
  let aRow = lid / BK;
  let aRowStep = nt / BK;
  // Compute role: pixels m0 + 4 * tm + (0..3), vec4 column n04 + tn.
  let tn = lid % WG_N;
  let tm = lid / WG_N;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  let kSteps = (params.inC + BK - 1u) / BK;
  for (var kStep = 0u; kStep < kSteps; kStep++) {
    let ci = kStep * BK + kk;
    for (var i = aRow; i < bm; i += aRowStep) {
      let m = m0 + i;
      var v = 0.0;
      if (ci < params.inC && m < pixels) {
        // Input pixel m = (b * inH + i) * inW + j is exactly the NHWC row index.
        v = f32(x[params.xBase + m * params.xStride + params.xOff + ci]);
      }
      aTile[kk * (WG_M + 1u) + i / TM][i % TM] = v;
    }
    for (var j = lid; j < BK * WG_N; j += nt) {
      let kb = kStep * BK + j / WG_N;
      let n4 = n04 + j % WG_N;
      var wv = vec4<f32>(0.0);
      if (kb < params.inC && n4 < cols4) {
        wv = vec4<f32>(w[kb * cols4 + n4]);
      }
      bTile[j] = wv;
    }
    workgroupBarrier();

    for (var kb = 0u; kb < BK; kb++) {
      let av = aTile[kb * (WG_M + 1u) + tm];
      let bv = bTile[kb * WG_N + tn];
      acc0 = fma(vec4<f32>(av.x), bv, acc0);
      acc1 = fma(vec4<f32>(av.y), bv, acc1);
      acc2 = fma(vec4<f32>(av.z), bv, acc2);
      acc3 = fma(vec4<f32>(av.w), bv, acc3);
    }
    workgroupBarrier();
  }

  // Epilogue: scatter the 4 columns (one tap, 4 channels) of each of the 4 pixels, plus bias.
  let n4 = n04 + tn;
  if (n4 >= cols4) {
    return;
  }
  let tap = n4 / cout4;
  let di = tap / KSIZE;
  let dj = tap % KSIZE;
  let co0 = (n4 % cout4) * TN;
  let outH = params.inH * KSIZE;
  let outW = params.inW * KSIZE;
  let acc = array<vec4<f32>, TM>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < TM; i++) {
    let m = m0 + tm * TM + i;
    if (m >= pixels) {
      break;
    }
    let jx = m % params.inW;
    let t = m / params.inW;
    let iy = t % params.inH;
    let n = t / params.inH;
    let row = params.yBase + ((n * outH + iy * KSIZE + di) * outW + jx * KSIZE + dj) * params.yStride +
      params.yOff;
    for (var c = 0u; c < TN; c++) {
      let co = co0 + c;
      if (co >= params.outC) {
        break;
      }
      y[row + co] = S(acc[i][c] + f32(b[co]));
    }
  }
}
