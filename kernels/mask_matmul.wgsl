// mask_matmul: mask logits of selected detections from one image's prototypes (Ultralytics
// process_mask's masks_in @ protos.view(nm, -1)):
//   y[k, p] = sum_c w[k, c] * x[c, p],   w = coefficients [rows, nm] row-major,
//   x = prototypes [nm, pixels] (NCHW, one image of output1), y = [rows, pixels] row-major.
//
// Tiled GEMM: a workgroup owns a BM x BN output tile (BM = 4 * WG_M rows, BN = 4 * WG_N pixels). Each
// step stages a BM x BK tile of w and a BK x BN tile of x in workgroup memory as vec4s (4 rows, 4
// pixels); each invocation accumulates a 4 x 4 register tile (4 rows x 4 consecutive pixels) with one
// vec4 load of each per 16 FMAs. nm = 32 is usually a single step.

struct Params {
  rows: u32,
  pixels: u32,
  nm: u32,
  xBase: u32,
  wBase: u32,
  yBase: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>; // read only (shared: may alias y's buffer)
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// Invocations along rows and along pixel vec4s; BK = coefficients per step.
override WG_M: u32 = 8u;
override WG_N: u32 = 16u;
override BK: u32 = 32u;

// Register tile per invocation: TM rows x TN (one vec4) pixels.
const TM = 4u;
const TN = 4u;

// w tile, [BK][WG_M + 1] vec4s of 4 consecutive rows (the +1 vec4 per row spreads the scalar stores
// across banks).
var<workgroup> aTile: array<vec4<f32>, BK * (WG_M + 1u)>;
// x tile, [BK][WG_N] vec4s of 4 consecutive pixels.
var<workgroup> bTile: array<vec4<f32>, BK * WG_N>;

@compute @workgroup_size(WG_M * WG_N)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let bm = TM * WG_M;
  let bn = TN * WG_N;
  let nt = WG_M * WG_N;
  let p0 = (wid.x + wid.z * nwg.x) * bn;
  let r0 = wid.y * bm;
  // Bounds guard (uniform over the workgroup: folded dispatches overshoot).
  if (p0 >= params.pixels || r0 >= params.rows) {
    return;
  }

  // Compute role: rows r0 + 4 * tm + (0..3), pixels p0 + 4 * tn + (0..3).
  let tn = lid % WG_N;
  let tm = lid / WG_N;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  let kSteps = (params.nm + BK - 1u) / BK;
  for (var kStep = 0u; kStep < kSteps; kStep++) {
    let c0 = kStep * BK;
    // Coefficients: consecutive invocations read consecutive c of one row.
    for (var e = lid; e < BK * bm; e += nt) {
      let c = e % BK;
      let r = e / BK;
      var val = 0.0;
      if (c0 + c < params.nm && r0 + r < params.rows) {
        val = w[params.wBase + (r0 + r) * params.nm + c0 + c];
      }
      aTile[c * (WG_M + 1u) + r / TM][r % TM] = val;
    }
    // Prototypes: consecutive invocations read consecutive pixels of one channel.
    for (var e = lid; e < BK * bn; e += nt) {
      let p = e % bn;
      let c = e / bn;
      var val = 0.0;
      if (c0 + c < params.nm && p0 + p < params.pixels) {
        val = x[params.xBase + (c0 + c) * params.pixels + p0 + p];
      }
      bTile[c * WG_N + p / TN][p % TN] = val;
    }
    workgroupBarrier();

    for (var c = 0u; c < BK; c++) {
      let av = aTile[c * (WG_M + 1u) + tm];
      let bv = bTile[c * WG_N + tn];
      acc0 = fma(vec4<f32>(av.x), bv, acc0);
      acc1 = fma(vec4<f32>(av.y), bv, acc1);
      acc2 = fma(vec4<f32>(av.z), bv, acc2);
      acc3 = fma(vec4<f32>(av.w), bv, acc3);
    }
    workgroupBarrier();
  }

  let acc = array<vec4<f32>, TM>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < TM; i++) {
    let r = r0 + tm * TM + i;
    if (r >= params.rows) {
      break;
    }
    for (var j = 0u; j < TN; j++) {
      let p = p0 + tn * TN + j;
      if (p >= params.pixels) {
        break;
      }
      y[params.yBase + r * params.pixels + p] = acc[i][j];
    }
  }
}
