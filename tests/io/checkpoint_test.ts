import assert from "node:assert/strict";
import { CheckpointError } from "../../src/errors.ts";
import { loadCheckpointFile, readCheckpoint } from "../../src/io/checkpoint.ts";
import { readZip } from "../../src/io/zip.ts";
import { numel } from "../../src/tensor.ts";
import { sharedPath } from "../_shared.ts";
import type { Op } from "./_pickler.ts";
import { checkpointZip, model, module, type ModuleParts, p, parameter } from "./_checkpoint_builder.ts";
import { zipSync } from "fflate";

const ptPath = sharedPath("models/yolo11n-seg-c128.pt");
const ptBytes = Deno.readFileSync(ptPath);
const started = performance.now();
const ckpt = readCheckpoint(ptBytes, "yolo11n-seg-c128.pt");
const readMs = performance.now() - started;

Deno.test("readCheckpoint reads the metadata of a real Ultralytics checkpoint", () => {
  assert.equal(ckpt.file, "yolo11n-seg-c128.pt");
  assert.equal(ckpt.version, "8.3.159");
  assert.match(ckpt.date ?? "", /^\d{4}-\d\d-\d\dT/);
  assert.equal(ckpt.names.length, 80);
  assert.equal(ckpt.names[0], "person");
  assert.deepEqual(ckpt.stride, [8, 16, 32]);
  assert.equal(ckpt.task, "segment");
  assert.equal(ckpt.headClass, "ultralytics.nn.modules.head.Segment");
  assert.equal(ckpt.yaml.nc, 80);
  assert.equal(ckpt.yaml.scale, "n");
  assert.ok(Array.isArray(ckpt.yaml.backbone) && Array.isArray(ckpt.yaml.head));
  assert.deepEqual((ckpt.yaml.head as unknown[]).at(-1), [[16, 19, 22], 1, "Segment", ["nc", 32, 256]]);
  assert.equal(ckpt.args?.task, "segment");
  assert.equal(ckpt.args?.imgsz, 640);
  assert.ok(readMs < 1000, `reading took ${readMs.toFixed(0)} ms`);
});

Deno.test("readCheckpoint collects every parameter and buffer under state-dict names", () => {
  const { state } = ckpt;
  // Every storage in the archive is a state entry except 4 tensors kept as plain attributes:
  // model.stride, and the Segment head's stride, anchors and strides.
  const storages = [...readZip(ptBytes).keys()].filter((name) => name.startsWith("last/data/"));
  assert.equal(state.size + 4, storages.length);
  assert.deepEqual(state.get("model.0.conv.weight")?.shape, [16, 3, 3, 3]);
  assert.equal(state.get("model.0.conv.weight")?.dtype, "f16");
  assert.ok(state.has("model.23.proto.cv1.conv.weight"));
  assert.ok(state.has("model.23.dfl.conv.weight"));
  assert.deepEqual(new Set([...state.values()].map((t) => t.dtype)), new Set(["f16", "i64"]));
  for (const [name, tensor] of state) {
    assert.equal(tensor.data.length, numel(tensor.shape), name);
    assert.ok(tensor.data.every(Number.isFinite), `${name} is finite`);
  }
  // Each BatchNorm has its four tensors and the counter, sized like the output channels of its conv.
  for (const name of [...state.keys()].filter((n) => n.endsWith(".bn.weight"))) {
    const bn = name.slice(0, -".weight".length);
    const channels = state.get(name)!.shape;
    for (const part of ["bias", "running_mean", "running_var"]) {
      assert.deepEqual(state.get(`${bn}.${part}`)?.shape, channels);
    }
    assert.deepEqual(state.get(`${bn}.num_batches_tracked`)?.shape, []);
    assert.ok(state.get(`${bn}.running_var`)!.data.every((v) => v > 0), `${bn}.running_var > 0`);
    assert.equal(state.get(`${bn.slice(0, -".bn".length)}.conv.weight`)?.shape[0], channels[0]);
  }
  // Ultralytics' model table lists YOLO11n-seg at 2.9M parameters.
  let parameters = 0;
  for (const [name, tensor] of state) if (/\.(weight|bias)$/.test(name)) parameters += tensor.data.length;
  assert.ok(parameters > 2.85e6 && parameters < 2.95e6, `${parameters} parameters`);
});

