/**
 * Letterboxing on the GPU with the `letterbox` kernel: the same bytes-in, floats-out transform as
 * `letterboxInto` (src/data/letterbox.ts), bit for bit, recorded into the caller's command encoder so that the model
 * input is written in the same command buffer as the forward that reads it.
 *
 * @module
 */
import { letterbox, LETTERBOX_MODE, type LetterboxParam } from "../../kernels/letterbox.ts";
import { packParams, paramsByteLength } from "../../kernels/_spec.ts";
import type { CompiledKernel, PipelineCache } from "../gpu/pipeline_cache.ts";
import type { Image } from "../io/image.ts";
import { type LetterboxGeometry, letterboxGeometry, type LetterboxIntoOptions } from "./letterbox.ts";
import { resizePath, taps } from "./resize.ts";

/** Options of {@linkcode GpuLetterbox.encode}: the letterbox options, the offset and a staging slot. */
export interface LetterboxGpuOptions extends LetterboxIntoOptions {
  /**
   * Which staging buffers (image bytes, Params) to use: images recorded into one command buffer need
   * distinct slots (their uploads all land before it runs), e.g. the batch index.
   * @default {0}
   */
  slot?: number;
}

/** Everything one dispatch needs, computed on the CPU. */
export interface LetterboxPlan {
  /** Where the image lands. */
  geometry: LetterboxGeometry;
  /** The kernel's Params values. */
  params: Record<LetterboxParam, number>;
  /** The `t` binding: 256 LUT floats as bits, then column and row taps in bilinear mode. */
  tables: Uint32Array<ArrayBuffer>;
}

/**
 * The CPU half of a GPU letterbox: geometry, Params and the kernel's tables (the `v / 255` LUT exactly
 * as `letterboxInto` rounds it, and OpenCV's fixed-point taps from src/data/resize.ts).
 *
 * @param img The image (only its size is read).
 * @param options Target size, mode, offset.
 * @returns The plan.
 * @throws {RangeError} When a size is not a positive integer.
 */
export function letterboxPlan(
  img: Pick<Image, "width" | "height">,
  options: LetterboxIntoOptions = {},
): LetterboxPlan {
  const { offset = 0, padValue = 114 } = options;
  const geometry = letterboxGeometry([img.height, img.width], options);
  const [outH, outW] = geometry.letterboxShape;
  const [resizedW, resizedH] = geometry.newUnpad;
  const path = resizePath([img.width, img.height], [resizedW, resizedH]);
  const lutLen = 256;
  const words = new Int32Array(lutLen + (path.kind === "bilinear" ? 3 * (resizedW + resizedH) : 0));
  const lut = new Float32Array(words.buffer, 0, lutLen);
  for (let v = 0; v < lutLen; v++) lut[v] = v / 255;
  if (path.kind === "bilinear") {
    const xt = taps(resizedW, img.width, path.scaleX, true);
    const yt = taps(resizedH, img.height, path.scaleY, false);
    let i = lutLen;
    for (const { ofs, w0, w1 } of [xt, yt]) {
      for (let d = 0; d < ofs.length; d++, i += 3) words.set([ofs[d], w0[d], w1[d]], i);
    }
  }
  const { top, left } = geometry.border;
  const params = {
    srcW: img.width,
    srcH: img.height,
    resizedW,
    resizedH,
    outW,
    outH,
    top,
    left,
    offset,
    mode: LETTERBOX_MODE[path.kind],
    pad: padValue,
  };
  return { geometry, params, tables: new Uint32Array(words.buffer) };
}

interface Slot {
  image: GPUBuffer;
  params: GPUBuffer;
  bindGroup?: GPUBindGroup;
  bound?: [GPUBuffer, GPUBuffer];
}

/**
 * The letterbox kernel bound to one device: its pipeline (compiled once), a staging image and Params
 * buffer per slot (grown as needed, then reused) and the tables of recent geometries.
 *
 * @example
 * ```ts ignore
 * const lb = await GpuLetterbox.create(cache);
 * const encoder = device.createCommandEncoder();
 * const g = lb.encode(encoder, img, input, { auto: true }); // then the forward's passes
 * device.queue.submit([encoder.finish()]);
 * ```
 */
export class GpuLetterbox {
  readonly #cache: PipelineCache;
  readonly #kernel: CompiledKernel<LetterboxParam, "WG">;
  readonly #slots = new Map<number, Slot>();
  readonly #tables = new Map<string, GPUBuffer>();

