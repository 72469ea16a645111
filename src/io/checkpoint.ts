/**
 * Ultralytics `.pt` checkpoints (zip + pickle as `torch.save` writes them), read without Python.
 * @module
 */
import { CheckpointError } from "../errors.ts";
import { type DType, numel, type StateDict, type Tensor } from "../tensor.ts";
import { PickleError, PyGlobal, PyObject, TensorRef, unpickle } from "./pickle.ts";
import { readZip } from "./zip.ts";
import { readFileOr } from "./_read_file.ts";

/** What a YOLO checkpoint holds, ready to build and run the model. */
export interface Checkpoint {
  /** The file name used in messages (`"<bytes>"` when read from memory). */
  file: string;
  /** The architecture YAML Ultralytics stores on the model (`model.yaml`): `nc`, `scale`, `backbone`, `head`. */
  yaml: Record<string, unknown>;
  /** Class names in index order. */
  names: string[];
  /** Output strides of the detection levels, e.g. `[8, 16, 32]`. */
  stride: number[];
  /** `"segment"`, `"detect"`, `"classify"`, `"pose"` or `"obb"`. */
  task: string;
  /** Class of the last module, e.g. `"ultralytics.nn.modules.head.Segment"`. */
  headClass: string;
  /** Every parameter and persistent buffer under Ultralytics' state-dict names (`model.0.conv.weight`). */
  state: StateDict;
  /** The training arguments (`ckpt["train_args"]`), when present. */
  args?: Record<string, unknown>;
  /** The Ultralytics version that wrote the file, e.g. `"8.3.159"`. */
  version?: string;
  /** When the file was written (ISO 8601). */
  date?: string;
}

/**
 * Reads an Ultralytics checkpoint from its bytes. The model is `ckpt["ema"]` when set, else
 * `ckpt["model"]`, as Ultralytics' `attempt_load_one_weight` does. Nothing in the pickle is executed.
 *
 * @param bytes The whole `.pt` file.
 * @param file The file name used in error messages.
 * @returns The architecture, class names, strides, task and weights.
 * @throws {CheckpointError} When the bytes are not a readable PyTorch checkpoint holding a YOLO model.
 */
export function readCheckpoint(bytes: Uint8Array, file = "<bytes>"): Checkpoint {
  const fail = (detail: string) => new CheckpointError(file, `Cannot read checkpoint "${file}": ${detail}`);
  if (bytes.length === 0) throw fail("file is empty");
  if (isLegacyFormat(bytes)) {
    throw fail("legacy PyTorch format (before 1.6, not a zip archive) is not supported");
  }
  const entries = readZip(bytes, file);
  const pklName = [...entries.keys()].find((name) => /^([^/]+\/)?data\.pkl$/.test(name));
  if (pklName === undefined) throw fail("zip archive is not a PyTorch checkpoint (no data.pkl entry)");
  const prefix = pklName.slice(0, -"data.pkl".length);
  const order = entries.has(`${prefix}byteorder`)
    ? new TextDecoder().decode(entries.get(`${prefix}byteorder`))
    : "";
  if (order !== "" && order !== "little" && order !== "big") throw fail(`unknown byte order "${order}"`);
  const storages = new StorageTable(entries, prefix, order !== "big", fail);

  let root: unknown;
  try {
    root = unpickle(entries.get(pklName)!, { persistentLoad: (pid) => storages.load(pid) });
  } catch (error) {
    if (!(error instanceof PickleError)) throw error;
    const wrapped = fail(`bad pickle "${pklName}": ${error.reason} at offset ${error.offset}`);
    wrapped.cause = error;
    throw wrapped;
  }
  const ckpt = root instanceof Map ? root : new Map();
  const model = root instanceof PyObject ? root : ckpt.get("ema") ?? ckpt.get("model");
  if (!(model instanceof PyObject) || !(model._modules instanceof Map)) {
    throw fail(`"${pklName}" holds no model (expected a dict with an "ema" or "model" module)`);
  }
  const toTensor = (ref: unknown, name: string) => {
    if (!(ref instanceof TensorRef)) throw fail(`state entry "${name}" is not a tensor`);
    return storages.tensor(ref, name);
  };
  const yaml = toPlain(model.yaml);
  if (!isRecord(yaml)) throw fail(`the model has no architecture YAML (attribute "yaml")`);
  const headClass = lastModule(model)?.__class__ ?? model.__class__;
  const trainArgs = toPlain(ckpt.get("train_args"));
  return {
    file,
    yaml,
    names: classNames(model.names ?? yaml.names, yaml.nc),
    stride: model.stride instanceof TensorRef
      ? [...toTensor(model.stride, "stride").data]
      : numbers(model.stride),
    task: modelTask(model, trainArgs, headClass),
    headClass,
    state: collectState(model, "", toTensor),
    ...(isRecord(trainArgs) ? { args: trainArgs } : {}),
    ...(typeof ckpt.get("version") === "string" ? { version: ckpt.get("version") } : {}),
    ...(typeof ckpt.get("date") === "string" ? { date: ckpt.get("date") } : {}),
  };
}

