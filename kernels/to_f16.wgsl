enable f16;

// to_f16: rounds f32 values to f16 (round to nearest even, as WGSL's f16() conversion), the first
// step of a half-precision forward: the caller's f32 input becomes the f16 input activation.
//
// One invocation per element; y[yBase + i] = f16(x[xBase + i]) for i < count.

struct Params {
  count: u32,
  xBase: u32,
  yBase: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f16>;
@group(0) @binding(2) var<uniform> params: Params;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.count) {
    return;
  }
  y[params.yBase + i] = f16(x[params.xBase + i]);
}
