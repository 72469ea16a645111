/**
 * A restricted unpickler for the pickles `torch.save` writes (protocols 2–5). It never runs code:
 * globals resolve through a small allowlist of safe JS stand-ins, and any other class becomes a
 * {@linkcode PyObject} recording its constructor arguments and state.
 * @module
 */

/** A pickle that cannot be read; `offset` is the byte offset of the offending opcode. */
export class PickleError extends SyntaxError {
  /** Always `"PickleError"`. */
  override name = "PickleError";
  /** Byte offset of the opcode that failed. */
  offset: number;
  /** What went wrong, without the offset. */
  reason: string;
  /** An error for `reason` at byte `offset`. */
  constructor(reason: string, offset: number) {
    super(`Cannot unpickle: ${reason} at offset ${offset}`);
    this.reason = reason;
    this.offset = offset;
  }
}

/** A global the pickle names (`module.Name`) that is not an allowlisted callable, e.g. `torch.HalfStorage`. */
export class PyGlobal {
  /** Dotted name, with Python 2 module names mapped to Python 3 (`__builtin__` → `builtins`). */
  readonly name: string;
  /** A global named `module.Name`. */
  constructor(name: string) {
    this.name = name;
  }
}

/**
 * An instance of a class outside the allowlist, e.g. `ultralytics.nn.tasks.SegmentationModel`.
 * Attributes from a dict state (BUILD) are own properties; the rest is kept under `__`-names.
 */
export class PyObject {
  /** Attributes set by BUILD. */
  [attribute: string]: unknown;
  /** Dotted class name. */
  __class__: string;
  /** Positional arguments given to the class (NEWOBJ, NEWOBJ_EX or REDUCE). */
  __args__: unknown[];
  /** Keyword arguments (NEWOBJ_EX only). */
  __kwargs__?: Map<unknown, unknown>;
  /** A BUILD state that is not a dict of attributes. */
  __state__?: unknown;
  /** Items added by SETITEMS (dict subclasses) or APPENDS (list subclasses). */
  __items__?: Map<unknown, unknown> | unknown[];
  /** An instance of `className` made with `args`, before any BUILD. */
  constructor(className: string, args: unknown[]) {
    this.__class__ = className;
    this.__args__ = args;
  }
}

/** A view into a torch storage, as `torch._utils._rebuild_tensor_v2` describes it. */
export class TensorRef {
  /** Whatever `persistentLoad` returned for the storage. */
  storage: unknown;
  /** Offset of the first element, in elements. */
  offset: number;
  /** Sizes of the dimensions. */
  shape: number[];
  /** Strides in elements. */
  stride: number[];
  /** The `requires_grad` flag. */
  requiresGrad = false;
  /** Whether it was pickled as an `nn.Parameter`. */
  isParameter = false;
  /** A view of `shape` with `stride` starting `offset` elements into `storage`. */
  constructor(storage: unknown, offset: number, shape: number[], stride: number[]) {
    this.storage = storage;
    this.offset = offset;
    this.shape = shape;
    this.stride = stride;
  }
}

/** Options of {@linkcode unpickle}. */
export interface UnpickleOptions {
  /** Resolves a persistent id (BINPERSID); torch passes `("storage", type, key, location, numel)`. */
  persistentLoad?: (pid: unknown) => unknown;
}

/**
 * Reads a pickle without executing anything. Python values map to JS as: dict → `Map`, list and
 * tuple → array, set and frozenset → `Set`, str → string, bytes → `Uint8Array`, int → number
 * (bigint beyond 2^53), float → number, None → null, bool → boolean; tensors → {@linkcode TensorRef}.
 *
 * @param bytes The pickle stream.
 * @param options The persistent-load callback.
 * @returns The unpickled value.
 * @throws {PickleError} On an unknown or unsupported opcode, truncated data or malformed structure.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  return new Unpickler(bytes, options).load();
}

const utf8 = new TextDecoder();
/** Names of every opcode of protocols 0–5, for error messages. */
// deno-fmt-ignore
const opcodeNames = new Map(Object.entries({
  MARK: 0x28, EMPTY_TUPLE: 0x29, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43, FLOAT: 0x46, BINFLOAT: 0x47, INT: 0x49, BININT: 0x4a, BININT1: 0x4b, LONG: 0x4c,
  BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52, STRING: 0x53, BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, EMPTY_LIST: 0x5d, APPEND: 0x61, BUILD: 0x62,
  GLOBAL: 0x63, DICT: 0x64, APPENDS: 0x65, GET: 0x67, BINGET: 0x68, INST: 0x69, LONG_BINGET: 0x6a,
  LIST: 0x6c, OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74,
  SETITEMS: 0x75, EMPTY_DICT: 0x7d, PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84,
  TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90,
  FROZENSET: 0x91, NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95, BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
}).map(([name, code]) => [code, name]));

