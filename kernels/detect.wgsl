// detect: Ultralytics Detect / Segment inference decode into output0 [batch, 4 + nc + nm, A], exactly as
// the ONNX export lays it out (anchors last). Input x holds each level l as an NHWC tensor at xBase<l>
// with 4 * REG_MAX + nc + nm channels: [box distribution (side * REG_MAX + bin; sides left, top, right,
// bottom) | class logits | mask coefficients]. Anchors run level by level, a = y * w + x within a level.
// Per anchor, with dist(side) = sum_i i * softmax(bins)_i (DFL) and anchor point (x + 0.5, y + 0.5):
//   x1y1 = anchor - (left, top), x2y2 = anchor + (right, bottom),
//   channels 0..3 = (cx, cy, w, h) * stride, 4..4+nc = sigmoid(logits), then the nm coefficients raw.
//
// One invocation per (image, job, anchor), anchor fastest so writes along output rows coalesce:
// job 0 writes cx and w (left and right DFLs), job 1 cy and h (top and bottom), job j >= 2 output
// channel j + 2.
// Views: level l element (b, y, x, c) lives at xBase<l> + ((b * h<l> + y) * w<l> + x) * C + c.

// Element type of activations (and of weights bound as storage) in memory: f32 here, f16 in its f16 variant (f16Variant),
// which differs from this file only in that line and its leading `enable f16;`. Arithmetic stays f32.
alias S = f32;

struct Params {
  batch: u32,
  nc: u32,
  nm: u32,
  nLevels: u32,
  yBase: u32,
  xBase0: u32,
  h0: u32,
  w0: u32,
  stride0: u32,
  xBase1: u32,
  h1: u32,
  w1: u32,
  stride1: u32,
  xBase2: u32,
  h2: u32,
  w2: u32,
  stride2: u32,
  xBase3: u32,
  h3: u32,
  w3: u32,
  stride3: u32,
}

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read_write> y: array<S>;
@group(0) @binding(2) var<uniform> params: Params;

// DFL bins per box side.
override REG_MAX: u32 = 16u;
override WG: u32 = 64u;
// Output rows ("jobs": the two box axes, then each class and coefficient channel) per invocation.
// 1 on a big GPU; more on a software adapter, where the per-lane index arithmetic (integer division
// is scalar there) would otherwise cost far more than the one load and store of a row.
override JOBS: u32 = 1u;
// Which jobs this dispatch runs: 0 all, 1 the two box axes, 2 the class and coefficient channels. A
// software adapter runs both halves of a divergent branch under a lane mask, so a dispatch with both
// kinds pays the DFL's 64 loads in every job; split in two dispatches (1 then 2) each folds the
// other half away (lavapipe, YOLO11n-seg at 640: 19.7 -> 6.0 ms).
override PART: u32 = 0u;

// Level l as (xBase, h, w, stride).
fn level(l: u32) -> vec4<u32> {
  switch l {
    case 0u: {
      return vec4<u32>(params.xBase0, params.h0, params.w0, params.stride0);
    }
    case 1u: {
      return vec4<u32>(params.xBase1, params.h1, params.w1, params.stride1);
    }
    case 2u: {
      return vec4<u32>(params.xBase2, params.h2, params.w2, params.stride2);
    }
    default: {
      return vec4<u32>(params.xBase3, params.h3, params.w3, params.stride3);
    }
  }
}

// DFL of one side: expectation of the bin index under the softmax of its REG_MAX logits at x[c0..].
fn dfl(c0: u32) -> f32 {
  var mx = f32(x[c0]);
  for (var i = 1u; i < REG_MAX; i++) {
    mx = max(mx, f32(x[c0 + i]));
  }
  var sum = 0.0;
  var ev = 0.0;
  for (var i = 0u; i < REG_MAX; i++) {
    let e = exp(f32(x[c0 + i]) - mx);
    sum += e;
    ev += e * f32(i);
  }
  return ev / sum;
}

// 1 / (1 + exp(-v)) without overflowing exp for large |v|.
fn sigmoid(v: f32) -> f32 {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let nLevels = min(params.nLevels, 4u);
  var anchors = 0u;
  for (var l = 0u; l < nLevels; l++) {
    let lv = level(l);
    anchors += lv.y * lv.z;
  }
  let outC = 4u + params.nc + params.nm;
  // This dispatch's jobs: first .. end - 1.
  let first = select(0u, 2u, PART == 2u);
  let end = select(outC - 2u, 2u, PART == 1u);
  let runs = (end - first + JOBS - 1u) / JOBS;
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (anchors == 0u || idx >= params.batch * runs * anchors) {
    return;
  }
  let a = idx % anchors;
  let run = (idx / anchors) % runs;
  let img = idx / (anchors * runs);

  // Find the anchor's level and pixel.
  var rest = a;
  var lv = level(0u);
  for (var l = 0u; l < nLevels; l++) {
    lv = level(l);
    if (rest < lv.y * lv.z) {
      break;
    }
    rest -= lv.y * lv.z;
  }
  let px = rest % lv.z;
  let py = rest / lv.z;
  let row = lv.x + ((img * lv.y + py) * lv.z + px) * (4u * REG_MAX + params.nc + params.nm);
  let out = params.yBase + img * outC * anchors + a;
  for (var job = first + run * JOBS; job < min(end, first + (run + 1u) * JOBS); job++) {
    decode(job, row, out, anchors, px, py, lv.w);
  }
}

// One output row of one anchor: a box axis (jobs 0, 1) or one class / coefficient channel.
fn decode(job: u32, row: u32, out: u32, anchors: u32, px: u32, py: u32, levelStride: u32) {
  if (PART == 1u || (PART == 0u && job < 2u)) {
    // job 0: x axis (left, right) -> cx, w; job 1: y axis (top, bottom) -> cy, h.
    let center = f32(select(px, py, job == 1u)) + 0.5;
    let lo = center - dfl(row + job * REG_MAX);
    let hi = center + dfl(row + (job + 2u) * REG_MAX);
    let stride = f32(levelStride);
    y[out + job * anchors] = S((lo + hi) * 0.5 * stride);
    y[out + (job + 2u) * anchors] = S((hi - lo) * stride);
    return;
  }
  let ch = job + 2u;
  let v = f32(x[row + 4u * REG_MAX + ch - 4u]);
  if (ch < 4u + params.nc) {
    y[out + ch * anchors] = S(sigmoid(v));
  } else {
    y[out + ch * anchors] = S(v);
  }
}