/**
 * Reads an Ultralytics checkpoint file; a thin wrapper over {@linkcode readCheckpoint}.
 *
 * @param path Path of the `.pt` file.
 * @returns The checkpoint.
 * @throws {CheckpointError} When the file cannot be read or is not a YOLO checkpoint.
 */
export async function loadCheckpointFile(path: string): Promise<Checkpoint> {
  const bytes = await readFileOr(
    path,
    (d) => new CheckpointError(path, `Cannot read checkpoint "${path}": ${d}`),
  );
  return readCheckpoint(bytes, path);
}

/** Element type and size of each torch storage class. */
const storageTypes: Record<string, [DType, number]> = {
  HalfStorage: ["f16", 2],
  FloatStorage: ["f32", 4],
  DoubleStorage: ["f64", 8],
  BFloat16Storage: ["bf16", 2],
  LongStorage: ["i64", 8],
  IntStorage: ["i32", 4],
  ShortStorage: ["i16", 2],
  CharStorage: ["i8", 1],
  ByteStorage: ["u8", 1],
  BoolStorage: ["bool", 1],
  UntypedStorage: ["u8", 1],
};

/** One `<prefix>/data/<key>` entry, as the persistent id describes it. */
class Storage {
  constructor(
    readonly entry: string,
    readonly dtype: DType,
    readonly numel: number,
    readonly bytes: Uint8Array,
  ) {}
}

/** Resolves persistent ids to storages and views of them to tensors. */
class StorageTable {
  private byKey = new Map<string, Storage>();

  constructor(
    private entries: Map<string, Uint8Array>,
    private prefix: string,
    private littleEndian: boolean,
    private fail: (detail: string) => CheckpointError,
  ) {}

  /** `persistent_load(("storage", storage_type, key, location, numel))`. */
  load(pid: unknown): Storage {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) {
      throw this.fail(`unsupported persistent id (expected a "storage" tuple)`);
    }
    const [, type, key, , count] = pid;
    const cached = this.byKey.get(String(key));
    if (cached) return cached;
    const typeName = type instanceof PyGlobal ? type.name.split(".").at(-1)! : String(type);
    const info = Object.hasOwn(storageTypes, typeName) ? storageTypes[typeName] : undefined;
    if (!info) throw this.fail(`unsupported storage type "${typeName}"`);
    if (!Number.isSafeInteger(count) || count < 0) throw this.fail(`bad storage size "${count}"`);
    const entry = `${this.prefix}data/${key}`;
    const bytes = this.entries.get(entry);
    if (!bytes) throw this.fail(`zip entry "${entry}" is missing`);
    if (bytes.length < count * info[1]) {
      throw this.fail(`zip entry "${entry}" holds ${bytes.length} bytes, not ${count} ${typeName} elements`);
    }
    const storage = new Storage(entry, info[0], count, bytes);
    this.byKey.set(String(key), storage);
    return storage;
  }

  /** Gathers a (possibly offset and strided) view into a contiguous row-major f32 tensor. */
  tensor(ref: TensorRef, name: string): Tensor {
    const { storage, offset, shape, stride } = ref;
    if (!(storage instanceof Storage)) throw this.fail(`tensor "${name}" has no storage`);
    if (!shape.every((d) => d >= 0) || !stride.every((d) => d >= 0) || offset < 0) {
      throw this.fail(`tensor "${name}" has a negative size, stride or offset`);
    }
    const n = numel(shape);
    let last = offset;
    for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
    const needed = last + 1;
    if (n > 0 && needed > storage.numel) {
      const holds = `storage "${storage.entry}" holds ${storage.numel}`;
      throw this.fail(`tensor "${name}" needs ${needed} elements but ${holds}`);
    }
    if (n === 0) return { dtype: storage.dtype, shape: [...shape], data: new Float32Array(0) };
    const span = decode(storage, this.littleEndian, offset, needed - offset);
    const data = isContiguous(shape, stride) ? span : gather(span, shape, stride);
    return { dtype: storage.dtype, shape: [...shape], data };
  }
}

/** Whether strides are row-major for the shape (strides of size-1 dimensions do not matter). */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Copies a strided view (strides in elements from `span[0]`) into a new row-major array. */
function gather(span: Float32Array, shape: number[], stride: number[]): Float32Array {
  const out = new Float32Array(numel(shape));
  const index = new Array<number>(shape.length).fill(0);
  let at = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = span[at];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) {
        at += stride[d];
        break;
      }
      at -= (shape[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}

/** Storage elements `start .. start + count - 1` as f32. */
function decode(storage: Storage, le: boolean, start: number, count: number): Float32Array {
  const b = storage.bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float32Array(count);
  switch (storage.dtype) {
    case "f16": {
      const table = halfTable();
      const [lo, hi] = le ? [0, 1] : [1, 0];
      for (let i = 0, j = 2 * start; i < count; i++, j += 2) out[i] = table[b[j + lo] | (b[j + hi] << 8)];
      break;
    }
    case "bf16": {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * (start + i), le) << 16;
      break;
    }
    case "f32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * (start + i), le);
      break;
    case "f64":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * (start + i), le);
      break;
    case "i64":
      for (let i = 0, j = 8 * start; i < count; i++, j += 8) {
        out[i] = view.getInt32(j + (le ? 4 : 0), le) * 2 ** 32 + view.getUint32(j + (le ? 0 : 4), le);
      }
      break;
    case "i32":
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * (start + i), le);
      break;
    case "i16":
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * (start + i), le);
      break;
    case "i8":
      for (let i = 0; i < count; i++) out[i] = view.getInt8(start + i);
      break;
    case "u8":
      out.set(b.subarray(start, start + count));
      break;
    case "bool":
      for (let i = 0; i < count; i++) out[i] = b[start + i] ? 1 : 0;
      break;
  }
  return out;
}

