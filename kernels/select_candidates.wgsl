// select_candidates: the first filter of Ultralytics' NMS, run on the GPU before readback so that only the
// anchors that can become detections leave the device. An anchor of image b is a candidate when its best
// class score (rows 4 .. 4 + nc of output0) is > conf; each candidate appends its anchor index (as f32, exact
// below 2^24) and its whole column of output0 (boxes, scores, mask coefficients) to b's list, in whatever
// order the atomics give (the reader sorts by anchor). count[b] ends as the number of candidates, which may
// exceed cap: only the first cap are stored, and the reader falls back to the full output0.
//
// output0 is f32 here in both precisions (half mode widens it first), so there is no f16 variant.

struct Params {
  batch: u32,
  channels: u32,
  anchors: u32,
  nc: u32,
  xBase: u32,
  cap: u32,
  conf: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> count: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.batch * params.anchors) {
    return;
  }
  let b = i / params.anchors;
  let a = i % params.anchors;
  let base = params.xBase + b * params.channels * params.anchors + a;
  var best = x[base + 4u * params.anchors];
  for (var c = 1u; c < params.nc; c++) {
    best = max(best, x[base + (4u + c) * params.anchors]);
  }
  if (!(best > params.conf)) {
    return;
  }
  let slot = atomicAdd(&count[b], 1u);
  if (slot >= params.cap) {
    return;
  }
  let o = (b * params.cap + slot) * (params.channels + 1u);
  y[o] = f32(a);
  for (var ch = 0u; ch < params.channels; ch++) {
    y[o + 1u + ch] = x[base + ch * params.anchors];
  }
}
