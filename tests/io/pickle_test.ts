import assert from "node:assert/strict";
import { PickleError, PyGlobal, PyObject, TensorRef, unpickle } from "../../src/io/pickle.ts";
import { pickler } from "./_pickler.ts";

/** Bytes of ASCII text, for the text parts (GLOBAL lines) of hand-written pickles. */
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const load = (bytes: number[] | Uint8Array) => unpickle(new Uint8Array(bytes));

Deno.test("unpickle reads a protocol 2 dict of a list (BINPUT, BINUNICODE, BINFLOAT, SETITEM)", () => {
  // pickle.dumps({'a': [1, 2.5, None, True]}, protocol=2)
  // deno-fmt-ignore
  const bytes = [
    0x80, 0x02, // PROTO 2
    0x7d, 0x71, 0x00, // EMPTY_DICT, BINPUT 0
    0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71, 0x01, // BINUNICODE "a", BINPUT 1
    0x5d, 0x71, 0x02, 0x28, // EMPTY_LIST, BINPUT 2, MARK
    0x4b, 0x01, // BININT1 1
    0x47, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // BINFLOAT 2.5 (big-endian double)
    0x4e, 0x88, // NONE, NEWTRUE
    0x65, 0x73, 0x2e, // APPENDS, SETITEM, STOP
  ];
  assert.deepEqual(load(bytes), new Map([["a", [1, 2.5, null, true]]]));
});

Deno.test("unpickle reads the same dict under protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE)", () => {
  // pickle.dumps({'a': [1, 2.5, None, True]}, protocol=4)
  // deno-fmt-ignore
  const bytes = [
    0x80, 0x04, 0x95, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // PROTO 4, FRAME 25
    0x7d, 0x94, 0x8c, 0x01, 0x61, 0x94, // EMPTY_DICT, MEMOIZE, SHORT_BINUNICODE "a", MEMOIZE
    0x5d, 0x94, 0x28, 0x4b, 0x01, // EMPTY_LIST, MEMOIZE, MARK, BININT1 1
    0x47, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x88, // BINFLOAT 2.5, NONE, NEWTRUE
    0x65, 0x73, 0x2e, // APPENDS, SETITEM, STOP
  ];
  assert.deepEqual(load(bytes), new Map([["a", [1, 2.5, null, true]]]));
});

Deno.test("unpickle reads integers of every width and tuples of every length", () => {
  // deno-fmt-ignore
  const bytes = [
    0x80, 0x02, 0x28, // PROTO 2, MARK
    0x4a, 0xff, 0xff, 0xff, 0xff, // BININT -1
    0x4d, 0x2c, 0x01, // BININT2 300
    0x4a, 0x90, 0xee, 0xfe, 0xff, // BININT -70000
    0x8a, 0x01, 0x80, // LONG1 -128 (one byte, sign bit set)
    0x8a, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // LONG1 2**64
    0x8b, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // LONG4 256
    0x29, // EMPTY_TUPLE
    0x4b, 0x01, 0x85, // (1,)
    0x4b, 0x01, 0x4b, 0x02, 0x86, // (1, 2)
    0x4b, 0x01, 0x4b, 0x02, 0x4b, 0x03, 0x87, // (1, 2, 3)
    0x28, 0x4b, 0x01, 0x4b, 0x02, 0x4b, 0x03, 0x4b, 0x04, 0x74, // (1, 2, 3, 4)
    0x74, 0x2e, // TUPLE, STOP
  ];
  assert.deepEqual(load(bytes), [-1, 300, -70000, -128, 2n ** 64n, 256, [], [1], [1, 2], [1, 2, 3], [
    1,
    2,
    3,
    4,
  ]]);
});

Deno.test("unpickle shares memoized values (BINGET returns the same object)", () => {
  // x = {'k': 1}; pickle.dumps([x, x], protocol=2)
  // deno-fmt-ignore
  const bytes = [
    0x80, 0x02, 0x5d, 0x71, 0x00, 0x28, // EMPTY_LIST, BINPUT 0, MARK
    0x7d, 0x71, 0x01, 0x58, 0x01, 0x00, 0x00, 0x00, 0x6b, 0x71, 0x02, 0x4b, 0x01, 0x73, // {'k': 1}, BINPUT 1
    0x68, 0x01, 0x65, 0x2e, // BINGET 1, APPENDS, STOP
  ];
  const value = load(bytes) as Map<string, number>[];
  assert.deepEqual(value[0], new Map([["k", 1]]));
  assert.equal(value[0], value[1]);
});