/** Thrown by allowlisted callables on arguments they cannot take; becomes a {@linkcode PickleError}. */
class ArgumentError extends Error {}

type Callable = (args: unknown[]) => unknown;

class Unpickler {
  private view: DataView;
  private pos = 0;
  private at = 0;
  private stack: unknown[] = [];
  private marks: number[] = [];
  private memo = new Map<number, unknown>();

  constructor(private bytes: Uint8Array, private options: UnpickleOptions) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  load(): unknown {
    for (;;) {
      this.at = this.pos;
      const op = this.u8();
      if (op === 0x2e) return this.pop(); // STOP
      this.step(op);
    }
  }

  private step(op: number): void {
    const s = this.stack;
    switch (op) {
      case 0x80: { // PROTO
        const protocol = this.u8();
        if (protocol > 5) this.fail(`unsupported pickle protocol ${protocol}`);
        return;
      }
      case 0x95: // FRAME: frames only group opcodes; the stream reads the same without them
        this.take(8);
        return;
      case 0x28: // MARK
        this.marks.push(s.length);
        return;
      case 0x30: // POP
        if (s.length > (this.marks.at(-1) ?? 0)) this.pop();
        else this.popMark();
        return;
      case 0x31: // POP_MARK
        this.popMark();
        return;
      case 0x32: // DUP
        s.push(this.top());
        return;
      case 0x4e: // NONE
        s.push(null);
        return;
      case 0x88: // NEWTRUE
        s.push(true);
        return;
      case 0x89: // NEWFALSE
        s.push(false);
        return;
      case 0x4a: // BININT
        s.push(this.view.getInt32(this.advance(4), true));
        return;
      case 0x4b: // BININT1
        s.push(this.u8());
        return;
      case 0x4d: // BININT2
        s.push(this.view.getUint16(this.advance(2), true));
        return;
      case 0x8a: // LONG1
        s.push(decodeLong(this.take(this.u8())));
        return;
      case 0x8b: // LONG4
        s.push(decodeLong(this.take(this.size(this.view.getInt32(this.advance(4), true)))));
        return;
      case 0x47: // BINFLOAT
        s.push(this.view.getFloat64(this.advance(8), false));
        return;
      case 0x49: // INT
        s.push(this.textInt(this.line()));
        return;
      case 0x4c: // LONG
        s.push(this.textInt(this.line().replace(/L$/, "")));
        return;
      case 0x46: // FLOAT
        s.push(Number(this.line()));
        return;
      case 0x58: // BINUNICODE
      case 0x54: // BINSTRING
        s.push(utf8.decode(this.take(this.view.getUint32(this.advance(4), true))));
        return;
      case 0x8c: // SHORT_BINUNICODE
      case 0x55: // SHORT_BINSTRING
        s.push(utf8.decode(this.take(this.u8())));
        return;
      case 0x8d: // BINUNICODE8
        s.push(utf8.decode(this.take(this.u64())));
        return;
      case 0x42: // BINBYTES
        s.push(this.take(this.view.getUint32(this.advance(4), true)).slice());
        return;
      case 0x43: // SHORT_BINBYTES
        s.push(this.take(this.u8()).slice());
        return;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        s.push(this.take(this.u64()).slice());
        return;
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        s.push([]);
        return;
      case 0x7d: // EMPTY_DICT
        s.push(new Map());
        return;
      case 0x8f: // EMPTY_SET
        s.push(new Set());
        return;
      case 0x85: // TUPLE1
        s.push([this.pop()]);
        return;
      case 0x86: // TUPLE2
        s.push(s.splice(this.need(2)));
        return;
      case 0x87: // TUPLE3
        s.push(s.splice(this.need(3)));
        return;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        s.push(this.popMark());
        return;
      case 0x91: // FROZENSET
        s.push(new Set(this.popMark()));
        return;
      case 0x64: { // DICT
        const dict = new Map();
        const items = this.popMark();
        for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i], items[i + 1]);
        s.push(dict);
        return;
      }
      case 0x61: // APPEND
        this.append(this.peek(1), [this.pop()]);
        return;
      case 0x65: { // APPENDS
        const items = this.popMark();
        this.append(this.top(), items);
        return;
      }
      case 0x73: { // SETITEM
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.top(), [key, value]);
        return;
      }
      case 0x75: { // SETITEMS
        const items = this.popMark();
        this.setItems(this.top(), items);
        return;
      }
      case 0x90: { // ADDITEMS
        const items = this.popMark();
        const target = this.top();
        if (!(target instanceof Set)) this.fail("ADDITEMS on a value that is not a set");
        for (const item of items) target.add(item);
        return;
      }
      case 0x71: // BINPUT
        this.memo.set(this.u8(), this.top());
        return;
      case 0x72: // LONG_BINPUT
        this.memo.set(this.view.getUint32(this.advance(4), true), this.top());
        return;
      case 0x70: // PUT
        this.memo.set(this.textIndex(), this.top());
        return;
      case 0x94: // MEMOIZE
        this.memo.set(this.memo.size, this.top());
        return;
      case 0x68: // BINGET
        s.push(this.get(this.u8()));
        return;
      case 0x6a: // LONG_BINGET
        s.push(this.get(this.view.getUint32(this.advance(4), true)));
        return;
      case 0x67: // GET
        s.push(this.get(this.textIndex()));
        return;
      case 0x63: { // GLOBAL
        const module = this.line();
        s.push(this.global(module, this.line()));
        return;
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== "string" || typeof name !== "string") this.fail("STACK_GLOBAL on non-strings");
        s.push(this.global(module, name));
        return;
      }
      case 0x52: { // REDUCE
        const args = this.pop();
        s.push(this.call(this.pop(), args));
        return;
      }
      case 0x81: { // NEWOBJ
        const args = this.pop();
        s.push(this.call(this.pop(), args));
        return;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = this.pop();
        const args = this.pop();
        const made = this.call(this.pop(), args);
        if (made instanceof PyObject && kwargs instanceof Map && kwargs.size > 0) made.__kwargs__ = kwargs;
        s.push(made);
        return;
      }
      case 0x62: { // BUILD
        const state = this.pop();
        setState(this.top(), state);
        return;
      }
      case 0x51: // BINPERSID
        s.push(this.persistentLoad(this.pop()));
        return;
      case 0x50: // PERSID
        s.push(this.persistentLoad(this.line()));
        return;
    }
    const name = opcodeNames.get(op);
    const hex = `0x${op.toString(16).padStart(2, "0")}`;
    this.fail(name ? `unsupported opcode ${name} (${hex})` : `unknown opcode ${hex}`);
  }

  private fail(reason: string): never {
    throw new PickleError(reason, this.at);
  }

  private advance(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.length) this.fail("unexpected end of data");
    this.pos = at + n;
    return at;
  }

  private take(n: number): Uint8Array {
    const at = this.advance(n);
    return this.bytes.subarray(at, at + n);
  }

  private u8(): number {
    return this.bytes[this.advance(1)];
  }

  private u64(): number {
    const at = this.advance(8);
    return this.size(this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * 2 ** 32);
  }

  private size(n: number): number {
    if (n < 0 || n > this.bytes.length - this.pos) this.fail("unexpected end of data");
    return n;
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail("unexpected end of data");
    const text = utf8.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  private textInt(text: string): number | bigint | boolean {
    if (text === "00") return false;
    if (text === "01") return true;
    if (!/^[+-]?\d+$/.test(text)) this.fail(`bad integer "${text}"`);
    const n = BigInt(text);
    return Number.isSafeInteger(Number(n)) ? Number(n) : n;
  }

  private textIndex(): number {
    const n = this.textInt(this.line());
    if (typeof n !== "number") this.fail("bad memo index");
    return n;
  }

  private top(): unknown {
    if (this.stack.length <= (this.marks.at(-1) ?? 0)) this.fail("stack underflow");
    return this.stack[this.stack.length - 1];
  }

  private pop(): unknown {
    this.top();
    return this.stack.pop();
  }

  /** The item `depth` places below the top, left in place. */
  private peek(depth: number): unknown {
    return this.stack[this.need(depth + 1)];
  }

  /** Index of the n-th item from the top, checking that it is above the last mark. */
  private need(n: number): number {
    const i = this.stack.length - n;
    if (i < (this.marks.at(-1) ?? 0)) this.fail("stack underflow");
    return i;
  }

  private popMark(): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail("no MARK on the stack");
    return this.stack.splice(mark);
  }

  private get(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`memo key ${index} is missing`);
    return this.memo.get(index);
  }

  private append(target: unknown, items: unknown[]): void {
    if (Array.isArray(target)) {
      for (const item of items) target.push(item);
    } else if (target instanceof PyObject) {
      const list = Array.isArray(target.__items__) ? target.__items__ : (target.__items__ = []);
      for (const item of items) list.push(item);
    } else {
      this.fail("APPEND on a value that is not a list");
    }
  }

  private setItems(target: unknown, items: unknown[]): void {
    let dict: Map<unknown, unknown>;
    if (target instanceof Map) dict = target;
    else if (target instanceof PyObject) {
      dict = target.__items__ instanceof Map ? target.__items__ : (target.__items__ = new Map());
    } else this.fail("SETITEM on a value that is not a dict");
    for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i], items[i + 1]);
  }

  private global(module: string, name: string): unknown {
    const full = `${Object.hasOwn(python3Modules, module) ? python3Modules[module] : module}.${name}`;
    return resolveGlobal(full);
  }

  private call(callable: unknown, args: unknown): unknown {
    if (!Array.isArray(args)) this.fail("call arguments are not a tuple");
    if (typeof callable === "function") {
      try {
        return (callable as Callable)(args);
      } catch (error) {
        if (error instanceof ArgumentError) this.fail(error.message);
        throw error;
      }
    }
    if (callable instanceof PyGlobal) return new PyObject(callable.name, args);
    this.fail("call of a value that is not a global");
  }

  private persistentLoad(pid: unknown): unknown {
    if (!this.options.persistentLoad) this.fail("persistent id without a persistentLoad callback");
    return this.options.persistentLoad(pid);
  }
}

