/**
 * src/gpu/device.ts: the device gets the adapter's maxima for the limits kernels need, optional
 * features only when present, a caller's device is wrapped, and validation errors name the label.
 */
import assert from "node:assert/strict";
import {
  NO_ADAPTER_MESSAGE,
  REQUESTED_LIMITS,
  requestGpu,
  simdLanes,
  withErrorScope,
} from "../../src/gpu/device.ts";
import { testGpu } from "../_gpu.ts";

Deno.test("device: limits at the adapter's maxima, features as the adapter has them", async () => {
  const { gpu } = await testGpu();
  assert.ok(gpu.adapter);
  for (const name of REQUESTED_LIMITS) assert.equal(gpu.limits[name], gpu.adapter.limits[name], name);
  assert.equal(gpu.features.f16, gpu.adapter.features.has("shader-f16"));
  assert.equal(gpu.features.timestamps, gpu.adapter.features.has("timestamp-query"));
});

Deno.test("device: wraps a caller-provided device", async () => {
  const { device } = await testGpu();
  const wrapped = await requestGpu({ device, onError: () => {} });
  assert.equal(wrapped.device, device);
  assert.equal(wrapped.adapter, null);
  assert.equal(wrapped.features.f16, device.features.has("shader-f16"));
});

Deno.test("device: SIMD lanes from the adapter's subgroup size, else the device's, else 8", async () => {
  const { gpu } = await testGpu();
  const size = gpu.adapter!.info.subgroupMaxSize;
  assert.equal(simdLanes(gpu), typeof size === "number" && size >= 1 ? size : 8);
  const device = (subgroupMaxSize?: number) => ({ adapterInfo: { subgroupMaxSize } }) as unknown as GPUDevice;
  const adapter = (subgroupMaxSize?: number) => ({ info: { subgroupMaxSize } }) as unknown as GPUAdapter;
  assert.equal(simdLanes({ adapter: adapter(16), device: device(32) }), 16);
  assert.equal(simdLanes({ adapter: null, device: device(32) }), 32);
  assert.equal(simdLanes({ adapter: null, device: device() }), 8);
  assert.equal(simdLanes({ adapter: adapter(0), device: device() }), 8);
});

Deno.test("device: withErrorScope throws a validation error naming the label", async () => {
  const { device } = await testGpu();
  const buffer = device.createBuffer({ label: "tiny", size: 4, usage: GPUBufferUsage.UNIFORM });
  await assert.rejects(
    withErrorScope(device, "conv2d|ACT=1", () => {
      device.createBindGroup({
        label: "bad",
        layout: device.createBindGroupLayout({
          entries: [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" } }],
        }),
        entries: [{ binding: 0, resource: { buffer } }],
      });
    }),
    /^Error: WebGPU validation error in "conv2d\|ACT=1": /,
  );
  buffer.destroy();
});

Deno.test("device: the no-adapter message is one line with the install hint", () => {
  assert.ok(!NO_ADAPTER_MESSAGE.includes("\n"));
  assert.match(NO_ADAPTER_MESSAGE, /apt-get install -y mesa-vulkan-drivers/);
});
