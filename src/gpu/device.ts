/**
 * The WebGPU device: adapter request with the adapter's real maxima for the limits the kernels
 * need, optional features (`shader-f16`, `timestamp-query`) when present, and error surfacing.
 *
 * @module
 */
import * as log from "../log.ts";
import { requestDawnAdapter } from "./dawn.ts";
import { envVar } from "../env.ts";
import { MapReader } from "./map_read.ts";
import { subgroupsWork } from "./subgroups.ts";

/** The one-line error when no WebGPU adapter exists. */
export const NO_ADAPTER_MESSAGE =
  "No WebGPU adapter found: install mesa-vulkan-drivers (apt-get install -y mesa-vulkan-drivers) or run on a machine with a GPU";

/** Limits requested at the adapter's maximum rather than WebGPU's defaults. */
export const REQUESTED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
] as const;

/** Optional features the device was created with. */
export interface GpuFeatures {
  /** `shader-f16`: WGSL `enable f16;` variants may be used. */
  f16: boolean;
  /** `timestamp-query`: passes may record GPU timestamps. */
  timestamps: boolean;
  /**
   * `subgroups`, requested on software adapters only, with whole subgroups of {@linkcode simdLanes} lanes
   * (`subgroupsWork`): the uniform convs read weights through shuffles (`conv2d_uniform_subgroups`).
   */
  subgroups: boolean;
}

/** The WebGPU implementations {@linkcode requestGpu} can use. */
export const WEBGPU_NAMES = ["deno", "dawn"] as const;

/** One of {@linkcode WEBGPU_NAMES}. */
export type WebGpuName = typeof WEBGPU_NAMES[number];

/** The environment variable naming the WebGPU implementation when no `webgpu` option is given. */
export const WEBGPU_ENV = "YOLO_WGSL_WEBGPU";

/** A ready device with what it supports. */
export interface Gpu {
  /** The adapter, or `null` when the caller supplied the device. */
  adapter: GPUAdapter | null;
  device: GPUDevice;
  features: GpuFeatures;
  limits: GPUSupportedLimits;
  /** A CPU-backed adapter (lavapipe, SwiftShader): kernels prefer few, large workgroups there. */
  software: boolean;
  /** Reads the device's MAP_READ buffers back (without Deno's 10 ms wait where that is safe). */
  reader: MapReader;
}

/** Options of {@linkcode requestGpu}. */
export interface GpuOptions {
  /** Use this device instead of requesting one (its features and limits are read from it). */
  device?: GPUDevice;
  /**
   * The WebGPU implementation: `"deno"`, Deno's built-in one (wgpu), or `"dawn"`, Chromium's, loaded from
   * `npm:webgpu` (see `dawn.ts`: same kernels and results; readbacks resolve when the GPU is done instead of
   * 10 ms or more later). @default `$YOLO_WGSL_WEBGPU`, else `"deno"`
   */
  webgpu?: WebGpuName;
  /** Adapter preference. @default {"high-performance"} */
  powerPreference?: GPUPowerPreference;
  /** Enable `shader-f16` when the adapter has it. @default {true} */
  f16?: boolean;
  /** Enable `timestamp-query` when the adapter has it. @default {true} */
  timestamps?: boolean;
  /**
   * On a software adapter, enable `subgroups` where the device can be created with it (Deno 2.9.6 lists no
   * `subgroups` among lavapipe's adapter features, yet creates devices with it) and subgroups work as
   * `conv2d_uniform_subgroups` needs. @default {true}
   */
  subgroups?: boolean;
  /**
   * Called with each uncaptured GPU error (validation, out-of-memory, internal). By default the
   * error is printed as one line naming the error kind and the labelled object when the message
   * has one. Errors inside {@linkcode withErrorScope} are thrown instead.
   */
  onError?: (error: GPUError) => void;
}

/**
 * Requests an adapter and device (or wraps a given device), installing the uncaptured-error and
 * device-lost handlers.
 *
 * @param options See {@linkcode GpuOptions}.
 * @returns The device with its features and limits.
 * @throws {Error} {@linkcode NO_ADAPTER_MESSAGE} when no adapter is available.
 *
 * @example
 * ```ts ignore
 * const { device, features } = await requestGpu();
 * console.log(features.f16, device.limits.maxStorageBufferBindingSize);
 * ```
 */
