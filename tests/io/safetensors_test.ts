import assert from "node:assert/strict";
import { CheckpointError } from "../../src/errors.ts";
import {
  f16BitsToF32,
  f32BitsToF16Bits,
  loadSafetensorsFile,
  readSafetensors,
  saveSafetensorsFile,
  writeSafetensors,
} from "../../src/io/safetensors.ts";
import type { StateDict, Tensor } from "../../src/tensor.ts";
import { rand, randomArray } from "../_rand.ts";

const f32 = (shape: number[], data: Float32Array | number[]): Tensor => ({
  dtype: "f32",
  shape,
  data: data instanceof Float32Array ? data : new Float32Array(data),
});

/** The header JSON text and the data section of a safetensors file. */
function split(bytes: Uint8Array): { headerLength: number; json: string; data: Uint8Array } {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const json = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  return { headerLength, json, data: bytes.subarray(8 + headerLength) };
}

/** A file with the given header object and data bytes, laid out as the format prescribes. */
function fileWith(header: unknown, data: number[] | Uint8Array = []): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const bitsOf = (data: Float32Array) => new Uint32Array(data.buffer, data.byteOffset, data.length);

Deno.test("writeSafetensors then readSafetensors round-trips f32 bit for bit, NaN payloads and -0 included", () => {
  const special = new Uint32Array([
    0x00000000, // +0
    0x80000000, // -0
    0x00000001, // smallest denormal
    0x807fffff, // largest negative denormal
    0x7f800000, // +inf
    0xff800000, // -inf
    0x7fc00000, // quiet NaN
    0x7f800001, // signalling NaN
    0xffc12345, // negative NaN with payload
    0x7f7fffff, // largest finite
    0x3f800000, // 1
  ]);
  const next = rand(11);
  const random = new Uint32Array(1000);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(next() * 2 ** 32);
  const state: StateDict = new Map([
    ["model.0.conv.weight", f32([2, 3, 2, 2], randomArray(24, 1))],
    ["special", f32([special.length], new Float32Array(special.buffer))],
    ["random.bits", f32([10, 100], new Float32Array(random.buffer))],
    ["scalar", f32([], [42.5])],
    ["empty", f32([0, 3], [])],
  ]);
  const back = readSafetensors(writeSafetensors(state), "toy.safetensors");
  assert.deepEqual([...back.tensors.keys()], [...state.keys()]);
  for (const [name, tensor] of state) {
    const read = back.tensors.get(name)!;
    assert.equal(read.dtype, "f32", name);
    assert.deepEqual(read.shape, tensor.shape, name);
    assert.deepEqual(bitsOf(read.data), bitsOf(tensor.data), name);
  }
  assert.deepEqual(back.metadata, {});
});

Deno.test("writeSafetensors stores a Float32Array view with a byte offset, not its whole buffer", () => {
  const whole = new Float32Array([9, 1, 2, 3, 9]);
  const back = readSafetensors(writeSafetensors(new Map([["v", f32([3], whole.subarray(1, 4))]])));
  assert.deepEqual([...back.tensors.get("v")!.data], [1, 2, 3]);
});

Deno.test("writeSafetensors pads the header with spaces to a multiple of 8 and lays data out contiguously", () => {
  for (let extra = 0; extra < 9; extra++) {
    const state: StateDict = new Map([
      ["a" + "x".repeat(extra), f32([2], [1, 2])],
      ["b", f32([3, 1], [3, 4, 5])],
    ]);
    const bytes = writeSafetensors(state, { note: "y".repeat(extra) });
    const { headerLength, json, data } = split(bytes);
    assert.equal(headerLength % 8, 0, `name padding ${extra}`);
    assert.equal((8 + headerLength) % 8, 0);
    assert.match(json, /^\{.*\} *$/);
    assert.ok(json.length - json.trimEnd().length < 8);
    const header = JSON.parse(json);
    assert.deepEqual(Object.keys(header), ["__metadata__", "a" + "x".repeat(extra), "b"]);
    assert.deepEqual(header["a" + "x".repeat(extra)], { dtype: "F32", shape: [2], data_offsets: [0, 8] });
    assert.deepEqual(header.b, { dtype: "F32", shape: [3, 1], data_offsets: [8, 20] });
    assert.equal(data.length, 20);
    assert.deepEqual([...new Float32Array(data.slice().buffer)], [1, 2, 3, 4, 5]);
  }
});

