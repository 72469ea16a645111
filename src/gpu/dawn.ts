/**
 * Dawn, Chromium's WebGPU implementation, as a second WebGPU for Deno: its Node-API build (`npm:webgpu`)
 * loaded on first use. The same kernels and executor run on it; what differs is the host side: Deno 2.9.6's
 * built-in WebGPU resolves every `mapAsync` (every readback) at least 10 ms after it starts (it polls the
 * device in a loop with a 10 ms sleep), Dawn as soon as the GPU is done (`bench/gap.ts --webgpu dawn`).
 *
 * On a GPU, Dawn's default backend (Vulkan on Linux) is used; where it finds no adapter (Mesa's lavapipe
 * lacks a Vulkan feature Dawn requires), its OpenGL backend in compatibility mode over EGL (surfaceless),
 * which reaches Mesa's llvmpipe.
 *
 * @module
 */

import { importDawn } from "../_deps.ts";
import { envVar } from "../env.ts";

/** What `npm:webgpu` exports: `create(flags)` gives a `GPU` (navigator.gpu) of its own. */
interface DawnModule {
  create(flags: string[]): GPU;
}

/** Dawn flags: exact GPU timestamps (Chromium rounds them to 100 µs unless told not to). */
const FLAGS = ["disable-dawn-features=timestamp_quantization"];

// Each `GPU` instance stays referenced for the life of the process: its devices live on it.
const instances: GPU[] = [];

/**
 * Requests an adapter from Dawn: its default backend first, then OpenGL (compatibility mode) over a
 * surfaceless EGL display.
 *
 * @param powerPreference Adapter preference for the default backend.
 * @returns The adapter, or null when Dawn finds none.
 * @throws {Error} When `npm:webgpu` cannot be loaded (not downloadable, or no build for this platform).
 */
export async function requestDawnAdapter(powerPreference: GPUPowerPreference): Promise<GPUAdapter | null> {
  let dawn: DawnModule;
  try {
    dawn = await importDawn() as DawnModule;
  } catch (e) {
    throw new Error(
      `Cannot load Dawn (npm:webgpu@0.6.2) for webgpu=dawn: ${e instanceof Error ? e.message : e}`,
    );
  }
  const gpu = dawn.create(FLAGS);
  instances.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (adapter) return adapter;
  // Mesa's EGL needs a platform without a display server.
  if (!envVar("EGL_PLATFORM")) Deno.env.set("EGL_PLATFORM", "surfaceless");
  const gl = dawn.create([...FLAGS, "backend=opengl"]);
  instances.push(gl);
  return await gl.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions);
}
