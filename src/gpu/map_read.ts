/**
 * Reading MAP_READ buffers back: the engine's readbacks go through here, which knows whether this WebGPU
 * implementation's read maps are done when `mapAsync()` returns, probed once per device on a 16-byte buffer
 * rather than assumed from the implementation's name. Ranges are copied out before `unmap()`, which detaches
 * them (on Deno's WebGPU as in the spec).
 *
 * Deno 2.9.6 (`ext/webgpu/buffer.rs`) polls the device with `wait` inside the `mapAsync()` call itself, which
 * blocks until the GPU is idle and runs the map's callback, and then resolves the promise only after a 10 ms
 * sleep in its poll loop: every awaited readback costs >= 10 ms, however little the GPU had to do. Where the
 * range can be read as soon as the call returns, a read is `mapAsync()`, `getMappedRange()`, `unmap()`, and the
 * promise settles on its own later (its result is not needed; a rejection is ignored there, the read having
 * succeeded). `bench/gap.ts` times both ways.
 *
 * That early read leans on what Deno does, not on the spec (which has `getMappedRange()` throw while the map
 * is pending), so it is guarded twice: a buffer reads early only after one awaited read map of it has settled
 * (Deno 2.9.6 panics, aborting the process, when `getMappedRange()` runs before the first settled map of a
 * buffer: it unwraps the map mode that settling records, and unmap does not clear it); and where the early
 * `getMappedRange()` throws (a map not done when the call returns), that read awaits the promise as the spec
 * has it. An implementation that checks the map state, as the spec asks, fails the probe: none of its reads
 * tries early.
 *
 * @module
 */

/** How read maps behave on a device (see the module doc). */
export interface ReadBehaviour {
  /** A read map is done when `mapAsync()` returns, its promise settling later (Deno). */
  early: boolean;
}

/** A range of the mapped buffer (bytes `offset` .. `offset + size`), as an ArrayBuffer that outlives unmap. */
export type MappedRange = (offset?: number, size?: number) => ArrayBuffer;

/** Reads a device's MAP_READ buffers back (see the module doc). */
export class MapReader {
  readonly device: GPUDevice;
  #behaviour?: Promise<ReadBehaviour>;
  /** Buffers one awaited read map of which has settled: they may read early. */
  readonly #settled = new WeakSet<GPUBuffer>();

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /**
   * How read maps behave here, probed on first use. On Deno the probe blocks until the GPU is idle: a caller
   * that submits work to overlap with its own awaits this first.
   */
  behaviour(): Promise<ReadBehaviour> {
    return this.#behaviour ??= probeReadBehaviour(this.device);
  }

  /**
   * Maps `buffer` (a MAP_READ buffer whose copies have been submitted) for reading, calls `use` with a getter
   * of its ranges, and unmaps it once `use` has returned or settled, also when it throws.
   */
  async mapped<T>(buffer: GPUBuffer, use: (range: MappedRange) => T | Promise<T>): Promise<T> {
    const { early } = await this.behaviour();
    const pending = buffer.mapAsync(GPUMapMode.READ);
    let done = false;
    if (early && this.#settled.has(buffer)) {
      pending.catch(() => {});
      try {
        buffer.getMappedRange(0, 4);
        done = true;
      } catch {
        // Not done when mapAsync() returned (should the device's wait give up early): await this one.
      }
    }
    if (!done) {
      await pending;
      this.#settled.add(buffer);
    }
    try {
      return await use((offset = 0, size = buffer.size - offset) =>
        buffer.getMappedRange(offset, size).slice(0)
      );
    } finally {
      buffer.unmap();
    }
  }

  /** Bytes `offset` .. `offset + size` of `buffer` (see {@linkcode mapped}). */
  read(buffer: GPUBuffer, offset = 0, size: number = buffer.size - offset): Promise<ArrayBuffer> {
    return this.mapped(buffer, (range) => range(offset, size));
  }
}

/** Probes {@linkcode ReadBehaviour} on a 16-byte buffer of `device`. */
async function probeReadBehaviour(device: GPUDevice): Promise<ReadBehaviour> {
  const probe = device.createBuffer({
    label: "readback.probe",
    size: 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    // Each write is followed by a submit: wgpu's mapAsync does not flush queued writes, a submit does. The
    // first map is awaited, so that the early one cannot be the buffer's first (see the module doc).
    device.queue.writeBuffer(probe, 0, new Uint32Array([1, 2, 3, 4]));
    device.queue.submit([]);
    await probe.mapAsync(GPUMapMode.READ);
    probe.unmap();
    device.queue.writeBuffer(probe, 0, new Uint32Array([5, 6, 7, 8]));
    device.queue.submit([]);
    const pending = probe.mapAsync(GPUMapMode.READ);
    pending.catch(() => {});
    let early = false;
    try {
      early = new Uint32Array(probe.getMappedRange(0, 16))[3] === 8;
    } catch {
      await pending;
    }
    probe.unmap();
    return { early };
  } catch {
    return { early: false };
  } finally {
    probe.destroy();
  }
}