Deno.test("writeSafetensors is deterministic and keeps insertion order", () => {
  const a: StateDict = new Map([["z", f32([1], [1])], ["a", f32([1], [2])]]);
  const b: StateDict = new Map([["a", f32([1], [2])], ["z", f32([1], [1])]]);
  assert.deepEqual(writeSafetensors(a, { k: "v" }), writeSafetensors(a, { k: "v" }));
  assert.deepEqual(Object.keys(JSON.parse(split(writeSafetensors(a)).json)), ["z", "a"]);
  assert.deepEqual(Object.keys(JSON.parse(split(writeSafetensors(b)).json)), ["a", "z"]);
  assert.deepEqual([...readSafetensors(writeSafetensors(a)).tensors.keys()], ["z", "a"]);
});

Deno.test("writeSafetensors rejects data that does not match the shape and a tensor named __metadata__", () => {
  assert.throws(() => writeSafetensors(new Map([["w", f32([2, 2], [1, 2, 3])]])), {
    name: "RangeError",
    message: /tensor "w": shape \[2,2\] needs 4 values, data has 3/,
  });
  assert.throws(() => writeSafetensors(new Map([["__metadata__", f32([1], [1])]])), RangeError);
});

Deno.test("metadata round-trips, unicode included; no metadata writes no __metadata__ key", () => {
  const metadata = { format: "pt", description: "YOLO11n-seg — ≈ 2.9 M params", empty: "" };
  const bytes = writeSafetensors(new Map([["w", f32([1], [1])]]), metadata);
  assert.deepEqual(readSafetensors(bytes).metadata, metadata);
  const plain = writeSafetensors(new Map([["w", f32([1], [1])]]));
  assert.equal(JSON.parse(split(plain).json).__metadata__, undefined);
  assert.deepEqual(readSafetensors(plain).metadata, {});
  assert.deepEqual(readSafetensors(writeSafetensors(new Map(), { only: "meta" })), {
    tensors: new Map(),
    metadata: { only: "meta" },
  });
});

Deno.test("writeSafetensors F16 stores hand-derivable bit patterns, rounding to nearest even", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [65519, 0x7bff], // below the midpoint to 65536: rounds down
    [65520, 0x7c00], // the midpoint: ties to even, which is infinity
    [1e6, 0x7c00], // overflow
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [-(2 ** -24), 0x8001],
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [1023.5 * 2 ** -24, 0x0400], // tie between largest subnormal (odd) and smallest normal: up
    [2 ** -25, 0x0000], // tie between 0 (even) and 2^-24: down
    [1.5 * 2 ** -25, 0x0001], // above the tie: up
    [2.5 * 2 ** -24, 0x0002], // tie between 2 (even) and 3: down
    [2 ** -26, 0x0000], // underflow
    [-(2 ** -30), 0x8000], // underflow keeps the sign
    [1 + 2 ** -11, 0x3c00], // tie between 1 (even mantissa) and 1 + 2^-10: down
    [1 + 3 * 2 ** -11, 0x3c02], // tie between odd 0x3c01 and 0x3c02: up
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie: up
    [2047, 0x67ff],
    [2049, 0x6800], // tie 2048 (even) vs 2050: down
  ];
  const values = new Float32Array(cases.map(([v]) => v));
  const bytes = writeSafetensors(new Map([["h", f32([values.length], values)]]), {}, { dtype: "F16" });
  const { json, data } = split(bytes);
  assert.deepEqual(JSON.parse(json).h, {
    dtype: "F16",
    shape: [values.length],
    data_offsets: [0, 2 * values.length],
  });
  const stored = new DataView(data.buffer, data.byteOffset, data.byteLength);
  cases.forEach(([value, bits], i) => {
    assert.equal(stored.getUint16(2 * i, true), bits, `${value} → 0x${bits.toString(16).padStart(4, "0")}`);
  });
  const back = readSafetensors(bytes).tensors.get("h")!;
  assert.equal(back.dtype, "f16");
  assert.deepEqual([...back.data], cases.map(([, bits]) => f16BitsToF32(bits)));
  assert.equal(back.data[5], 65504);
  assert.equal(back.data[13], 2 ** -24);
  assert.ok(Object.is(back.data[3], -0));
});

