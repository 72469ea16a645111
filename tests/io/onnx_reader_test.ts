import assert from "node:assert/strict";
import { ProtoReader, readOnnxGraph, readOnnxInitializers, readOnnxNodes } from "../_onnx.ts";
import { sharedPath } from "../_shared.ts";

const onnxBytes = Deno.readFileSync(sharedPath("models/yolo11n-seg-c128.onnx"));
const graph = readOnnxGraph(onnxBytes);

Deno.test("readOnnxGraph parses the Ultralytics YOLO11n-seg export", () => {
  assert.deepEqual(graph.inputs, ["images"]);
  assert.deepEqual(graph.outputs, ["output0", "output1"]);
  assert.equal(graph.initializers.size, 201);
  assert.equal(graph.nodes.filter((n) => n.opType === "Conv").length, 100);
  assert.equal(graph.nodes.filter((n) => n.opType === "ConvTranspose").length, 1);
  assert.equal(readOnnxInitializers(onnxBytes).size, graph.initializers.size);
  assert.equal(readOnnxNodes(onnxBytes).length, graph.nodes.length);
  for (const [name, { dims, data }] of graph.initializers) {
    assert.equal(data.length, dims.reduce((a, b) => a * b, 1), name);
    assert.ok(data.every(Number.isFinite), name);
  }
});

Deno.test("the first conv's BN-folded weight keeps its state-dict name and has dims [16,3,3,3]", () => {
  const weight = graph.initializers.get("model.0.conv.weight");
  assert.deepEqual(weight?.dims, [16, 3, 3, 3]);
  assert.deepEqual(graph.initializers.get("model.0.conv.bias")?.dims, [16]);
  const first = graph.nodes.find((n) => n.opType === "Conv")!;
  assert.deepEqual(first.inputs, ["images", "model.0.conv.weight", "model.0.conv.bias"]);
  assert.deepEqual(first.attributes, {
    dilations: [1, 1],
    group: 1,
    kernel_shape: [3, 3],
    pads: [1, 1, 1, 1],
    strides: [2, 2],
  });
});

Deno.test("every Conv and ConvTranspose node's weight and bias resolve to initializers of matching size", () => {
  for (const node of graph.nodes.filter((n) => n.opType === "Conv" || n.opType === "ConvTranspose")) {
    const [, weightName, biasName] = node.inputs;
    const weight = graph.initializers.get(weightName);
    assert.ok(weight, `${node.name}: weight "${weightName}" is an initializer`);
    assert.equal(weight.dims.length, 4, node.name);
    assert.deepEqual(node.attributes.kernel_shape, weight.dims.slice(2), node.name);
    const group = node.attributes.group as number;
    const outChannels = node.opType === "Conv" ? weight.dims[0] : weight.dims[1] * group;
    if (biasName !== undefined) {
      assert.deepEqual(graph.initializers.get(biasName)?.dims, [outChannels], node.name);
    }
    // Ultralytics' exporter keeps state-dict names on every conv parameter.
    assert.match(weightName, /^model\.\d+\.[\w.]+\.weight$/, node.name);
  }
  const proto = graph.nodes.find((n) => n.opType === "ConvTranspose")!;
  assert.deepEqual(proto.inputs.slice(1), ["model.23.proto.upsample.weight", "model.23.proto.upsample.bias"]);
  assert.deepEqual(graph.initializers.get("model.23.proto.upsample.weight")?.dims, [64, 64, 2, 2]);
  assert.deepEqual(proto.attributes.strides, [2, 2]);
});

Deno.test("int64 attributes decode negative values (ten-byte varints) and Constant tensors", () => {
  const softmax = graph.nodes.find((n) => n.name === "/model.10/m/m.0/attn/Softmax");
  assert.equal(softmax?.attributes.axis, -1);
  const shape = graph.nodes.find((n) => n.name === "/model.23/Constant")?.attributes.value;
  assert.deepEqual(shape, { dims: [3], data: [1, 32, -1] });
  assert.deepEqual(
    graph.initializers.get("model.23.dfl.conv.weight")?.data,
    Float32Array.from({ length: 16 }, (_, i) => i),
  );
});

// A ModelProto written by hand. Tags are (field << 3) | wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
// deno-fmt-ignore
const tensorW = [
  0x08, 0x02, //                 dims (1, varint): 2
  0x08, 0x03, //                 dims again, unpacked: 3
  0x10, 0x01, //                 data_type (2, varint): FLOAT = 1
  0x42, 0x01, 0x77, //           name (8, len 1): "w"
  0x4a, 0x18, //                 raw_data (9, len 24): 6 little-endian floats
  0x00, 0x00, 0x80, 0x3f, //     1
  0x00, 0x00, 0x00, 0xc0, //     -2
  0x00, 0x00, 0x00, 0x3f, //     0.5
  0x00, 0x00, 0x40, 0x40, //     3
  0x00, 0x00, 0x80, 0x7f, //     +inf
  0x00, 0x00, 0x00, 0x80, //     -0
]; // 2 + 2 + 2 + 3 + 26 = 35 bytes

// deno-fmt-ignore
const tensorV = [
  0x0a, 0x01, 0x02, //           dims (1, packed, len 1): [2]
  0x10, 0x01, //                 data_type: FLOAT
  0x22, 0x08, //                 float_data (4, packed, len 8)
  0x00, 0x00, 0x20, 0x41, //     10
  0x00, 0x00, 0x20, 0xc1, //     -10
  0x42, 0x01, 0x76, //           name: "v"
]; // 3 + 2 + 10 + 3 = 18 bytes