Deno.test("readCheckpoint decodes fp16 weights exactly (oracle: DataView.getFloat16)", () => {
  // torch.save numbers storages in the order it first meets them: the first tensor pickled,
  // model.0.conv.weight, is "last/data/0".
  const raw = readZip(ptBytes).get("last/data/0")!;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const weight = ckpt.state.get("model.0.conv.weight")!.data;
  assert.equal(raw.length, 2 * weight.length);
  weight.forEach((v, i) => assert.equal(v, view.getFloat16(2 * i, true), `element ${i}`));
});

Deno.test("loadCheckpointFile reads the file from a path", async () => {
  const fromFile = await loadCheckpointFile(ptPath);
  assert.equal(fromFile.file, ptPath);
  assert.equal(fromFile.state.size, ckpt.state.size);
});

// Hand-made checkpoints: a pickle written by tests/io/_pickler.ts, zipped as torch.save lays it out.

/** Bytes of `values` written with a DataView setter, `size` bytes each. */
function bytesOf(
  values: number[],
  size: number,
  set: (view: DataView, at: number, v: number) => void,
): Uint8Array {
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => set(view, i * size, v));
  return bytes;
}

const f32 = (values: number[], le = true) => bytesOf(values, 4, (d, at, v) => d.setFloat32(at, v, le));
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);
// Zeros, the smallest and largest subnormals, the smallest normal, 1, -2, the largest finite,
// ±infinity, a NaN and 1/3 rounded.
const halfBits = [
  0x0000,
  0x8000,
  0x0001,
  0x03ff,
  0x0400,
  0x3c00,
  0xc000,
  0x7bff,
  0x7c00,
  0xfc00,
  0x7e00,
  0x3555,
];

Deno.test("readCheckpoint gathers offset and strided views into row-major order", () => {
  // storage "0" holds 0..11; the weight is its [2, 3] view at offset 2 with strides (1, 2):
  // element [i][j] = 2 + i + 2j.
  const weight = parameter(p.tensor(p.storage("FloatStorage", "0", 12), 2, [2, 3], [1, 2]));
  const tail = p.tensor(p.storage("FloatStorage", "0", 12), 9, [3], [1]);
  const scalar = p.tensor(p.storage("FloatStorage", "0", 12), 5, [], []);
  const bytes = checkpointZip(
    model({
      parameters: [["weight", weight], ["bias", p.none]],
      buffers: [["tail", tail], ["scalar", scalar]],
    }),
    {
      "0": f32(iota(12)),
    },
  );
  const { state } = readCheckpoint(bytes);
  assert.deepEqual([...state.keys()], ["model.0.weight", "model.0.tail", "model.0.scalar"]);
  assert.deepEqual(state.get("model.0.weight"), {
    dtype: "f32",
    shape: [2, 3],
    data: new Float32Array([2, 4, 6, 3, 5, 7]),
  });
  assert.deepEqual(state.get("model.0.tail")?.data, new Float32Array([9, 10, 11]));
  assert.deepEqual(state.get("model.0.scalar"), { dtype: "f32", shape: [], data: new Float32Array([5]) });
});

Deno.test("readCheckpoint converts fp16 subnormals, infinities and NaN (oracle: DataView.getFloat16)", () => {
  for (const le of [true, false]) {
    const raw = bytesOf(halfBits, 2, (d, at, v) => d.setUint16(at, v, le));
    const half = p.tensor(p.storage("HalfStorage", "0", halfBits.length), 0, [halfBits.length], [1]);
    const bytes = checkpointZip(model({ buffers: [["half", half]] }), { "0": raw }, le ? "little" : "big");
    const { data, dtype } = readCheckpoint(bytes).state.get("model.0.half")!;
    assert.equal(dtype, "f16");
    const view = new DataView(raw.buffer);
    halfBits.forEach((bits, i) =>
      assert.ok(Object.is(data[i], view.getFloat16(2 * i, le)), `0x${bits.toString(16)}`)
    );
  }
});