Deno.test("F16 NaN stays NaN (quiet, sign kept) and every half value survives f16 → f32 → f16", () => {
  const nan = new Float32Array(new Uint32Array([0x7fc00000, 0x7f800001, 0xffc00000]).buffer);
  const bytes = writeSafetensors(new Map([["n", f32([3], nan)]]), {}, { dtype: "F16" });
  const stored = new Uint16Array(split(bytes).data.slice().buffer);
  assert.deepEqual([...stored], [0x7e00, 0x7e00, 0xfe00]);
  assert.ok(readSafetensors(bytes).tensors.get("n")!.data.every(Number.isNaN));
  const f32bits = new Uint32Array(1);
  const asFloat = new Float32Array(f32bits.buffer);
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff)) continue; // NaNs: checked above
    asFloat[0] = f16BitsToF32(h);
    assert.equal(f32BitsToF16Bits(f32bits[0]), h, `0x${h.toString(16)}`);
  }
});

Deno.test("F16 rounding agrees with the runtime's Float16Array on random and edge-case f32 bit patterns", () => {
  const next = rand(5);
  const bits = new Uint32Array(200_000);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(next() * 2 ** 32);
  // Concentrate half of them on the f16 range, where rounding matters (exponents 100 .. 143).
  for (let i = 0; i < bits.length; i += 2) bits[i] = (bits[i] & 0x807fffff) | ((100 + (i % 44)) << 23);
  const values = new Float32Array(bits.buffer);
  const oracle = new Uint16Array(new Float16Array(values).buffer);
  for (let i = 0; i < bits.length; i++) {
    if (Number.isNaN(values[i])) continue;
    if (f32BitsToF16Bits(bits[i]) !== oracle[i]) {
      assert.fail(
        `0x${bits[i].toString(16)} (${values[i]}): 0x${f32BitsToF16Bits(bits[i]).toString(16)}, ` +
          `Float16Array gives 0x${oracle[i].toString(16)}`,
      );
    }
  }
});

Deno.test("readSafetensors reads a file built byte by byte with every dtype, header keys out of offset order", () => {
  const header = '{"__metadata__":{"format":"pt"},' +
    '"i64":{"dtype":"I64","shape":[2],"data_offsets":[8,24]},' +
    '"f16":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},' +
    '"f64":{"dtype":"F64","shape":[1],"data_offsets":[24,32]},' +
    '"f32":{"dtype":"F32","shape":[1],"data_offsets":[32,36]},' +
    '"i32":{"dtype":"I32","shape":[1],"data_offsets":[36,40]},' +
    '"bf16":{"dtype":"BF16","shape":[1],"data_offsets":[40,42]},' +
    '"i16":{"dtype":"I16","shape":[1],"data_offsets":[42,44]},' +
    '"i8":{"dtype":"I8","shape":[1],"data_offsets":[44,45]},' +
    '"u8":{"dtype":"U8","shape":[1],"data_offsets":[45,46]},' +
    '"bool":{"dtype":"BOOL","shape":[2],"data_offsets":[46,48]}}';
  const json = [...header].map((c) => c.charCodeAt(0));
  // deno-fmt-ignore
  const data = [
    // f16 [[1, -2], [65504, 2^-24]]
    0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00,
    // i64 [-3, 2^40 + 2^20] (exact in f32): two's complement, then low word 0x00100000, high word 0x100
    0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00,
    // f64 [0.1] = 0x3fb999999999999a
    0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,
    // f32 [1.5] = 0x3fc00000
    0x00, 0x00, 0xc0, 0x3f,
    // i32 [-123456] = 0xfffe1dc0
    0xc0, 0x1d, 0xfe, 0xff,
    // bf16 [-1.5] = 0xbfc0
    0xc0, 0xbf,
    // i16 [-300] = 0xfed4
    0xd4, 0xfe,
    // i8 [-128], u8 [255], bool [true, false]
    0x80, 0xff, 0x01, 0x00,
  ];
  const n = json.length;
  const bytes = new Uint8Array([n & 0xff, n >> 8, 0, 0, 0, 0, 0, 0, ...json, ...data]);
  const { tensors, metadata } = readSafetensors(bytes, "hand.safetensors");
  assert.deepEqual(metadata, { format: "pt" });
  assert.deepEqual([...tensors.keys()], [
    "i64",
    "f16",
    "f64",
    "f32",
    "i32",
    "bf16",
    "i16",
    "i8",
    "u8",
    "bool",
  ]);
  const got = (name: string) => ({ ...tensors.get(name)!, data: [...tensors.get(name)!.data] });
  assert.deepEqual(got("f16"), { dtype: "f16", shape: [2, 2], data: [1, -2, 65504, 2 ** -24] });
  assert.deepEqual(got("i64"), { dtype: "i64", shape: [2], data: [-3, 2 ** 40 + 2 ** 20] });
  assert.deepEqual(got("f64"), { dtype: "f64", shape: [1], data: [Math.fround(0.1)] });
  assert.deepEqual(got("f32"), { dtype: "f32", shape: [1], data: [1.5] });
  assert.deepEqual(got("i32"), { dtype: "i32", shape: [1], data: [-123456] });
  assert.deepEqual(got("bf16"), { dtype: "bf16", shape: [1], data: [-1.5] });
  assert.deepEqual(got("i16"), { dtype: "i16", shape: [1], data: [-300] });
  assert.deepEqual(got("i8"), { dtype: "i8", shape: [1], data: [-128] });
  assert.deepEqual(got("u8"), { dtype: "u8", shape: [1], data: [255] });
  assert.deepEqual(got("bool"), { dtype: "bool", shape: [2], data: [1, 0] });
});