export async function requestGpu(options: GpuOptions = {}): Promise<Gpu> {
  let adapter: GPUAdapter | null = null;
  let device = options.device;
  if (!device) {
    const powerPreference = options.powerPreference ?? "high-performance";
    const webgpu = (options.webgpu ?? envVar(WEBGPU_ENV) ?? "deno") as WebGpuName;
    if (!WEBGPU_NAMES.includes(webgpu)) {
      throw new RangeError(`Set webgpu (or $${WEBGPU_ENV}) to ${WEBGPU_NAMES.join(" or ")}: got ${webgpu}`);
    }
    adapter = webgpu === "dawn"
      ? await requestDawnAdapter(powerPreference)
      : typeof navigator !== "undefined" && navigator.gpu
      ? await navigator.gpu.requestAdapter({ powerPreference })
      : null;
    if (!adapter) throw new Error(webgpu === "dawn" ? `Dawn: ${NO_ADAPTER_MESSAGE}` : NO_ADAPTER_MESSAGE);
    const requiredFeatures: GPUFeatureName[] = [];
    if ((options.f16 ?? true) && adapter.features.has("shader-f16")) requiredFeatures.push("shader-f16");
    if ((options.timestamps ?? true) && adapter.features.has("timestamp-query")) {
      requiredFeatures.push("timestamp-query");
    }
    const requiredLimits: Record<string, number> = {};
    for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];
    const descriptor = { label: "yolo-wgsl", requiredFeatures, requiredLimits };
    if ((options.subgroups ?? true) && softwareAdapter(adapter.info)) {
      // A refused feature rejects the request before the adapter is used: ask again without it.
      const features: GPUFeatureName[] = [...requiredFeatures, "subgroups" as GPUFeatureName];
      device = await adapter.requestDevice({ ...descriptor, requiredFeatures: features }).catch(() =>
        undefined
      );
    }
    device ??= await adapter.requestDevice(descriptor);
  }
  const onError = options.onError ?? ((error: GPUError) => log.error(describeGpuError(error)));
  device.addEventListener("uncapturederror", (event) => onError((event as GPUUncapturedErrorEvent).error));
  device.lost.then((info) => {
    if (info.reason !== "destroyed") log.error(`WebGPU device lost: ${info.message}`);
  });
  const software = softwareAdapter(adapter?.info, device.adapterInfo);
  const reader = new MapReader(device);
  const subgroups = software && (options.subgroups ?? true) &&
    await subgroupsWork(device, simdLanes({ adapter, device }), reader);
  return {
    software,
    adapter,
    device,
    features: {
      f16: device.features.has("shader-f16"),
      timestamps: device.features.has("timestamp-query"),
      subgroups,
    },
    limits: device.limits,
    reader,
  };
}

/**
 * Whether an adapter is CPU-backed (lavapipe, llvmpipe, SwiftShader, or a fallback adapter), from every field
 * of its info (Dawn's OpenGL backend names llvmpipe in `device`, not `description`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softwareAdapter } from "./device.ts";
 * const info = { vendor: "65541", architecture: "", device: "0", description: "llvmpipe (LLVM 15.0.6, 256 bits)" };
 * assert.equal(softwareAdapter(info as GPUAdapterInfo), true);
 * assert.equal(softwareAdapter({ ...info, description: "NVIDIA H200" } as GPUAdapterInfo), false);
 * ```
 */
export function softwareAdapter(...infos: (GPUAdapterInfo | undefined)[]): boolean {
  const text = (i?: GPUAdapterInfo) => i ? `${i.vendor} ${i.architecture} ${i.device} ${i.description}` : "";
  return infos.some((i) => !!i?.isFallbackAdapter) ||
    /llvmpipe|lavapipe|swiftshader/i.test(infos.map(text).join(" "));
}

/**
 * The SIMD lanes of `gpu`'s adapter: its largest subgroup size (8 on a 256-bit llvmpipe, 16 on a 512-bit
 * one), or 8 where the adapter does not say.
 *
 * @example
 * ```ts ignore
 * const lanes = simdLanes(await requestGpu());
 * ```
 */
export function simdLanes(gpu: Pick<Gpu, "adapter" | "device">): number {
  const size = gpu.adapter?.info.subgroupMaxSize ?? gpu.device.adapterInfo?.subgroupMaxSize;
  return typeof size === "number" && Number.isInteger(size) && size >= 1 && size <= 128 ? size : 8;
}

/** One line for a GPU error: its kind, then its message (which names labelled objects). */
export function describeGpuError(error: GPUError, label?: string): string {
  // By class name, not `instanceof`: a device from another WebGPU implementation (Dawn) has its own classes.
  const name = error.constructor?.name;
  const kind = name === "GPUValidationError"
    ? "validation error"
    : name === "GPUOutOfMemoryError"
    ? "out of memory"
    : "internal error";
  const where = label ? ` in "${label}"` : "";
  return `WebGPU ${kind}${where}: ${error.message.trim().replaceAll(/\s*\n\s*/g, " ")}`;
}

/**
 * Runs `fn` inside validation and out-of-memory error scopes and throws the first error raised,
 * prefixed with `label` (the object or kernel being created or run), so failures name the culprit.
 *
 * @param device The device.
 * @param label What `fn` creates or runs, e.g. `"conv2d|ACT=1,KSIZE=3"`.
 * @param fn Work that issues GPU calls.
 * @returns What `fn` returned.
 * @throws {Error} `WebGPU validation error in "<label>": <message>` when the scope caught one.
 */
export async function withErrorScope<T>(
  device: GPUDevice,
  label: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let result: { value: T } | { thrown: unknown };
  try {
    result = { value: await fn() };
  } catch (thrown) {
    result = { thrown };
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  const error = validation ?? oom;
  // A GPU error explains a failure better than what it caused on the JS side.
  if (error) throw new Error(describeGpuError(error, label));
  if ("thrown" in result) throw result.thrown;
  return result.value;
}