  private constructor(cache: PipelineCache, kernel: CompiledKernel<LetterboxParam, "WG">) {
    this.#cache = cache;
    this.#kernel = kernel;
  }

  /** Compiles (or takes from `cache`) the letterbox pipeline. */
  static async create(cache: PipelineCache): Promise<GpuLetterbox> {
    return new GpuLetterbox(cache, await cache.get(letterbox));
  }

  /**
   * Uploads `img` and records the letterbox of it into `out` (NCHW float32, `[3, H, W]` at element
   * `offset`) as one compute pass of `encoder`.
   *
   * @param encoder The command encoder to record into.
   * @param img The decoded RGB image.
   * @param out A storage buffer large enough for `offset + 3 * H * W` floats.
   * @param options Target size, mode, offset and staging slot.
   * @returns The image's geometry.
   * @throws {RangeError} When a size is not a positive integer or the image does not fit in `out`.
   */
  encode(
    encoder: GPUCommandEncoder,
    img: Image,
    out: GPUBuffer,
    options: LetterboxGpuOptions = {},
  ): LetterboxGeometry {
    const { geometry, params, tables } = letterboxPlan(img, options);
    const need = (params.offset + 3 * params.outW * params.outH) * 4;
    if (!Number.isInteger(params.offset) || params.offset < 0 || need > out.size) {
      throw new RangeError(
        `Cannot letterbox: ${need} bytes at offset ${params.offset} do not fit in buffer "${out.label}" of ${out.size}`,
      );
    }
    const device = this.#cache.device;
    const slot = this.#slot(options.slot ?? 0, img.data.byteLength);
    const t = this.#tablesFor(params, tables);
    const bytes = img.data.byteLength;
    const padded = Math.ceil(bytes / 4) * 4;
    const data = img.data;
    if (padded === bytes && data.buffer instanceof ArrayBuffer) {
      device.queue.writeBuffer(slot.image, 0, data.buffer, data.byteOffset, bytes);
    } else {
      const copy = new Uint8Array(padded);
      copy.set(img.data);
      device.queue.writeBuffer(slot.image, 0, copy);
    }
    device.queue.writeBuffer(slot.params, 0, packParams(letterbox, params));
    if (!slot.bindGroup || slot.bound?.[0] !== t || slot.bound[1] !== out) {
      slot.bindGroup = this.#cache.bindGroup(this.#kernel, { x: slot.image, t, y: out, params: slot.params });
      slot.bound = [t, out];
    }
    const pass = encoder.beginComputePass({ label: letterbox.name });
    pass.setPipeline(this.#kernel.pipeline);
    pass.setBindGroup(0, slot.bindGroup);
    pass.dispatchWorkgroups(...letterbox.dispatch(params, this.#kernel.overrides));
    pass.end();
    return geometry;
  }

  /** Frees the staging and table buffers (the pipeline stays in the cache). */
  destroy(): void {
    for (const s of this.#slots.values()) s.image.destroy(), s.params.destroy();
    for (const t of this.#tables.values()) t.destroy();
    this.#slots.clear();
    this.#tables.clear();
  }

  #slot(index: number, bytes: number): Slot {
    let slot = this.#slots.get(index);
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (slot && slot.image.size < size) {
      slot.image.destroy();
      slot.image = this.#createImage(size, index);
      slot.bindGroup = undefined;
    }
    if (!slot) {
      const params = this.#cache.device.createBuffer({
        label: `letterbox.params.${index}`,
        size: paramsByteLength(letterbox),
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      slot = { image: this.#createImage(size, index), params };
      this.#slots.set(index, slot);
    }
    return slot;
  }

  #createImage(size: number, index: number): GPUBuffer {
    return this.#cache.device.createBuffer({
      label: `letterbox.x.${index}`,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
  }

  #tablesFor(params: Record<LetterboxParam, number>, tables: Uint32Array<ArrayBuffer>): GPUBuffer {
    const p = params;
    const key = `${p.srcW}x${p.srcH}>${p.resizedW}x${p.resizedH}`;
    let buffer = this.#tables.get(key);
    if (!buffer) {
      if (this.#tables.size >= 8) {
        // Dropped, not destroyed: a command buffer recorded but not yet submitted may still use it.
        this.#tables.delete(this.#tables.keys().next().value!);
      }
      buffer = this.#cache.device.createBuffer({
        label: `letterbox.t.${key}`,
        size: Math.max(16, Math.ceil(tables.byteLength / 16) * 16),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      this.#cache.device.queue.writeBuffer(buffer, 0, tables);
      this.#tables.set(key, buffer);
    }
    return buffer;
  }
}
