/**
 * Safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length `N`, `N` bytes of JSON naming each tensor's dtype, shape and byte range, then the tensor bytes.
 * {@linkcode writeSafetensors} and {@linkcode readSafetensors} are pure functions over bytes; the file
 * wrappers only read, or write atomically.
 *
 * @module
 */
import { CheckpointError } from "../errors.ts";
import { type DType, numel, type StateDict, type Tensor } from "../tensor.ts";
import { readFileOr } from "./_read_file.ts";

/** Element types a safetensors header may name, with our dtype and the bytes per element. */
const dtypes: Record<string, [DType, number]> = {
  F64: ["f64", 8],
  F32: ["f32", 4],
  F16: ["f16", 2],
  BF16: ["bf16", 2],
  I64: ["i64", 8],
  I32: ["i32", 4],
  I16: ["i16", 2],
  I8: ["i8", 1],
  U8: ["u8", 1],
  BOOL: ["bool", 1],
};

/** Options of {@linkcode writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /**
   * How every tensor is stored: `"F32"` keeps `data` bit for bit; `"F16"` rounds to nearest even
   * (overflow to infinity, subnormals kept, NaN stays NaN).
   * @default {"F32"}
   */
  dtype?: "F32" | "F16";
}

/** What a safetensors file holds. */
export interface Safetensors {
  /** The tensors in header order, values as f32, `dtype` the stored element type. */
  tensors: StateDict;
  /** The header's `__metadata__` (empty when absent). */
  metadata: Record<string, string>;
}

/**
 * Writes tensors as a safetensors file: header keys and data in the map's insertion order, the header
 * padded with spaces so the data starts at a multiple of 8 bytes. The output is deterministic.
 *
 * @param tensors The tensors to store, by name.
 * @param metadata String pairs stored as the header's `__metadata__`.
 * @param options The stored element type.
 * @returns The whole file.
 * @throws {RangeError} When a tensor's data length does not match its shape, or a name is `__metadata__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * const w = { dtype: "f32" as const, shape: [2], data: new Float32Array([1, -0.5]) };
 * const bytes = writeSafetensors(new Map([["model.0.conv.weight", w]]), { format: "pt" });
 * const { tensors, metadata } = readSafetensors(bytes);
 * assert.deepEqual(tensors.get("model.0.conv.weight"), w);
 * assert.deepEqual(metadata, { format: "pt" });
 * ```
 */
export function writeSafetensors(
  tensors: StateDict,
  metadata: Record<string, string> = {},
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const dtype = options.dtype ?? "F32";
  if (dtype !== "F32" && dtype !== "F16") throw new RangeError(`Cannot write safetensors dtype "${dtype}"`);
  const size = dtypes[dtype][1];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (name === "__metadata__") throw new RangeError(`Cannot write a tensor named "__metadata__"`);
    const count = numel(tensor.shape);
    if (tensor.data.length !== count) {
      throw new RangeError(
        `Cannot write tensor "${name}": shape [${tensor.shape}] needs ${count} values, data has ${tensor.data.length}`,
      );
    }
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + count * size] };
    offset += count * size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const tensor of tensors.values()) {
    const { data } = tensor;
    if (dtype === "F32") {
      // A byte copy, so NaN payloads survive; typed arrays are little-endian on every host Deno runs on.
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += data.byteLength;
    } else {
      const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
      for (let i = 0; i < bits.length; i++, at += 2) {
        const h = f32BitsToF16Bits(bits[i]);
        out[at] = h & 0xff;
        out[at + 1] = h >> 8;
      }
    }
  }
  return out;
}

/**
 * Reads a safetensors file from its bytes, validating the header strictly: the JSON, each dtype, shape
 * and byte range, and that the ranges tile the data exactly (no overlap, no gap, nothing truncated).
 *
 * @param bytes The whole file.
 * @param file The file name used in error messages.
 * @returns The tensors (as f32) and the metadata.
 * @throws {CheckpointError} When the bytes are not a valid safetensors file.
 */