Deno.test("unpickle reads bytes as protocol 2 writes them (_codecs.encode) and as protocol 3 does", () => {
  // pickle.dumps(b'\x00\xff', protocol=2): _codecs.encode('\x00ÿ', 'latin1')
  // deno-fmt-ignore
  const v2 = [
    0x80, 0x02, 0x63, ...ascii("_codecs\nencode\n"), 0x71, 0x00, // GLOBAL, BINPUT 0
    0x58, 0x03, 0x00, 0x00, 0x00, 0x00, 0xc3, 0xbf, 0x71, 0x01, // BINUNICODE "\x00ÿ"
    0x58, 0x06, 0x00, 0x00, 0x00, ...ascii("latin1"), 0x71, 0x02, // BINUNICODE "latin1"
    0x86, 0x71, 0x03, 0x52, 0x71, 0x04, 0x2e, // TUPLE2, REDUCE, STOP
  ];
  // deno-fmt-ignore
  const v3 = [0x80, 0x03, 0x43, 0x02, 0x00, 0xff, 0x71, 0x00, 0x2e]; // SHORT_BINBYTES
  assert.deepEqual(load(v2), new Uint8Array([0, 255]));
  assert.deepEqual(load(v3), new Uint8Array([0, 255]));
});

Deno.test("unpickle reads sets, frozensets and OrderedDicts as Set and Map", () => {
  // pickle.dumps({1, 2}, protocol=2): __builtin__.set([1, 2])
  // deno-fmt-ignore
  const set2 = [
    0x80, 0x02, 0x63, ...ascii("__builtin__\nset\n"), 0x71, 0x00,
    0x5d, 0x71, 0x01, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x65, 0x85, 0x71, 0x02, 0x52, 0x71, 0x03, 0x2e,
  ];
  // pickle.dumps({1, 2}, protocol=4): EMPTY_SET, MARK, ..., ADDITEMS
  // deno-fmt-ignore
  const set4 = [0x80, 0x04, 0x95, 9, 0, 0, 0, 0, 0, 0, 0, 0x8f, 0x94, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x90, 0x2e];
  // pickle.dumps(frozenset([3]), protocol=4)
  // deno-fmt-ignore
  const frozen = [0x80, 0x04, 0x28, 0x4b, 0x03, 0x91, 0x94, 0x2e];
  // pickle.dumps(OrderedDict([('w', 1)]), protocol=2)
  // deno-fmt-ignore
  const ordered = [
    0x80, 0x02, 0x63, ...ascii("collections\nOrderedDict\n"), 0x71, 0x00, 0x29, 0x52, 0x71, 0x01,
    0x58, 0x01, 0x00, 0x00, 0x00, 0x77, 0x71, 0x02, 0x4b, 0x01, 0x73, 0x2e,
  ];
  assert.deepEqual(load(set2), new Set([1, 2]));
  assert.deepEqual(load(set4), new Set([1, 2]));
  assert.deepEqual(load(frozen), new Set([3]));
  assert.deepEqual(load(ordered), new Map([["w", 1]]));
});

Deno.test("unpickle decodes UTF-8 text and protocol 5 bytearrays", () => {
  // deno-fmt-ignore
  const text = [0x80, 0x04, 0x8c, 0x06, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x94, 0x2e]; // 'héllo'
  // deno-fmt-ignore
  const bytearray = [0x80, 0x05, 0x96, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x07, 0x08, 0x2e]; // bytearray(b'\x07\x08')
  assert.equal(load(text), "héllo");
  assert.deepEqual(load(bytearray), new Uint8Array([7, 8]));
});

