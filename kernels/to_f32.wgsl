enable f16;

// to_f32: widens f16 values to f32 (exact), the last step of a half-precision forward: each f16
// output activation is copied into an f32 buffer before its readback.
//
// One invocation per element; y[yBase + i] = f32(x[xBase + i]) for i < count.

struct Params {
  count: u32,
  xBase: u32,
  yBase: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f16>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
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
  y[params.yBase + i] = f32(x[params.xBase + i]);
}