let halfValues: Float32Array | undefined;

/** The f32 value of every IEEE binary16 bit pattern, subnormals, infinities and NaNs included. */
function halfTable(): Float32Array {
  if (halfValues) return halfValues;
  halfValues = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    const magnitude = exponent === 0
      ? fraction * 2 ** -24
      : exponent === 31
      ? (fraction ? NaN : Infinity)
      : (1024 + fraction) * 2 ** (exponent - 25);
    halfValues[h] = h & 0x8000 ? -magnitude : magnitude;
  }
  return halfValues;
}

/** `model.state_dict()`: parameters and persistent buffers of every submodule, depth first. */
function collectState(
  root: PyObject,
  rootPrefix: string,
  toTensor: (ref: unknown, name: string) => Tensor,
): StateDict {
  const state: StateDict = new Map();
  const visit = (module: PyObject, prefix: string, seen: Set<PyObject>) => {
    if (seen.has(module)) return;
    seen.add(module);
    const skip = module._non_persistent_buffers_set instanceof Set
      ? module._non_persistent_buffers_set
      : new Set();
    for (const [table, isBuffer] of [[module._parameters, false], [module._buffers, true]] as const) {
      if (!(table instanceof Map)) continue;
      for (const [key, value] of table) {
        if (value === null || (isBuffer && skip.has(key))) continue;
        state.set(`${prefix}${key}`, toTensor(value, `${prefix}${key}`));
      }
    }
    if (!(module._modules instanceof Map)) return;
    for (const [key, child] of module._modules) {
      if (child instanceof PyObject) visit(child, `${prefix}${key}.`, seen);
    }
  };
  visit(root, rootPrefix, new Set());
  return state;
}

/** The last child of the model's `model` Sequential (the head), or of the model itself. */
function lastModule(model: PyObject): PyObject | undefined {
  const modules = model._modules as Map<unknown, unknown>;
  const seq = modules.get("model");
  const children = seq instanceof PyObject && seq._modules instanceof Map ? seq._modules : modules;
  const last = [...children.values()].at(-1);
  return last instanceof PyObject ? last : undefined;
}

const headTasks: [RegExp, string][] = [
  [/Segment\w*$/, "segment"],
  [/Pose\w*$/, "pose"],
  [/OBB\w*$/, "obb"],
  [/Classify\w*$/, "classify"],
  [/Detect\w*$/, "detect"],
];

/** `model.task`, else the task in the model's or training args, else guessed from the head class. */
function modelTask(model: PyObject, trainArgs: unknown, headClass: string): string {
  const args = toPlain(model.args);
  for (const candidate of [model.task, isRecord(args) && args.task, isRecord(trainArgs) && trainArgs.task]) {
    if (typeof candidate === "string" && candidate) return candidate;
  }
  return headTasks.find(([pattern]) => pattern.test(headClass))?.[1] ?? "detect";
}

/** Class names from a `{0: "person", ...}` dict or a list; `class{i}` when absent. */
function classNames(names: unknown, nc: unknown): string[] {
  if (names instanceof Map || isRecord(names)) {
    const pairs = names instanceof Map ? [...names] : Object.entries(names);
    const out: string[] = [];
    for (const [key, value] of pairs) {
      const index = Number(key);
      if (Number.isInteger(index) && index >= 0 && index < pairs.length) out[index] = String(value);
    }
    return Array.from(out, (name, i) => name ?? `class${i}`);
  }
  if (Array.isArray(names)) return names.map(String);
  return Array.from({ length: typeof nc === "number" ? nc : 0 }, (_, i) => `class${i}`);
}

function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((v) => typeof v === "number") : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Dicts → plain objects (keys as strings), namespaces → their attributes, sets → arrays; recursively. */
function toPlain(value: unknown, seen = new Map<unknown, unknown>()): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value) || value instanceof Set) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(toPlain(item, seen));
    return out;
  }
  const pairs = value instanceof Map
    ? [...value]
    : value instanceof PyObject
    ? Object.entries(value).filter(([key]) => !key.startsWith("__"))
    : undefined;
  if (!pairs) return value;
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [key, item] of pairs) {
    Object.defineProperty(out, String(key), {
      value: toPlain(item, seen),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Whether the bytes start like a pre-1.6 `torch.save` file (a pickled magic number, no zip). */
function isLegacyFormat(bytes: Uint8Array): boolean {
  const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}