Deno.test("readCheckpoint converts every storage type to f32 and records it", () => {
  const cases: [string, string, number[], number, (d: DataView, at: number, v: number) => void][] = [
    ["FloatStorage", "f32", [1.5, -0.25], 4, (d, at, v) => d.setFloat32(at, v, true)],
    ["DoubleStorage", "f64", [0.5, -3], 8, (d, at, v) => d.setFloat64(at, v, true)],
    [
      "BFloat16Storage",
      "bf16",
      [1.5, -2],
      2,
      (d, at, v) => d.setUint16(at, new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16, true),
    ],
    ["LongStorage", "i64", [-1, 2 ** 40 + 3], 8, (d, at, v) => d.setBigInt64(at, BigInt(v), true)],
    ["IntStorage", "i32", [-70000, 7], 4, (d, at, v) => d.setInt32(at, v, true)],
    ["ShortStorage", "i16", [-300, 300], 2, (d, at, v) => d.setInt16(at, v, true)],
    ["CharStorage", "i8", [-128, 127], 1, (d, at, v) => d.setInt8(at, v)],
    ["ByteStorage", "u8", [0, 255], 1, (d, at, v) => d.setUint8(at, v)],
    ["BoolStorage", "bool", [1, 0], 1, (d, at, v) => d.setUint8(at, v)],
  ];
  const buffers = cases.map((
    [type],
    key,
  ): [string, Op] => [type, p.tensor(p.storage(type, `${key}`, 2), 0, [2], [1])]);
  const storages = Object.fromEntries(
    cases.map(([, , values, size, set], key) => [`${key}`, bytesOf(values, size, set)]),
  );
  const { state } = readCheckpoint(checkpointZip(model({ buffers }), storages));
  for (const [type, dtype, values] of cases) {
    assert.deepEqual(
      state.get(`model.0.${type}`),
      { dtype, shape: [2], data: new Float32Array(values) },
      type,
    );
  }
});

Deno.test("readCheckpoint honors big-endian storages", () => {
  const weight = p.tensor(p.storage("FloatStorage", "0", 3), 0, [3], [1]);
  const bytes = checkpointZip(model({ buffers: [["w", weight]] }), { "0": f32([1, -2, 0.5], false) }, "big");
  assert.deepEqual(readCheckpoint(bytes).state.get("model.0.w")?.data, new Float32Array([1, -2, 0.5]));
});

Deno.test("readCheckpoint skips None entries and non-persistent buffers, and reads names, stride and task", () => {
  const tensor = p.tensor(p.storage("FloatStorage", "0", 3), 0, [3], [1]);
  const layer: ModuleParts = {
    parameters: [["weight", parameter(tensor)], ["bias", p.none]],
    buffers: [["kept", tensor], ["scratch", tensor], ["absent", p.none]],
    nonPersistent: ["scratch"],
  };
  const attributes: [string, Op][] = [["names", p.list(p.str("cat"), p.str("dog"))], ["stride", tensor]];
  const bytes = checkpointZip(
    p.dict([["model", model(layer, attributes)], ["ema", p.none], ["version", p.str("8.3.0")]]),
    {
      "0": f32([8, 16, 32]),
    },
  );
  const read = readCheckpoint(bytes, "toy.pt");
  assert.deepEqual([...read.state.keys()], ["model.0.weight", "model.0.kept"]);
  assert.deepEqual(read.names, ["cat", "dog"]);
  assert.deepEqual(read.stride, [8, 16, 32]);
  assert.equal(read.task, "detect", "guessed from the Detect head");
  assert.equal(read.headClass, "ultralytics.nn.modules.head.Detect");
  assert.equal(read.version, "8.3.0");
  assert.equal(read.args, undefined);
  assert.deepEqual(read.yaml, { nc: 2, scale: "n", backbone: [], head: [] });
});