Deno.test("readSafetensors reads from a Uint8Array view at an odd byte offset", () => {
  const file = writeSafetensors(new Map([["w", f32([3], [1, -2, 3.25])]]));
  const padded = new Uint8Array(file.length + 3);
  padded.set(file, 3);
  assert.deepEqual([...readSafetensors(padded.subarray(3)).tensors.get("w")!.data], [1, -2, 3.25]);
});

/** Asserts reading `bytes` as `file` throws a CheckpointError naming the file whose message matches. */
function assertBad(bytes: Uint8Array, detail: RegExp, file = "bad.safetensors"): void {
  assert.throws(() => readSafetensors(bytes, file), (error: unknown) => {
    assert.ok(error instanceof CheckpointError, `expected CheckpointError, got ${error}`);
    assert.equal(error.file, file);
    assert.ok(error.message.startsWith(`Cannot read safetensors "${file}": `), error.message);
    assert.match(error.message, detail);
    assert.ok(!error.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("readSafetensors rejects a header length beyond the file with the exact message", () => {
  const bytes = new Uint8Array(100);
  new DataView(bytes.buffer).setBigUint64(0, 123456n, true);
  assert.throws(() => readSafetensors(bytes, "x.safetensors"), {
    name: "CheckpointError",
    message: 'Cannot read safetensors "x.safetensors": header length 123456 exceeds the file size 100',
  });
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
  assertBad(huge, /header length 18446744073709551615 exceeds the file size 16/);
});

Deno.test("readSafetensors rejects every malformed file with a CheckpointError naming it", () => {
  const good = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const eight = new Array(8).fill(0);
  assertBad(new Uint8Array(), /file size 0 is smaller than the 8-byte header length/);
  assertBad(new Uint8Array(5), /file size 5/);
  const notJson = new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode("{no}")]);
  assertBad(notJson, /header is not UTF-8 JSON/);
  const badUtf8 = new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0xff, 0xfe, 0x7d]);
  assertBad(badUtf8, /header is not UTF-8 JSON/);
  assertBad(fileWith([1, 2]), /header is not a JSON object/);
  assertBad(fileWith(null), /header is not a JSON object/);
  assertBad(fileWith({ __metadata__: "x" }), /"__metadata__" is not an object/);
  assertBad(fileWith({ __metadata__: { n: 1 } }), /metadata "n" is not a string/);
  assertBad(fileWith({ w: 3 }), /tensor "w" is not an object/);
  assertBad(fileWith({ w: { ...good, dtype: "C64" } }, eight), /tensor "w" has unknown dtype "C64"/);
  assertBad(fileWith({ w: { ...good, dtype: undefined } }, eight), /tensor "w" has unknown dtype undefined/);
  assertBad(fileWith({ w: { ...good, shape: [-2] } }, eight), /tensor "w" has invalid shape \[-2\]/);
  assertBad(fileWith({ w: { ...good, shape: [1.5] } }, eight), /invalid shape/);
  assertBad(fileWith({ w: { ...good, shape: "2" } }, eight), /invalid shape "2"/);
  assertBad(fileWith({ w: { ...good, data_offsets: [0] } }, eight), /invalid data_offsets \[0\]/);
  assertBad(fileWith({ w: { ...good, data_offsets: [8, 0] } }, eight), /invalid data_offsets \[8,0\]/);
  assertBad(fileWith({ w: { ...good, data_offsets: [-8, 0] } }, eight), /invalid data_offsets/);
  // Offsets not matching shape × dtype size.
  assertBad(
    fileWith({ w: { ...good, data_offsets: [0, 4] } }, eight),
    /tensor "w" spans 4 bytes but F32 \[2\] needs 8/,
  );
  assertBad(fileWith({ w: { ...good, dtype: "F16" } }, eight), /spans 8 bytes but F16 \[2\] needs 4/);
  // Out of range: a tensor past the end of the data.
  assertBad(
    fileWith({ w: { ...good, data_offsets: [8, 16] } }, eight),
    /tensor "w" ends at byte 16 beyond the data size 8 \(file truncated\)/,
  );
  // Overlap.
  const a = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const b = { dtype: "F32", shape: [2], data_offsets: [4, 12] };
  assertBad(fileWith({ a, b }, new Array(12).fill(0)), /tensor "b" overlaps tensor "a"/);
  assertBad(fileWith({ b, a }, new Array(12).fill(0)), /tensor "b" overlaps tensor "a"/);
  // A gap between tensors, and trailing bytes after the last one.
  const c = { dtype: "F32", shape: [1], data_offsets: [12, 16] };
  assertBad(fileWith({ a, c }, new Array(16).fill(0)), /bytes 8\.\.12 of the data belong to no tensor/);
  assertBad(fileWith({ a }, new Array(12).fill(0)), /data is 12 bytes but the tensors cover 8/);
});

