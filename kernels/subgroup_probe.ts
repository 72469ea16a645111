/**
 * Spec of `subgroup_probe.wgsl`: one workgroup of `WG` invocations, each reading lanes `0 .. lanes` of its
 * subgroup by shuffles (`y[lid * lanes + j]` = `x[j]` where subgroups work as `conv2d_uniform_subgroups`
 * needs). Run once per device by `subgroupsWork`; needs the `subgroups` feature.
 *
 * @module
 */
import code from "./subgroup_probe.wgsl" with { type: "text" };
import { type KernelSpec, u32Params } from "./_spec.ts";

/** The subgroup_probe kernel: bindings x (the lanes' values), y (WG rows of `lanes` values), params. */
export const subgroupProbe: KernelSpec<"lanes", "WG"> = {
  name: "subgroup_probe",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: u32Params("lanes"),
  overrides: { WG: 8 },
  dispatch: () => [1, 1, 1],
};