export function readSafetensors(bytes: Uint8Array, file = "<bytes>"): Safetensors {
  const fail = (detail: string) => new CheckpointError(file, `Cannot read safetensors "${file}": ${detail}`);
  if (bytes.length < 8) throw fail(`file size ${bytes.length} is smaller than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw fail(`header length ${headerLength} exceeds the file size ${bytes.length}`);
  }
  const dataStart = 8 + Number(headerLength);
  const dataLength = bytes.length - dataStart;

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw fail(`header is not UTF-8 JSON (${detail})`);
  }
  if (!isRecord(header)) throw fail("header is not a JSON object");

  const metadata: Record<string, string> = {};
  const meta = header.__metadata__;
  if (meta !== undefined) {
    if (!isRecord(meta)) throw fail(`"__metadata__" is not an object`);
    for (const [key, value] of Object.entries(meta)) {
      if (typeof value !== "string") throw fail(`metadata "${key}" is not a string`);
      metadata[key] = value;
    }
  }

  interface Entry {
    name: string;
    dtype: string;
    shape: number[];
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (!isRecord(info)) throw fail(`tensor "${name}" is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== "string" || !(dtype in dtypes)) {
      throw fail(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      throw fail(`tensor "${name}" has invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1]
    ) {
      throw fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const expected = numel(shape) * dtypes[dtype][1];
    if (end - begin !== expected) {
      throw fail(
        `tensor "${name}" spans ${end - begin} bytes but ${dtype} [${shape}] needs ${expected}`,
      );
    }
    if (end > dataLength) {
      throw fail(`tensor "${name}" ends at byte ${end} beyond the data size ${dataLength} (file truncated)`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (let i = 0; i < sorted.length; i++) {
    const { name, begin, end } = sorted[i];
    if (begin < covered) throw fail(`tensor "${name}" overlaps tensor "${sorted[i - 1].name}"`);
    if (begin > covered) throw fail(`bytes ${covered}..${begin} of the data belong to no tensor`);
    covered = end;
  }
  if (covered !== dataLength) {
    throw fail(`data is ${dataLength} bytes but the tensors cover ${covered}`);
  }

  const tensors: StateDict = new Map();
  for (const { name, dtype, shape, begin, end } of entries) {
    const tensor: Tensor = {
      dtype: dtypes[dtype][0],
      shape,
      data: decode(dtype, bytes.subarray(dataStart + begin, dataStart + end)),
    };
    tensors.set(name, tensor);
  }
  return { tensors, metadata };
}

/**
 * Reads a safetensors file; a thin wrapper over {@linkcode readSafetensors}.
 *
 * @param path Path of the `.safetensors` file.
 * @returns The tensors and metadata.
 * @throws {CheckpointError} When the file cannot be read or is not valid safetensors.
 */
export async function loadSafetensorsFile(path: string): Promise<Safetensors> {
  const bytes = await readFileOr(
    path,
    (d) => new CheckpointError(path, `Cannot read safetensors "${path}": ${d}`),
  );
  return readSafetensors(bytes, path);
}

/**
 * Writes a safetensors file atomically: the bytes go to `path + ".tmp"`, which is then renamed over
 * `path`, so a failure never leaves a half-written output.
 *
 * @param path Path of the `.safetensors` file to write.
 * @param tensors The tensors to store, by name.
 * @param metadata String pairs stored as `__metadata__`.
 * @param options The stored element type.
 * @throws {RangeError} When a tensor's data does not match its shape.
 */
export async function saveSafetensorsFile(
  path: string,
  tensors: StateDict,
  metadata: Record<string, string> = {},
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const bytes = writeSafetensors(tensors, metadata, options);
  const tmp = `${path}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

/**
 * The IEEE binary16 bits nearest to an f32 given by its bits, ties to even: overflow gives infinity,
 * tiny values become subnormals or signed zero, NaN stays a quiet NaN.
 */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (fraction ? 0x200 | (fraction >>> 13) : 0);
  const e = exponent - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: the value in units of 2^-24 is (1.fraction · 2^23) >> (14 - e).
    const shift = 14 - e;
    if (shift > 24) return sign;
    const m = fraction | 0x800000;
    let h = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (fraction >>> 13);
  const rest = fraction & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry may reach the exponent or infinity
  return sign | h;
}

/** The f32 value of IEEE binary16 bits, subnormals, infinities and NaNs included. */
export function f16BitsToF32(h: number): number {
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  const magnitude = exponent === 0
    ? fraction * 2 ** -24
    : exponent === 31
    ? (fraction ? NaN : Infinity)
    : (1024 + fraction) * 2 ** (exponent - 25);
  return h & 0x8000 ? -magnitude : magnitude;
}

/** Little-endian elements of a safetensors dtype (`"F16"`, ...) as f32. */
function decode(safetensorsDtype: string, b: Uint8Array): Float32Array {
  const [dtype, size] = dtypes[safetensorsDtype];
  if (dtype === "f32") return new Float32Array(b.slice().buffer); // a copy, aligned, bits kept
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = b.byteLength / size;
  const out = new Float32Array(count);
  switch (dtype) {
    case "f16":
      for (let i = 0; i < count; i++) out[i] = f16BitsToF32(view.getUint16(2 * i, true));
      break;
    case "bf16": {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    case "f64":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case "i64":
      for (let i = 0; i < count; i++) {
        out[i] = view.getInt32(8 * i + 4, true) * 2 ** 32 + view.getUint32(8 * i, true);
      }
      break;
    case "i32":
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case "i16":
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
      break;
    case "i8":
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case "u8":
      out.set(b);
      break;
    case "bool":
      for (let i = 0; i < count; i++) out[i] = b[i] ? 1 : 0;
      break;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
