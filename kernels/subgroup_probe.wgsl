// subgroup_probe: whether a device's subgroups hold what conv2d_uniform_subgroups assumes of them. One
// workgroup of WG invocations; lane l of each subgroup loads x[l], then every invocation reads each lane
// j < lanes of its subgroup by a shuffle into y[lid * lanes + j]. The assumption holds when every row of
// y is x[0 .. lanes): the workgroup is whole subgroups of at least `lanes` lanes, numbered from 0, all
// active, and a shuffle returns lane j's value. Needs the `subgroups` feature.

struct Params {
  lanes: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// Invocations in the workgroup: the conv's workgroup size.
override WG: u32 = 8u;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let mine = x[min(lane, params.lanes - 1u)];
  for (var j = 0u; j < params.lanes; j++) {
    y[lid * params.lanes + j] = subgroupShuffle(mine, j);
  }
}
