/**
 * Compiles kernel specs into compute pipelines, once per (kernel, override set), with explicit
 * bind-group layouts derived from the spec, and builds bind groups and Params buffers for them.
 *
 * Activations are addressed by base offsets in each kernel's Params, so bind groups normally bind
 * whole buffers; a binding may still be a range (offset a multiple of
 * `minStorageBufferOffsetAlignment`).
 *
 * @module
 */
import {
  entryPointOf,
  type KernelSpec,
  packParams,
  paramsByteLength,
  resolveOverrides,
} from "../../kernels/_spec.ts";
import { withErrorScope } from "./device.ts";

/** A pipeline for one spec and one full override set. */
export interface CompiledKernel<P extends string = string, O extends string = string> {
  spec: KernelSpec<P, O>;
  /** Cache key and pipeline label, e.g. `conv2d|ACT=1,BK=16,...`. */
  key: string;
  /** The full override set (defaults merged). */
  overrides: Readonly<Record<O, number>>;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** What a binding is bound to: a whole buffer or a range of one. */
export type BindingResource = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

const BUFFER_TYPE: Record<string, GPUBufferBindingType> = {
  read: "read-only-storage",
  read_write: "storage",
  uniform: "uniform",
};

/**
 * The key a pipeline is cached under: the kernel name, then every override (defaults included)
 * sorted by name. Never depends on tensor sizes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pipelineKey } from "./pipeline_cache.ts";
 * import { maxpool2d } from "../../kernels/maxpool2d.ts";
 * assert.equal(pipelineKey(maxpool2d, { KSIZE: 3 }), "maxpool2d|KSIZE=3,STRIDE=1,WG=64");
 * ```
 */
export function pipelineKey<O extends string>(
  spec: KernelSpec<string, O>,
  overrides?: Readonly<Partial<Record<O, number>>>,
): string {
  const full = resolveOverrides(spec, overrides) as Record<string, number>;
  const parts = Object.keys(full).sort().map((k) => `${k}=${full[k]}`);
  return `${spec.name}|${parts.join(",")}`;
}

/** Pipelines, layouts and shader modules of one device, each created once. */
export class PipelineCache {
  readonly device: GPUDevice;
  #pipelines = new Map<string, Promise<CompiledKernel>>();
  #modules = new Map<string, GPUShaderModule>();
  #layouts = new Map<string, [GPUBindGroupLayout, GPUPipelineLayout]>();
  #dummies = new Map<string, GPUBuffer>();

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** Number of distinct pipelines requested so far. */
  get size(): number {
    return this.#pipelines.size;
  }

  /**
   * A 16-byte zeroed storage buffer to bind to binding `name` where a kernel's optional input is switched off:
   * one per binding name, so that no dispatch binds one buffer twice (WebGPU forbids that where one of the
   * bindings is writable).
   */
  dummyFor(name: string): GPUBuffer {
    let buffer = this.#dummies.get(name);
    if (!buffer) {
      buffer = this.device.createBuffer({ label: `dummy.${name}`, size: 16, usage: GPUBufferUsage.STORAGE });
      this.#dummies.set(name, buffer);
    }
    return buffer;
  }

  /**
   * The pipeline for `spec` with `overrides` over its defaults, compiled on first request
   * (concurrent requests share one compilation).
   *
   * @throws {RangeError} For an unknown override or a combination the spec rejects.
   * @throws {Error} When WebGPU rejects the shader or pipeline, naming the pipeline key.
   */
  get<P extends string, O extends string>(
    spec: KernelSpec<P, O>,
    overrides?: Readonly<Partial<Record<O, number>>>,
  ): Promise<CompiledKernel<P, O>> {
    const key = pipelineKey(spec, overrides);
    let entry = this.#pipelines.get(key);
    if (!entry) {
      entry = this.#compile(spec as unknown as KernelSpec, key, resolveOverrides(spec, overrides));
      this.#pipelines.set(key, entry);
      entry.catch(() => this.#pipelines.delete(key));
    }
    return entry as unknown as Promise<CompiledKernel<P, O>>;
  }

  async #compile(spec: KernelSpec, key: string, overrides: Record<string, number>): Promise<CompiledKernel> {
    const device = this.device;
    const [layout, pipelineLayout] = this.#layoutsOf(spec);
    const pipeline = await withErrorScope(device, key, async () => {
      let module = this.#modules.get(spec.name);
      if (!module) {
        module = device.createShaderModule({ label: spec.name, code: spec.code });
        this.#modules.set(spec.name, module);
        const info = await module.getCompilationInfo();
        const errors = info.messages.filter((m) => m.type === "error");
        if (errors.length > 0) {
          this.#modules.delete(spec.name);
          const first = errors[0];
          throw new Error(
            `Fix WGSL of kernel "${spec.name}" at line ${first.lineNum}:${first.linePos}: ${first.message}`,
          );
        }
      }
      return await device.createComputePipelineAsync({
        label: key,
        layout: pipelineLayout,
        compute: { module, entryPoint: entryPointOf(spec, overrides), constants: overrides },
      });
    });
    return { spec, key, overrides, pipeline, layout };
  }

