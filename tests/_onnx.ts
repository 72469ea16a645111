/**
 * A minimal ONNX reader for tests: a hand-written protobuf walker that pulls the graph's float32
 * initializers (the oracle for BN-folded weights), int64 initializers and nodes out of a `.onnx` file.
 * Only the fields tests need are decoded; everything else is skipped by wire type.
 *
 * @module
 */

/** A float32 initializer: dims and values. */
export interface OnnxTensor {
  dims: number[];
  data: Float32Array;
}

/** An int64 initializer (shapes, axes, ...): dims and values as numbers. */
export interface OnnxIntTensor {
  dims: number[];
  data: number[];
}

/** An attribute value: a number (`f`, `i`), a string (`s`), a list of numbers, or a tensor (`t`). */
export type OnnxAttribute = number | string | number[] | OnnxTensor | OnnxIntTensor;

/** A graph node. */
export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

/** The parts of a ModelProto's graph that tests read. */
export interface OnnxGraph {
  /** Float32 initializers in file order. */
  initializers: Map<string, OnnxTensor>;
  /** Int64 initializers in file order. */
  intInitializers: Map<string, OnnxIntTensor>;
  nodes: OnnxNode[];
  /** Graph input names (field 11), initializers excluded when an old exporter listed them there. */
  inputs: string[];
  /** Graph output names (field 12). */
  outputs: string[];
}

/** TensorProto.DataType values this reader decodes. */
const FLOAT = 1;
const INT64 = 7;

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/**
 * Reads a protobuf message: call `next()` until it returns false, then read the field's payload with
 * the method matching its wire type, or `skipField()` it.
 */
export class ProtoReader {
  pos: number;
  field = 0;
  wire = 0;
  readonly #bytes: Uint8Array;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.pos = start;
    this.#end = end;
  }

  /** Advances to the next field's tag; false at the end of the message. */
  next(): boolean {
    if (this.pos >= this.#end) return false;
    const tag = this.varint();
    this.field = Math.floor(tag / 8);
    this.wire = tag % 8;
    if (this.field === 0) throw new SyntaxError(`Cannot read protobuf: field number 0 at byte ${this.pos}`);
    return true;
  }

  /** An unsigned varint, for tags, lengths and enums (exact up to 2^53). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.#end) throw new SyntaxError("Cannot read protobuf: varint runs past the end");
      const byte = this.#bytes[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new SyntaxError(`Cannot read protobuf: varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A varint read as a signed int64 (two's complement, so `-1` is ten bytes), exact when |v| < 2^53. */
  int64(): number {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.#end) throw new SyntaxError("Cannot read protobuf: varint runs past the end");
      const byte = this.#bytes[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return Number(BigInt.asIntN(64, result));
      shift += 7n;
    }
    throw new SyntaxError(`Cannot read protobuf: varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A length-delimited payload (a view, not a copy). */
  bytes(): Uint8Array {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.#end) {
      throw new SyntaxError(
        `Cannot read protobuf: field of ${length} bytes at byte ${start} runs past the end`,
      );
    }
    this.pos += length;
    return this.#bytes.subarray(start, start + length);
  }

  /** A length-delimited payload as a reader over the same bytes. */
  message(): ProtoReader {
    const b = this.bytes();
    return new ProtoReader(this.#bytes, b.byteOffset - this.#bytes.byteOffset, this.pos);
  }

  string(): string {
    return decoder.decode(this.bytes());
  }

  /** A little-endian float (wire type 5). */
  float32(): number {
    const b = this.#fixed(4);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  }

  /** Skips the current field's payload. */
  skipField(): void {
    switch (this.wire) {
      case VARINT:
        this.varint();
        break;
      case FIXED64:
        this.#fixed(8);
        break;
      case LEN:
        this.bytes();
        break;
      case FIXED32:
        this.#fixed(4);
        break;
      default:
        throw new SyntaxError(`Cannot read protobuf: unsupported wire type ${this.wire} at byte ${this.pos}`);
    }
  }

  /** Repeated varints: packed (one LEN field) or one at a time. */
  varints(out: number[], signed = false): void {
    const read = (r: ProtoReader) => out.push(signed ? r.int64() : r.varint());
    if (this.wire === LEN) {
      const packed = this.message();
      while (packed.pos < packed.#end) read(packed);
    } else read(this);
  }

  #fixed(size: number): Uint8Array {
    if (this.pos + size > this.#end) {
      throw new SyntaxError("Cannot read protobuf: fixed field runs past the end");
    }
    this.pos += size;
    return this.#bytes.subarray(this.pos - size, this.pos);
  }
}

const decoder = new TextDecoder();

/**
 * Reads the graph of an ONNX ModelProto (field 7): initializers (field 5), nodes (field 1), graph inputs
 * (11) and outputs (12). Initializers of types other than float32 and int64 are skipped, as is external data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readOnnxGraph } from "./_onnx.ts";
 * assert.equal(readOnnxGraph(new Uint8Array()).nodes.length, 0);
 * ```
 */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraph {
  const graph: OnnxGraph = {
    initializers: new Map(),
    intInitializers: new Map(),
    nodes: [],
    inputs: [],
    outputs: [],
  };
  const model = new ProtoReader(bytes);
  while (model.next()) {
    if (model.field !== 7 || model.wire !== LEN) {
      model.skipField();
      continue;
    }
    const g = model.message();
    while (g.next()) {
      if (g.wire !== LEN) g.skipField();
      else if (g.field === 1) graph.nodes.push(readNode(g.message()));
      else if (g.field === 5) {
        const t = readTensor(g.message());
        if (t.float) graph.initializers.set(t.name, t.float);
        else if (t.int) graph.intInitializers.set(t.name, t.int);
      } else if (g.field === 11) graph.inputs.push(valueInfoName(g.message()));
      else if (g.field === 12) graph.outputs.push(valueInfoName(g.message()));
      else g.skipField();
    }
  }
  const isInitializer = (name: string) => graph.initializers.has(name) || graph.intInitializers.has(name);
  graph.inputs = graph.inputs.filter((name) => !isInitializer(name));
  return graph;
}

/** The float32 initializers of an ONNX model, by name, in file order. */
export function readOnnxInitializers(bytes: Uint8Array): Map<string, OnnxTensor> {
  return readOnnxGraph(bytes).initializers;
}

/** The nodes of an ONNX model's graph, in file (topological) order. */
export function readOnnxNodes(bytes: Uint8Array): OnnxNode[] {
  return readOnnxGraph(bytes).nodes;
}

/** TensorProto: dims=1, data_type=2, float_data=4, int64_data=7, name=8, raw_data=9. */
function readTensor(r: ProtoReader): { name: string; float?: OnnxTensor; int?: OnnxIntTensor } {
  const dims: number[] = [];
  const floats: number[] = [];
  const ints: number[] = [];
  let dataType = 0;
  let name = "";
  let raw: Uint8Array | undefined;
  while (r.next()) {
    if (r.field === 1) r.varints(dims, true);
    else if (r.field === 2 && r.wire === VARINT) dataType = r.varint();
    else if (r.field === 4 && r.wire === LEN) {
      const b = r.bytes();
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i + 4 <= b.byteLength; i += 4) floats.push(view.getFloat32(i, true));
    } else if (r.field === 4 && r.wire === FIXED32) floats.push(r.float32());
    else if (r.field === 7) r.varints(ints, true);
    else if (r.field === 8 && r.wire === LEN) name = r.string();
    else if (r.field === 9 && r.wire === LEN) raw = r.bytes();
    else r.skipField();
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (dataType === FLOAT) {
    let data: Float32Array;
    if (raw) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = new Float32Array(raw.byteLength / 4);
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(4 * i, true);
    } else data = Float32Array.from(floats);
    if (data.length !== count) {
      throw new SyntaxError(
        `Cannot read ONNX initializer "${name}": ${data.length} values for dims [${dims}]`,
      );
    }
    return { name, float: { dims, data } };
  }
  if (dataType === INT64) {
    let data = ints;
    if (raw) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = [];
      for (let i = 0; i + 8 <= raw.byteLength; i += 8) data.push(Number(view.getBigInt64(i, true)));
    }
    return { name, int: { dims, data } };
  }
  return { name };
}