Deno.test("readCheckpoint prefers ema over model, as attempt_load_one_weight does", () => {
  const named = (name: string) => model({}, [["names", p.dict([["0", p.str(name)]])]]);
  const bytes = checkpointZip(p.dict([["model", named("from-model")], ["ema", named("from-ema")]]), {});
  assert.deepEqual(readCheckpoint(bytes).names, ["from-ema"]);
});

/** The CheckpointError thrown for `bytes`, checked to name the file. */
function checkpointError(bytes: Uint8Array, file = "bad.pt"): string {
  try {
    readCheckpoint(bytes, file);
  } catch (error) {
    assert.ok(error instanceof CheckpointError, String(error));
    assert.equal(error.file, file);
    assert.ok(error.message.startsWith(`Cannot read checkpoint "${file}": `), error.message);
    assert.ok(!error.message.includes("\n"), "one line");
    return error.message;
  }
  assert.fail("no error thrown");
}

Deno.test("readCheckpoint rejects truncated, empty, random and non-PyTorch input", () => {
  assert.match(
    checkpointError(ptBytes.subarray(0, ptBytes.length >> 1)),
    /no end-of-central-directory record/,
  );
  assert.match(checkpointError(new Uint8Array(0)), /file is empty$/);
  let seed = 1;
  const noise = new Uint8Array(4096).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  checkpointError(noise);
  const notTorch = zipSync({ "readme.txt": new TextEncoder().encode("hello") });
  assert.match(checkpointError(notTorch), /not a PyTorch checkpoint \(no data\.pkl entry\)$/);
});

Deno.test("readCheckpoint rejects a pickle without a model, or a broken one", () => {
  assert.match(checkpointError(checkpointZip(p.dict([["epoch", p.int(1)]]), {})), /holds no model/);
  const noYaml = module("ultralytics.nn.tasks.DetectionModel");
  assert.match(checkpointError(checkpointZip(p.dict([["model", noYaml]]), {})), /no architecture YAML/);
  const bytes = zipSync({ "archive/data.pkl": new Uint8Array([0x80, 0x02, 0xff]) });
  assert.match(checkpointError(bytes), /bad pickle "archive\/data\.pkl": unknown opcode 0xff at offset 2$/);
});

Deno.test("readCheckpoint rejects missing and short storages", () => {
  const missing = p.tensor(p.storage("FloatStorage", "9", 3), 0, [3], [1]);
  assert.match(
    checkpointError(checkpointZip(model({ buffers: [["w", missing]] }), {})),
    /zip entry "archive\/data\/9" is missing$/,
  );
  const tooLong = p.tensor(p.storage("FloatStorage", "0", 4), 1, [4], [1]);
  assert.match(
    checkpointError(checkpointZip(model({ buffers: [["w", tooLong]] }), { "0": f32([1, 2, 3, 4]) })),
    /tensor "model\.0\.w" needs 5 elements but storage "archive\/data\/0" holds 4$/,
  );
  const shortEntry = p.tensor(p.storage("FloatStorage", "0", 4), 0, [4], [1]);
  assert.match(
    checkpointError(checkpointZip(model({ buffers: [["w", shortEntry]] }), { "0": f32([1, 2]) })),
    /zip entry "archive\/data\/0" holds 8 bytes, not 4 FloatStorage elements$/,
  );
});

Deno.test("loadCheckpointFile names a file that does not exist", async () => {
  await assert.rejects(loadCheckpointFile("no/such/file.pt"), (error) => {
    assert.ok(error instanceof CheckpointError);
    assert.equal(error.message, `Cannot read checkpoint "no/such/file.pt": file not found`);
    return true;
  });
});