Deno.test("readSafetensors rejects a truncated file", () => {
  const bytes = writeSafetensors(new Map([["a", f32([4], [1, 2, 3, 4])], ["b", f32([2], [5, 6])]]));
  const headerEnd = 8 + split(bytes).headerLength;
  assertBad(bytes.subarray(0, bytes.length - 1), /tensor "b" ends at byte 24 beyond the data size 23/);
  assertBad(bytes.subarray(0, headerEnd + 10), /tensor "a" ends at byte 16 beyond the data size 10/);
  assertBad(bytes.subarray(0, headerEnd - 3), /header length \d+ exceeds the file size/);
  assertBad(bytes.subarray(0, 6), /smaller than the 8-byte header length/);
});

Deno.test("saveSafetensorsFile writes atomically through a .tmp file; loadSafetensorsFile reads it back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/weights.safetensors`;
    const first: StateDict = new Map([["w", f32([2], [1, 2])]]);
    await saveSafetensorsFile(path, first, { v: "1" });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["weights.safetensors"]);
    const loaded = await loadSafetensorsFile(path);
    assert.deepEqual([...loaded.tensors.get("w")!.data], [1, 2]);
    assert.deepEqual(loaded.metadata, { v: "1" });

    // Overwrite with F16; then a failing save (bad tensor) leaves the previous file intact, with no .tmp.
    await saveSafetensorsFile(path, new Map([["w", f32([1], [3])]]), { v: "2" }, { dtype: "F16" });
    const before = Deno.readFileSync(path);
    await assert.rejects(() => saveSafetensorsFile(path, new Map([["w", f32([5], [1])]])), RangeError);
    assert.deepEqual(Deno.readFileSync(path), before);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["weights.safetensors"]);
    const second = await loadSafetensorsFile(path);
    assert.equal(second.tensors.get("w")!.dtype, "f16");
    assert.deepEqual(second.metadata, { v: "2" });

    // A save into a missing folder fails and leaves nothing behind.
    await assert.rejects(
      () => saveSafetensorsFile(`${dir}/missing/w.safetensors`, first),
      Deno.errors.NotFound,
    );

    const missing = `${dir}/nope.safetensors`;
    await assert.rejects(() => loadSafetensorsFile(missing), {
      name: "CheckpointError",
      message: `Cannot read safetensors "${missing}": file not found`,
    });
    Deno.writeFileSync(`${dir}/short.safetensors`, new Uint8Array(3));
    await assert.rejects(() => loadSafetensorsFile(`${dir}/short.safetensors`), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.equal(error.file, `${dir}/short.safetensors`);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
