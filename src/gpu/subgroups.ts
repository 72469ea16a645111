/**
 * Whether a device's subgroups can carry `conv2d_uniform_subgroups`: the `subgroups` feature, and one run of
 * `subgroup_probe.wgsl` at the conv's workgroup size showing whole subgroups whose shuffles return each lane's
 * value. The feature alone does not say how lanes are grouped, and a shader that assumes it wrongly computes
 * wrong sums without an error, so the engine uses the variant only where this run agreed.
 *
 * @module
 */
import { packParams } from "../../kernels/_spec.ts";
import { subgroupProbe } from "../../kernels/subgroup_probe.ts";
import type { MapReader } from "./map_read.ts";

/**
 * Runs the probe on `device` with a workgroup of `lanes` invocations (the `WG` of the uniform convs).
 *
 * @param device A device; false at once when it lacks the `subgroups` feature.
 * @param lanes The workgroup size to check (the adapter's SIMD lanes).
 * @param reader Reads the result back.
 * @returns True when every invocation read `lanes` lanes' values correctly; false on any other result or
 * on an error compiling or running the probe.
 *
 * @example
 * ```ts ignore
 * const gpu = await requestGpu();
 * console.log(await subgroupsWork(gpu.device, 8, gpu.reader));
 * ```
 */
export async function subgroupsWork(device: GPUDevice, lanes: number, reader: MapReader): Promise<boolean> {
  if (!device.features.has("subgroups")) return false;
  const values = Float32Array.from({ length: lanes }, (_, i) => 3 * i + 1);
  const created: GPUBuffer[] = [];
  const buffer = (size: number, usage: number) => {
    const b = device.createBuffer({ label: "subgroup_probe", size: Math.max(16, size), usage });
    created.push(b);
    return b;
  };
  device.pushErrorScope("validation");
  let ok = false;
  try {
    const module = device.createShaderModule({ label: "subgroup_probe", code: subgroupProbe.code });
    const { messages } = await module.getCompilationInfo();
    if (!messages.some((m) => m.type === "error")) ok = await run(module);
  } catch {
    ok = false;
  }
  const error = await device.popErrorScope();
  for (const b of created) b.destroy();
  return ok && !error;

  async function run(module: GPUShaderModule): Promise<boolean> {
    const pipeline = device.createComputePipeline({
      label: "subgroup_probe",
      layout: "auto",
      compute: { module, entryPoint: "main", constants: { WG: lanes } },
    });
    const x = buffer(values.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    const y = buffer(lanes * lanes * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const params = buffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const staging = buffer(lanes * lanes * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(x, 0, values);
    device.queue.writeBuffer(params, 0, packParams(subgroupProbe, { lanes }));
    const encoder = device.createCommandEncoder({ label: "subgroup_probe" });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [x, y, params].map((b, binding) => ({ binding, resource: { buffer: b } })),
      }),
    );
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(y, 0, staging, 0, staging.size);
    device.queue.submit([encoder.finish()]);
    const got = new Float32Array(await reader.read(staging, 0, lanes * lanes * 4));
    return got.every((v, i) => v === values[i % lanes]);
  }
}
