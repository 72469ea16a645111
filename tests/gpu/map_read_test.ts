import assert from "node:assert/strict";
import { MapReader } from "../../src/gpu/map_read.ts";
import { testGpu } from "../_gpu.ts";

const MAP_READ = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;

/** Submits a copy of `values` into `staging` through a storage buffer (a GPU copy, as a forward's readback). */
function copyInto(device: GPUDevice, staging: GPUBuffer, values: Uint32Array<ArrayBuffer>): void {
  const src = device.createBuffer({
    size: staging.size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(src, 0, values);
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(src, 0, staging, 0, staging.size);
  device.queue.submit([encoder.finish()]);
  src.destroy();
}

Deno.test("MapReader: each read of one buffer returns that round's bytes; ranges; unmapped after use throws", async () => {
  const { gpu, device } = await testGpu();
  const behaviour = await gpu.reader.behaviour();
  // Deno's WebGPU maps before mapAsync returns; Dawn (YOLO_WGSL_WEBGPU=dawn) when its promise settles.
  assert.deepEqual(behaviour, { early: Deno.env.get("YOLO_WGSL_WEBGPU") !== "dawn" });
  const staging = device.createBuffer({ size: 64, usage: MAP_READ });
  try {
    // The first read of the buffer awaits its map, later ones read early where the implementation allows.
    for (let round = 0; round < 5; round++) {
      const values = Uint32Array.from({ length: 16 }, (_, i) => round * 100 + i);
      copyInto(device, staging, values);
      if (round % 2 === 0) {
        assert.deepEqual(new Uint32Array(await gpu.reader.read(staging)), values, `round ${round}`);
      } else {
        assert.deepEqual(new Uint32Array(await gpu.reader.read(staging, 8, 16)), values.subarray(2, 6));
      }
    }
    copyInto(device, staging, Uint32Array.from({ length: 16 }, (_, i) => 7 * i));
    const parts = await gpu.reader.mapped(staging, async (range) => {
      const head = new Uint32Array(range(0, 8));
      await Promise.resolve();
      return [head, new Uint32Array(range(32, 32))];
    });
    assert.deepEqual(parts, [
      new Uint32Array([0, 7]),
      Uint32Array.from({ length: 8 }, (_, i) => 7 * (8 + i)),
    ]);
    // A use that throws leaves the buffer unmapped: the next read works.
    await assert.rejects(
      gpu.reader.mapped(staging, () => {
        throw new Error("use failed");
      }),
      /use failed/,
    );
    copyInto(device, staging, new Uint32Array(16).fill(9));
    assert.deepEqual(new Uint32Array(await gpu.reader.read(staging, 0, 8)), new Uint32Array([9, 9]));
  } finally {
    staging.destroy();
  }
});

Deno.test("MapReader: a new buffer's first read waits for its map (never early); many buffers in turn", async () => {
  const { device } = await testGpu();
  const reader = new MapReader(device);
  const buffers = Array.from({ length: 4 }, () => device.createBuffer({ size: 16, usage: MAP_READ }));
  try {
    for (let round = 0; round < 3; round++) {
      buffers.forEach((b, i) => copyInto(device, b, new Uint32Array([round, i, 0, 1])));
      const read = await Promise.all(buffers.map((b) => reader.read(b)));
      read.forEach((bytes, i) => assert.deepEqual(new Uint32Array(bytes), new Uint32Array([round, i, 0, 1])));
    }
  } finally {
    for (const b of buffers) b.destroy();
  }
});

/**
 * A stand-in implementation: `early` maps inside `mapAsync` (Deno), otherwise when its promise settles (the
 * spec's order: `getMappedRange` throws before). Like Deno 2.9.6 it fails hard on a `getMappedRange` before a
 * buffer's first settled map (recorded in `violations`).
 */
class FakeImplementation {
  early = true;
  earlyRanges = 0;
  refused = 0;
  violations = 0;
  readonly device = {
    createBuffer: ({ size }: { size: number }) => new FakeBuffer(this, size),
    queue: {
      submit: () => {},
      writeBuffer: (buffer: FakeBuffer, offset: number, data: Uint32Array) => {
        buffer.bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
      },
    },
  } as unknown as GPUDevice;
}

class FakeBuffer {
  readonly bytes: Uint8Array;
  mapState: GPUBufferMapState = "unmapped";
  #mapped = false;
  #settledOnce = false;
  #pending = false;
  #generation = 0;
  constructor(readonly impl: FakeImplementation, readonly size: number) {
    this.bytes = new Uint8Array(size);
  }
  mapAsync(): Promise<void> {
    const generation = ++this.#generation;
    this.mapState = "pending";
    this.#pending = true;
    if (this.impl.early) this.#mapped = true;
    return new Promise((resolve) =>
      setTimeout(() => {
        // Settling records the map mode even after an early unmap (Deno), but maps only a map still wanted.
        this.#settledOnce = true;
        if (generation === this.#generation) {
          this.#mapped = true;
          this.#pending = false;
          this.mapState = "mapped";
        }
        resolve();
      }, 5)
    );
  }
  getMappedRange(offset = 0, size = this.size - offset): ArrayBuffer {
    if (!this.#settledOnce) this.impl.violations++;
    if (!this.#mapped) {
      this.impl.refused++;
      throw new DOMException("not mapped", "OperationError");
    }
    if (this.#pending) this.impl.earlyRanges++;
    return this.bytes.slice(offset, offset + size).buffer;
  }
  unmap(): void {
    this.#generation++;
    this.#mapped = false;
    this.#pending = false;
    this.mapState = "unmapped";
  }
  destroy(): void {}
}

Deno.test("MapReader: early reads only after a buffer's first settled map; a refused one awaits its map", async () => {
  const impl = new FakeImplementation();
  const reader = new MapReader(impl.device);
  assert.deepEqual(await reader.behaviour(), { early: true });
  const buffer = impl.device.createBuffer({ size: 16, usage: MAP_READ }) as unknown as FakeBuffer;
  const read = async (v: number) => {
    buffer.bytes.set(new Uint8Array(Uint32Array.of(v, v, v, v).buffer));
    return new Uint32Array(await reader.read(buffer as unknown as GPUBuffer))[0];
  };
  const before = impl.earlyRanges;
  assert.equal(await read(1), 1);
  assert.equal(impl.earlyRanges, before, "the first read of a buffer awaits its map");
  assert.equal(await read(2), 2);
  assert.equal(await read(3), 3);
  assert.equal(impl.earlyRanges, before + 4, "later reads are early: a 4-byte check and the range, twice");
  assert.equal(impl.violations, 0, "no range of a buffer before its first settled map");
  // Maps no longer done when mapAsync returns: each early range is refused and its read awaits the map.
  impl.early = false;
  assert.equal(await read(4), 4);
  assert.equal(impl.refused, 1);
  assert.equal(await read(5), 5);
  assert.equal(impl.refused, 2);
  // And done again: early again.
  impl.early = true;
  const early = impl.earlyRanges;
  assert.equal(await read(6), 6);
  assert.equal(impl.earlyRanges, early + 2);
  assert.equal(impl.violations, 0);
  // Where the probe is refused, no read tries early.
  const strict = new FakeImplementation();
  strict.early = false;
  const strictReader = new MapReader(strict.device);
  assert.deepEqual(await strictReader.behaviour(), { early: false });
  const b = strict.device.createBuffer({ size: 16, usage: MAP_READ });
  for (let i = 0; i < 3; i++) await strictReader.read(b);
  assert.equal(strict.refused, 1, "the probe's refused range only");
  assert.equal(strict.earlyRanges, 0);
});