/** An allowlisted callable, or a {@linkcode PyGlobal} naming anything else. */
function resolveGlobal(name: string): Callable | PyGlobal {
  return Object.hasOwn(allowlist, name) ? allowlist[name] : new PyGlobal(name);
}

const python3Modules: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" };

/** Little-endian two's-complement integer of LONG1/LONG4; a bigint when it is beyond 2^53. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  if (b.length <= 6) {
    let n = 0;
    for (let i = b.length - 1; i >= 0; i--) n = n * 256 + b[i];
    return b[b.length - 1] & 0x80 ? n - 2 ** (8 * b.length) : n;
  }
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) n -= 1n << BigInt(8 * b.length);
  return Number.isSafeInteger(Number(n)) ? Number(n) : n;
}

const reservedAttributes = new Set(["__class__", "__args__", "__kwargs__", "__state__", "__items__"]);

/** BUILD: a dict state (or the `(dict, slots)` pair) becomes attributes; other states are kept as-is. */
function setState(target: unknown, state: unknown): void {
  if (!(target instanceof PyObject)) return;
  const isDict = (v: unknown) => v === null || v instanceof Map;
  if (state instanceof Map) mergeAttributes(target, state);
  else if (Array.isArray(state) && state.length === 2 && isDict(state[0]) && isDict(state[1])) {
    for (const part of state) if (part) mergeAttributes(target, part);
  } else target.__state__ = state;
}

