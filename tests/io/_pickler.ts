/**
 * A tiny pickle writer for tests: each helper returns the opcode bytes of one value, so test pickles
 * read like the Python objects they encode. Protocol 2 uses GLOBAL and BINUNICODE; 4 uses
 * STACK_GLOBAL, SHORT_BINUNICODE, MEMOIZE and a FRAME.
 * @module
 */

/** Opcode bytes of one pickled value. */
export type Op = number[];

const le32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const le64 = (n: number) => [...le32(n), ...le32(Math.floor(n / 2 ** 32))];
const utf8 = (s: string) => [...new TextEncoder().encode(s)];

/** A pickle writer for one protocol. */
export function pickler(protocol: 2 | 4) {
  const memoize: Op = protocol >= 4 ? [0x94] : [];
  const str = (s: string): Op => {
    const b = utf8(s);
    return protocol >= 4 && b.length < 256
      ? [0x8c, b.length, ...b, ...memoize]
      : [0x58, ...le32(b.length), ...b];
  };
  const int = (n: number): Op => {
    if (n >= 0 && n < 256) return [0x4b, n];
    if (n >= 0 && n < 65536) return [0x4d, n & 0xff, n >> 8];
    return [0x4a, ...le32(n)];
  };
  const global = (module: string, name: string): Op =>
    protocol >= 4
      ? [...str(module), ...str(name), 0x93, ...memoize]
      : [0x63, ...utf8(`${module}\n${name}\n`)];
  const tuple = (...items: Op[]): Op => {
    if (items.length === 0) return [0x29];
    if (items.length <= 3) return [...items.flat(), 0x84 + items.length];
    return [0x28, ...items.flat(), 0x74];
  };
  const list = (
    ...items: Op[]
  ): Op => [0x5d, ...memoize, ...(items.length ? [0x28, ...items.flat(), 0x65] : [])];
  const dict = (pairs: [string, Op][]): Op => [
    0x7d,
    ...memoize,
    ...(pairs.length ? [0x28, ...pairs.flatMap(([k, v]) => [...str(k), ...v]), 0x75] : []),
  ];
  const none: Op = [0x4e];
  const bool = (b: boolean): Op => [b ? 0x88 : 0x89];
  const reduce = (callable: Op, args: Op): Op => [...callable, ...args, 0x52];
  const newobj = (cls: Op, args: Op): Op => [...cls, ...args, 0x81];
  const build = (obj: Op, state: Op): Op => [...obj, ...state, 0x62];
  const persid = (pid: Op): Op => [...pid, 0x51];
  /** `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`. */
  const tensor = (storage: Op, offset: number, size: number[], stride: number[]): Op =>
    reduce(
      global("torch._utils", "_rebuild_tensor_v2"),
      tuple(
        storage,
        int(offset),
        tuple(...size.map(int)),
        tuple(...stride.map(int)),
        bool(false),
        ordered([]),
      ),
    );
  /** `("storage", torch.<type>, key, "cpu", numel)` as a persistent id. */
  const storage = (type: string, key: string, numel: number): Op =>
    persid(tuple(str("storage"), global("torch", type), str(key), str("cpu"), int(numel)));
  const ordered = (pairs: [string, Op][]): Op => [
    ...reduce(global("collections", "OrderedDict"), tuple()),
    ...(pairs.length ? [0x28, ...pairs.flatMap(([k, v]) => [...str(k), ...v]), 0x75] : []),
  ];
  /** A whole pickle: PROTO, an optional FRAME, the value, STOP. */
  const dump = (value: Op): Uint8Array => {
    const body = [...value, 0x2e];
    const frame = protocol >= 4 ? [0x95, ...le64(body.length)] : [];
    return new Uint8Array([0x80, protocol, ...frame, ...body]);
  };
  return {
    str,
    int,
    global,
    tuple,
    list,
    dict,
    none,
    bool,
    reduce,
    newobj,
    build,
    persid,
    tensor,
    storage,
    ordered,
    dump,
  };
}