  #layoutsOf(spec: KernelSpec): [GPUBindGroupLayout, GPUPipelineLayout] {
    let pair = this.#layouts.get(spec.name);
    if (!pair) {
      const layout = this.device.createBindGroupLayout({
        label: spec.name,
        entries: spec.bindings.map((binding, i) => ({
          binding: i,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: BUFFER_TYPE[binding.access] },
        })),
      });
      const pipelineLayout = this.device.createPipelineLayout({
        label: spec.name,
        bindGroupLayouts: [layout],
      });
      pair = [layout, pipelineLayout];
      this.#layouts.set(spec.name, pair);
    }
    return pair;
  }

  /**
   * A bind group for `kernel` from buffers named as in its spec (`{ x, w, b, r, y, params }`).
   *
   * @param kernel A compiled kernel from {@linkcode PipelineCache.get}.
   * @param resources One buffer (or buffer range) per binding name.
   * @param label Label of the bind group. @default {kernel.key}
   * @throws {RangeError} For a missing or unknown binding name, a misaligned range offset, or one buffer bound
   * twice where one of the bindings is writable.
   */
  bindGroup(
    kernel: CompiledKernel<string, string>,
    resources: Readonly<Record<string, BindingResource>>,
    label: string = kernel.key,
  ): GPUBindGroup {
    const { spec } = kernel;
    const names = new Set(spec.bindings.map((b) => b.name));
    for (const name of Object.keys(resources)) {
      if (!names.has(name)) {
        throw new RangeError(
          `Bind only ${[...names].join(", ")} for "${label}": "${name}" is not a binding of ${spec.name}`,
        );
      }
    }
    const limits = this.device.limits;
    const entries = spec.bindings.map((binding, i): GPUBindGroupEntry => {
      const resource = resources[binding.name];
      if (!resource) throw new RangeError(`Bind buffer "${binding.name}" for "${label}": it is missing`);
      // Not `instanceof GPUBuffer`: a device from another WebGPU implementation (Dawn) has its own classes.
      const range = "buffer" in resource ? resource : { buffer: resource };
      const align = binding.access === "uniform"
        ? limits.minUniformBufferOffsetAlignment
        : limits.minStorageBufferOffsetAlignment;
      if ((range.offset ?? 0) % align !== 0) {
        throw new RangeError(
          `Align the offset of binding "${binding.name}" for "${label}" to ${align} bytes: got ${range.offset}`,
        );
      }
      return { binding: i, resource: range };
    });
    // WebGPU (and Dawn, which checks it; wgpu does not) forbids a buffer bound twice in one dispatch where one
    // of the bindings is writable: a kernel must reach such a buffer through one binding (R_IN_Y, X_IN_Y).
    const bound = new Map<GPUBuffer, string[]>();
    for (const [i, binding] of spec.bindings.entries()) {
      const buffer = (entries[i].resource as GPUBufferBinding).buffer;
      bound.set(buffer, [...(bound.get(buffer) ?? []), binding.name]);
    }
    const writable = new Set(spec.bindings.filter((b) => b.access === "read_write").map((b) => b.name));
    for (const [buffer, names] of bound) {
      if (names.length > 1 && names.some((n) => writable.has(n))) {
        throw new RangeError(
          `Bind ${names.join(" and ")} of "${label}" to different buffers: all are ${
            buffer.label || "one buffer"
          }, and WebGPU forbids a buffer bound twice where a binding is writable`,
        );
      }
    }
    return this.device.createBindGroup({ label, layout: kernel.layout, entries });
  }

  /**
   * A uniform buffer holding packed Params values for one dispatch of `spec`.
   *
   * @param spec The kernel.
   * @param values One number per Params field.
   * @param label Buffer label. @default {`${spec.name}.params`}
   * @throws {RangeError} When a value is missing or out of range for its field type.
   */
  params<P extends string>(
    spec: KernelSpec<P, string>,
    values: Readonly<Record<P, number>>,
    label = `${spec.name}.params`,
  ): GPUBuffer {
    const bytes = packParams(spec, values);
    const buffer = this.device.createBuffer({
      label,
      size: paramsByteLength(spec as KernelSpec),
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(buffer, 0, bytes);
    return buffer;
  }
}