// deno-fmt-ignore
const tensorS = [
  0x08, 0x02, //                 dims: [2]
  0x10, 0x07, //                 data_type: INT64 = 7
  0x3a, 0x0c, //                 int64_data (7, packed, len 12)
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // -1: a ten-byte varint
  0xac, 0x02, //                 300 = 0b10_0101100: 0x2c | 0x80, then 0x02
  0x42, 0x01, 0x73, //           name: "s"
]; // 2 + 2 + 14 + 3 = 21 bytes

// deno-fmt-ignore
const node = [
  0x0a, 0x01, 0x78, //           input (1): "x"
  0x0a, 0x01, 0x77, //           input: "w"
  0x12, 0x01, 0x79, //           output (2): "y"
  0x1a, 0x02, 0x63, 0x31, //     name (3): "c1"
  0x22, 0x04, 0x43, 0x6f, 0x6e, 0x76, // op_type (4): "Conv"
  0x2a, 0x0d, //                 attribute (5, len 13)
  0x0a, 0x07, 0x73, 0x74, 0x72, 0x69, 0x64, 0x65, 0x73, //   name: "strides"
  0x42, 0x02, 0x02, 0x01, //     ints (8, packed): [2, 1]
  0x2a, 0x11, //                 attribute (len 17)
  0x0a, 0x04, 0x61, 0x78, 0x69, 0x73, //   name: "axis"
  0x18, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, //   i (3): -2
  0x2a, 0x0c, //                 attribute (len 12)
  0x0a, 0x05, 0x61, 0x6c, 0x70, 0x68, 0x61, //   name: "alpha"
  0x15, 0x00, 0x00, 0xc0, 0x3e, // f (2, fixed32): 0.375
]; // 3 + 3 + 3 + 4 + 6 + 15 + 19 + 14 = 67 bytes

// deno-fmt-ignore
const graphBytes = [
  0x0a, node.length, ...node, // node (1)
  0x12, 0x01, 0x67, //          name (2): "g" (skipped)
  0x2a, tensorW.length, ...tensorW, // initializer (5)
  0x2a, tensorV.length, ...tensorV,
  0x2a, tensorS.length, ...tensorS,
  0x5a, 0x03, 0x0a, 0x01, 0x78, // input (11): ValueInfoProto { name: "x" }
  0x5a, 0x03, 0x0a, 0x01, 0x77, // input: "w", an initializer listed as input by old exporters
  0x62, 0x03, 0x0a, 0x01, 0x79, // output (12): "y"
];

// deno-fmt-ignore
const modelBytes = new Uint8Array([
  0x08, 0x08, //                ir_version (1): 8
  0x12, 0x03, 0x61, 0x62, 0x63, // producer_name (2): "abc" (skipped)
  0x79, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // field 15, fixed64 (skipped)
  0x85, 0x01, 0xaa, 0xbb, 0xcc, 0xdd, // field 16, fixed32 (skipped): a two-byte tag
  0x3a, 0x80 | (graphBytes.length & 0x7f), graphBytes.length >> 7, ...graphBytes, // graph (7), two-byte length
]);

Deno.test("a hand-built ModelProto decodes to its hand-derivable values", () => {
  assert.equal(tensorW.length, 35);
  assert.equal(tensorV.length, 18);
  assert.equal(tensorS.length, 21);
  assert.equal(node.length, 67);
  assert.ok(graphBytes.length >= 128, "the graph length needs a two-byte varint");
  const g = readOnnxGraph(modelBytes);
  assert.deepEqual([...g.initializers.keys()], ["w", "v"]);
  assert.deepEqual(g.initializers.get("w"), {
    dims: [2, 3],
    data: new Float32Array([1, -2, 0.5, 3, Infinity, -0]),
  });
  assert.ok(Object.is(g.initializers.get("w")!.data[5], -0));
  assert.deepEqual(g.initializers.get("v"), { dims: [2], data: new Float32Array([10, -10]) });
  assert.deepEqual(g.intInitializers.get("s"), { dims: [2], data: [-1, 300] });
  assert.deepEqual(g.nodes, [{
    opType: "Conv",
    name: "c1",
    inputs: ["x", "w"],
    outputs: ["y"],
    attributes: { strides: [2, 1], axis: -2, alpha: 0.375 },
  }]);
  assert.deepEqual(g.inputs, ["x"]);
  assert.deepEqual(g.outputs, ["y"]);
});

Deno.test("ProtoReader reads varints and rejects truncated messages", () => {
  const r = new ProtoReader(new Uint8Array([0x96, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  assert.equal(r.varint(), 150);
  assert.equal(r.varint(), 2 ** 32 - 1);
  assert.throws(() => new ProtoReader(new Uint8Array([0x80])).varint(), /varint runs past the end/);
  assert.throws(() => readOnnxGraph(new Uint8Array([0x3a, 0x05, 0x0a])), /runs past the end/);
  assert.throws(() => readOnnxGraph(new Uint8Array([0x3b, 0x00])), /unsupported wire type 3/);
  assert.throws(() => readOnnxGraph(modelBytes.subarray(0, modelBytes.length - 1)), /runs past the end/);
});