/** NodeProto: input=1, output=2, name=3, op_type=4, attribute=5. */
function readNode(r: ProtoReader): OnnxNode {
  const node: OnnxNode = { opType: "", name: "", inputs: [], outputs: [], attributes: {} };
  while (r.next()) {
    if (r.wire !== LEN) r.skipField();
    else if (r.field === 1) node.inputs.push(r.string());
    else if (r.field === 2) node.outputs.push(r.string());
    else if (r.field === 3) node.name = r.string();
    else if (r.field === 4) node.opType = r.string();
    else if (r.field === 5) {
      const [key, value] = readAttribute(r.message());
      if (value !== undefined) node.attributes[key] = value;
    } else r.skipField();
  }
  return node;
}

/** AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8; graphs and string lists are skipped. */
function readAttribute(r: ProtoReader): [string, OnnxAttribute | undefined] {
  let name = "";
  let value: OnnxAttribute | undefined;
  const list: number[] = [];
  let isList = false;
  while (r.next()) {
    if (r.field === 1 && r.wire === LEN) name = r.string();
    else if (r.field === 2 && r.wire === FIXED32) value = r.float32();
    else if (r.field === 3 && r.wire === VARINT) value = r.int64();
    else if (r.field === 4 && r.wire === LEN) value = r.string();
    else if (r.field === 5 && r.wire === LEN) {
      const t = readTensor(r.message());
      value = t.float ?? t.int;
    } else if (r.field === 7) {
      isList = true;
      if (r.wire === LEN) {
        const b = r.bytes();
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        for (let i = 0; i + 4 <= b.byteLength; i += 4) list.push(view.getFloat32(i, true));
      } else list.push(r.float32());
    } else if (r.field === 8) {
      isList = true;
      r.varints(list, true);
    } else r.skipField();
  }
  return [name, isList ? list : value];
}

/** ValueInfoProto: name=1. */
function valueInfoName(r: ProtoReader): string {
  let name = "";
  while (r.next()) {
    if (r.field === 1 && r.wire === LEN) name = r.string();
    else r.skipField();
  }
  return name;
}