for (const protocol of [2, 4] as const) {
  const p = pickler(protocol);

  Deno.test(`unpickle keeps unknown classes as PyObject without running them (protocol ${protocol})`, () => {
    const conv = p.build(
      p.newobj(p.global("torch.nn.modules.conv", "Conv2d"), p.tuple()),
      p.dict([["in_channels", p.int(3)], ["training", p.bool(false)], ["__proto__", p.int(1)]]),
    );
    const namespace = p.build(p.reduce(p.global("argparse", "Namespace"), p.tuple(p.str("x"))), p.int(7));
    const value = unpickle(p.dump(p.list(conv, namespace))) as PyObject[];
    assert.ok(value[0] instanceof PyObject);
    assert.equal(value[0].__class__, "torch.nn.modules.conv.Conv2d");
    assert.deepEqual(value[0].__args__, []);
    assert.equal(value[0].in_channels, 3);
    assert.equal(value[0].training, false);
    assert.equal(
      Object.getPrototypeOf(value[0]),
      PyObject.prototype,
      "a __proto__ key stays an own property",
    );
    assert.equal(value[1].__class__, "argparse.Namespace");
    assert.deepEqual(value[1].__args__, ["x"]);
    assert.equal(value[1].__state__, 7);
  });

  Deno.test(`unpickle rebuilds torch tensors and parameters as TensorRef (protocol ${protocol})`, () => {
    const seen: unknown[] = [];
    const weight = p.tensor(p.storage("HalfStorage", "0", 12), 2, [2, 3], [1, 2]);
    const parameter = p.reduce(
      p.global("torch._utils", "_rebuild_parameter"),
      p.tuple(weight, p.bool(true), p.ordered([])),
    );
    const value = unpickle(p.dump(p.dict([["w", parameter], ["g", p.global("torch", "float16")]])), {
      persistentLoad: (pid) => (seen.push(pid), "storage-0"),
    }) as Map<string, unknown>;
    const w = value.get("w");
    assert.ok(w instanceof TensorRef);
    assert.deepEqual(
      { ...w },
      {
        storage: "storage-0",
        offset: 2,
        shape: [2, 3],
        stride: [1, 2],
        requiresGrad: true,
        isParameter: true,
      },
    );
    assert.equal(seen.length, 1);
    const [kind, type, key, location, numel] = seen[0] as unknown[];
    assert.deepEqual([kind, key, location, numel], ["storage", "0", "cpu", 12]);
    assert.deepEqual(type, new PyGlobal("torch.HalfStorage"));
    assert.deepEqual(value.get("g"), new PyGlobal("torch.float16"));
  });
}

/** The PickleError thrown for `bytes`. */
function errorOf(bytes: number[], options = {}): PickleError {
  try {
    unpickle(new Uint8Array(bytes), options);
  } catch (error) {
    assert.ok(error instanceof PickleError, String(error));
    return error;
  }
  assert.fail("no error thrown");
}

Deno.test("unpickle names an unknown opcode and its offset", () => {
  const error = errorOf([0x80, 0x02, 0x4e, 0xff, 0x2e]);
  assert.equal(error.message, "Cannot unpickle: unknown opcode 0xff at offset 3");
  assert.equal(error.offset, 3);
});

Deno.test("unpickle names a known opcode it does not support", () => {
  assert.match(
    errorOf([0x80, 0x02, 0x53, ...ascii("'a'\n"), 0x2e]).message,
    /unsupported opcode STRING \(0x53\) at offset 2/,
  );
});

Deno.test("unpickle rejects truncated data, stack underflow, protocol 6 and BINPERSID without a callback", () => {
  assert.match(
    errorOf([0x80, 0x02, 0x58, 0x05, 0x00, 0x00, 0x00, 0x61]).message,
    /unexpected end of data at offset 2/,
  );
  assert.match(errorOf([0x80, 0x02, 0x4e]).message, /unexpected end of data at offset 3/);
  assert.match(errorOf([0x80, 0x02, 0x73, 0x2e]).message, /stack underflow at offset 2/);
  assert.match(errorOf([0x80, 0x06, 0x2e]).message, /unsupported pickle protocol 6 at offset 0/);
  assert.match(
    errorOf([0x80, 0x02, 0x4e, 0x51, 0x2e]).message,
    /persistent id without a persistentLoad callback/,
  );
  assert.match(errorOf([0x80, 0x02, 0x68, 0x05, 0x2e]).message, /memo key 5 is missing at offset 2/);
});

Deno.test("unpickle rejects allowlisted callables given bad arguments", () => {
  const p = pickler(2);
  const bad = p.reduce(p.global("torch._utils", "_rebuild_tensor_v2"), p.tuple(p.none, p.str("x")));
  assert.match(
    errorOf([...p.dump(bad)]).message,
    /torch\._utils\._rebuild_tensor_v2 expects an integer offset as argument 2/,
  );
});
