/**
 * `subgroupsWork` and the device's `subgroups` feature: on lavapipe (subgroups of 8 lanes) requestGpu enables
 * it and the probe agrees at 8 lanes (and at 4: a part of one subgroup); a workgroup of 16 is two subgroups,
 * whose shuffles cannot read lanes 8..15, so the probe refuses it; a device created without the feature, or
 * with `subgroups: false`, has none.
 */
import assert from "node:assert/strict";
import { requestGpu, simdLanes } from "../../src/gpu/device.ts";
import { subgroupsWork } from "../../src/gpu/subgroups.ts";
import { testGpu } from "../_gpu.ts";

Deno.test("subgroups: lavapipe's device has them, whole at its 8 lanes", async () => {
  const { gpu } = await testGpu();
  assert.equal(gpu.software, true, "the test adapter is lavapipe");
  assert.equal(simdLanes(gpu), 8);
  assert.equal(gpu.features.subgroups, true);
  assert.equal(await subgroupsWork(gpu.device, 8, gpu.reader), true);
  assert.equal(await subgroupsWork(gpu.device, 4, gpu.reader), true);
});

Deno.test("subgroups: the probe refuses a workgroup of two subgroups (16 lanes asked of 8)", async () => {
  const { gpu } = await testGpu();
  assert.equal(await subgroupsWork(gpu.device, 16, gpu.reader), false);
});

Deno.test("subgroups: off with subgroups: false, and on a device created without the feature", async () => {
  const off = await requestGpu({ subgroups: false });
  try {
    assert.equal(off.features.subgroups, false);
    assert.equal(off.device.features.has("subgroups"), false);
    assert.equal(await subgroupsWork(off.device, 8, off.reader), false);
    // The same device given to requestGpu: its features are read from it.
    assert.equal((await requestGpu({ device: off.device })).features.subgroups, false);
  } finally {
    off.device.destroy();
  }
});
