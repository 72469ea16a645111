/**
 * Shared GPU test helper: one device and pipeline cache per test module, upload and read back of
 * Float32Arrays (as f16 for the f16 bindings of `_f16` kernels), and running one kernel once. With no adapter the tests fail (never skip) with
 * the one-line install hint.
 *
 * @module
 */
import type { KernelSpec } from "../kernels/_spec.ts";
import { type Gpu, requestGpu, withErrorScope } from "../src/gpu/device.ts";
import { MapReader } from "../src/gpu/map_read.ts";
import { PipelineCache } from "../src/gpu/pipeline_cache.ts";

/** The device and pipeline cache shared by a test module. */
export interface TestGpu {
  gpu: Gpu;
  device: GPUDevice;
  cache: PipelineCache;
}

let shared: Promise<TestGpu> | undefined;
const readers = new WeakMap<GPUDevice, MapReader>();

/**
 * The module's device and cache, requested on first use. Throws the adapter message when there
 * is no WebGPU adapter, so GPU tests fail instead of skipping.
 */
export function testGpu(): Promise<TestGpu> {
  shared ??= requestGpu({
    onError: (error) => {
      throw new Error(`Uncaptured WebGPU error: ${error.message}`);
    },
  }).then((gpu) => {
    readers.set(gpu.device, gpu.reader);
    return { gpu, device: gpu.device, cache: new PipelineCache(gpu.device) };
  });
  return shared;
}

/**
 * A storage buffer (also COPY_SRC/COPY_DST, plus `extraUsage`) holding `data`, at least 16 bytes; with
 * `f16` the values are stored as f16 (rounded to nearest even).
 */
export function upload(
  device: GPUDevice,
  data: Float32Array,
  label: string,
  extraUsage = 0,
  f16 = false,
): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(16, Math.ceil((data.length * (f16 ? 2 : 4)) / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
    mappedAtCreation: true,
  });
  new (f16 ? Float16Array : Float32Array)(buffer.getMappedRange()).set(data);
  buffer.unmap();
  return buffer;
}

/** Free readback buffers by device and size, reused so that their reads after the first are early ones. */
const stagingPool = new WeakMap<GPUDevice, Map<number, GPUBuffer[]>>();

/**
 * Reads the first `length` floats (f16 ones with `f16`) of `buffer` back to the CPU through `device`'s
 * reader (the engine's: early reads on Deno's WebGPU once a pooled readback buffer has been read once).
 */
export async function readBack(
  device: GPUDevice,
  buffer: GPUBuffer,
  length: number,
  f16 = false,
): Promise<Float32Array> {
  const bytes = length * (f16 ? 2 : 4);
  const size = Math.max(16, Math.ceil(bytes / 16) * 16);
  const pool = stagingPool.get(device) ?? new Map<number, GPUBuffer[]>();
  stagingPool.set(device, pool);
  const free = pool.get(size) ?? [];
  pool.set(size, free);
  const staging = free.pop() ?? device.createBuffer({
    label: `readback.${size}`,
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder({ label: `${buffer.label}.readback` });
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  // Mapped ranges are whole 4-byte words; an odd count of f16 values leaves half a word unread.
  const mapped = (await readerOf(device).read(staging, 0, Math.ceil(bytes / 4) * 4)).slice(0, bytes);
  free.push(staging);
  return f16 ? Float32Array.from(new Float16Array(mapped)) : new Float32Array(mapped);
}

/** The reader of `device`: the shared test device's own, else one made for it. */
function readerOf(device: GPUDevice): MapReader {
  let reader = readers.get(device);
  if (!reader) readers.set(device, reader = new MapReader(device));
  return reader;
}

/** What {@linkcode runKernel} binds and runs. */
export interface RunKernelOptions<P extends string, O extends string> {
  /**
   * Contents of read-only bindings (and of uniform bindings other than `params`); a read binding left
   * out is bound to a 16-byte dummy.
   */
  inputs: Record<string, Float32Array>;
  /** Bind these inputs as a byte range of their buffer instead of the whole buffer. */
  ranges?: Record<string, { offset: number; size: number }>;
  /** Initial contents of the read_write bindings to read back after the dispatch. */
  outputs: Record<string, Float32Array>;
  params: Readonly<Record<P, number>>;
  overrides?: Readonly<Partial<Record<O, number>>>;
}

/**
 * Runs one dispatch of `spec` and returns the read-back contents of every output binding.
 *
 * @throws {Error} When WebGPU reports a validation error, naming the pipeline key.
 */
export async function runKernel<P extends string, O extends string>(
  spec: KernelSpec<P, O>,
  options: RunKernelOptions<P, O>,
): Promise<Record<string, Float32Array>> {
  const { device, cache } = await testGpu();
  const kernel = await cache.get(spec, options.overrides);
  const created: GPUBuffer[] = [];
  const f16 = (name: string) => spec.f16?.includes(name) ?? false;
  const resources: Record<string, GPUBuffer> = {};
  for (const binding of spec.bindings) {
    const label = `${spec.name}.${binding.name}`;
    if (binding.name === "params") {
      resources[binding.name] = cache.params(spec, options.params);
    } else if (binding.access === "uniform") {
      const data = options.inputs[binding.name];
      if (!data) throw new RangeError(`Give uniform input "${binding.name}" of kernel "${spec.name}"`);
      resources[binding.name] = upload(device, data, label, GPUBufferUsage.UNIFORM);
    } else if (binding.access === "read") {
      const data = options.inputs[binding.name];
      resources[binding.name] = data
        ? upload(device, data, label, 0, f16(binding.name))
        : cache.dummyFor(binding.name);
    } else {
      // Read back when given as an output; a read_write binding this variant only reads (conv2d's r without
      // UP_R) may come as an input instead, or be left to a dummy.
      const data = options.outputs[binding.name] ?? options.inputs[binding.name];
      resources[binding.name] = data
        ? upload(device, data, label, 0, f16(binding.name))
        : cache.dummyFor(binding.name);
    }
    if (resources[binding.name] !== cache.dummyFor(binding.name)) created.push(resources[binding.name]);
  }
  const result: Record<string, Float32Array> = {};
  await withErrorScope(device, kernel.key, async () => {
    const bound = Object.fromEntries(
      Object.entries(resources).map(([name, buffer]) => [name, { buffer, ...options.ranges?.[name] }]),
    );
    const bindGroup = cache.bindGroup(kernel, bound);
    const encoder = device.createCommandEncoder({ label: spec.name });
    const pass = encoder.beginComputePass({ label: spec.name });
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...spec.dispatch(options.params, kernel.overrides));
    pass.end();
    device.queue.submit([encoder.finish()]);
    for (const [name, data] of Object.entries(options.outputs)) {
      result[name] = await readBack(device, resources[name], data.length, f16(name));
    }
  });
  for (const buffer of created) buffer.destroy();
  return result;
}

/** `values` rounded to f16 (round to nearest even), as an f16 binding stores them; a new array. */
export function roundF16(values: Float32Array): Float32Array {
  return Float32Array.from(Float16Array.from(values));
}