function mergeAttributes(target: PyObject, dict: Map<unknown, unknown>): void {
  for (const [key, value] of dict) {
    if (typeof key !== "string" || reservedAttributes.has(key)) continue;
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

function arg<T>(args: unknown[], i: number, check: (v: unknown) => v is T, what: string, fn: string): T {
  const v = args[i];
  if (!check(v)) throw new ArgumentError(`${fn} expects ${what} as argument ${i + 1}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isInts = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isInteger(d));
const isTensor = (v: unknown): v is TensorRef => v instanceof TensorRef;
const isGlobal = (v: unknown): v is PyGlobal => v instanceof PyGlobal;
const isCallable = (v: unknown): v is Callable => typeof v === "function";

function rebuildTensor(args: unknown[], fn: string): TensorRef {
  const offset = arg(args, 1, Number.isInteger as (v: unknown) => v is number, "an integer offset", fn);
  const shape = arg(args, 2, isInts, "a size tuple", fn);
  const stride = arg(args, 3, isInts, "a stride tuple", fn);
  if (stride.length !== shape.length) throw new ArgumentError(`${fn} expects as many strides as sizes`);
  const tensor = new TensorRef(args[0], offset, [...shape], [...stride]);
  tensor.requiresGrad = args[4] === true;
  return tensor;
}

function rebuildParameter(args: unknown[], fn: string): TensorRef {
  const data = arg(args, 0, isTensor, "a tensor", fn);
  const parameter = new TensorRef(data.storage, data.offset, data.shape, data.stride);
  parameter.requiresGrad = args[1] === true;
  parameter.isParameter = true;
  return parameter;
}

function encode(args: unknown[]): Uint8Array {
  const text = arg(args, 0, isString, "a string", "_codecs.encode");
  const encoding = String(args[1] ?? "utf-8").toLowerCase().replace("_", "-");
  if (encoding === "utf-8" || encoding === "utf8") return new TextEncoder().encode(text);
  if (encoding !== "latin1" && encoding !== "latin-1" && encoding !== "iso-8859-1") {
    throw new ArgumentError(`_codecs.encode does not support encoding "${encoding}"`);
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** The items of a Python iterable argument (a list, tuple, set, dict or str). */
function toItems(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  if (v instanceof Set || v instanceof Map) return [...v.keys()];
  if (typeof v === "string") return [...v];
  throw new ArgumentError("expected an iterable");
}

/** A dict from a dict or an iterable of `(key, value)` pairs. */
function toMap(v: unknown): Map<unknown, unknown> {
  if (v instanceof Map) return new Map(v);
  return new Map(
    toItems(v).map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new ArgumentError("expected (key, value) pairs");
      return [pair[0], pair[1]];
    }),
  );
}

/** Bytes from a list of ints, or from a str and an encoding. */
function toBytes(args: unknown[]): Uint8Array {
  return typeof args[0] === "string" ? encode(args) : Uint8Array.from(toItems(args[0]) as number[]);
}

/** The only globals that run JS when called; everything else is a {@linkcode PyGlobal}. */
const allowlist: Record<string, Callable> = {
  "collections.OrderedDict": (args) => toMap(args[0]),
  "builtins.dict": (args) => toMap(args[0]),
  "builtins.set": (args) => new Set(toItems(args[0])),
  "builtins.frozenset": (args) => new Set(toItems(args[0])),
  "builtins.list": (args) => [...toItems(args[0])],
  "builtins.tuple": (args) => [...toItems(args[0])],
  "builtins.bytes": toBytes,
  "builtins.bytearray": toBytes,
  "_codecs.encode": encode,
  "builtins.getattr": (args) => {
    const [target, name] = [args[0], arg(args, 1, isString, "an attribute name", "getattr")];
    if (target instanceof PyGlobal) return resolveGlobal(`${target.name}.${name}`);
    if (target instanceof PyObject && Object.hasOwn(target, name)) return target[name];
    throw new ArgumentError(`getattr cannot resolve attribute "${name}"`);
  },
  "copyreg._reconstructor": (args) => {
    const cls = arg(args, 0, isGlobal, "a class", "copyreg._reconstructor");
    return new PyObject(cls.name, args[2] === null || args[2] === undefined ? [] : [args[2]]);
  },
  "torch.Size": (args) => [...arg(args, 0, isInts, "a size tuple", "torch.Size")],
  "torch._utils._rebuild_tensor": (args) => rebuildTensor(args, "torch._utils._rebuild_tensor"),
  "torch._utils._rebuild_tensor_v2": (args) => rebuildTensor(args, "torch._utils._rebuild_tensor_v2"),
  "torch._utils._rebuild_parameter": (args) => rebuildParameter(args, "torch._utils._rebuild_parameter"),
  "torch._utils._rebuild_parameter_with_state": (args) =>
    rebuildParameter(args, "torch._utils._rebuild_parameter_with_state"),
  "torch._tensor._rebuild_from_type_v2": (args) => {
    const fn = "torch._tensor._rebuild_from_type_v2";
    const rebuild = arg(args, 0, isCallable, "an allowlisted function", fn);
    return rebuild(arg(args, 2, Array.isArray, "an argument tuple", fn));
  },
};
