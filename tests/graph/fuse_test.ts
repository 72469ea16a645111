import assert from "node:assert/strict";
import { CheckpointError } from "../../src/errors.ts";
import {
  foldBatchNorm,
  fuseAttentionPe,
  fuseConcatPostConvs,
  fuseDepthwisePreConvs,
  fusePostConvs,
  fuseResidualAdds,
  fuseSiblingConvs,
  fuseUpsamples,
} from "../../src/graph/fuse.ts";
import { assertClose } from "../_close.ts";
import { loadModel } from "../../src/load_model.ts";
import { planMemory } from "../../src/graph/plan.ts";
import { cpuForward } from "../_cpu_forward.ts";
import { randomArray } from "../_rand.ts";
import type { ConvOp, Graph } from "../../src/graph/ir.ts";
import type { StateDict, Tensor } from "../../src/tensor.ts";

const t = (shape: number[], values: number[]): Tensor => ({
  dtype: "f32",
  shape,
  data: new Float32Array(values),
});

/** One 1x1 conv with two output channels and a BatchNorm. */
const graph: Graph = {
  values: [{ id: 0, c: 1, stride: 1 }, { id: 1, c: 2, stride: 1 }],
  ops: [{
    op: "conv",
    name: "m",
    x: 0,
    y: 1,
    cin: 1,
    cout: 2,
    k: 1,
    s: 1,
    p: 0,
    g: 1,
    act: "silu",
    weight: "m.conv.weight",
    bias: "m.conv.bias",
    bn: "m.bn",
  }],
  input: 0,
  outputs: { output0: 1 },
};

function state(): StateDict {
  return new Map([
    ["m.conv.weight", t([2, 1, 1, 1], [2, -1])],
    ["m.bn.weight", t([2], [3, 0.5])],
    ["m.bn.bias", t([2], [1, -2])],
    ["m.bn.running_mean", t([2], [4, 0])],
    // var + eps = 4 and 0.25 with eps 1e-3, so 1/sqrt(...) = 0.5 and 2.
    ["m.bn.running_var", t([2], [4 - 1e-3, 0.25 - 1e-3])],
    ["m.bn.num_batches_tracked", t([], [7])],
  ]);
}

Deno.test("foldBatchNorm folds gamma/sqrt(var+eps) into the weight and the shift into a new bias", () => {
  const folded = foldBatchNorm(graph, state());
  // channel 0: s = 3 * 0.5 = 1.5 → w 3, b = 1 - 4 * 1.5 = -5; channel 1: s = 0.5 * 2 = 1 → w -1, b = -2.
  assert.deepEqual([...folded.get("m.conv.weight")!.data].map((v) => +v.toFixed(5)), [3, -1]);
  assert.deepEqual([...folded.get("m.conv.bias")!.data].map((v) => +v.toFixed(5)), [-5, -2]);
  assert.deepEqual([...folded.keys()].sort(), ["m.conv.bias", "m.conv.weight"]);
});

Deno.test("foldBatchNorm leaves an already folded state unchanged", () => {
  const once = foldBatchNorm(graph, state());
  const twice = foldBatchNorm(graph, once);
  assert.deepEqual([...twice.entries()], [...once.entries()]);
});

Deno.test("foldBatchNorm names the file and the missing tensor", () => {
  const s = state();
  s.delete("m.bn.running_var");
  assert.throws(
    () => foldBatchNorm(graph, s, "w.pt"),
    (e: unknown) =>
      e instanceof CheckpointError &&
      e.message === `Cannot fold BatchNorm in "w.pt": tensor "m.bn.running_var" is missing`,
  );
});

Deno.test("fuseSiblingConvs merges the Segment head's first convs per level and each C3k's cv1 and cv2, and the network computes the same", async () => {
  const model = await loadModel("yolo11n-seg.yaml");
  const before = fuseResidualAdds(model.parsed.graph);
  const { graph, state } = fuseSiblingConvs(before, model.state);
  const convNames = (g: typeof graph) => g.ops.flatMap((op) => op.op === "conv" ? [op.name] : []);
  const merged = convNames(graph).filter((n) => n.includes("+"));
  assert.deepEqual(merged, [
    "model.6.m.0.cv1+model.6.m.0.cv2",
    "model.8.m.0.cv1+model.8.m.0.cv2",
    "model.22.m.0.cv1+model.22.m.0.cv2",
    "model.23.cv2.0.0+model.23.proto.cv1+model.23.cv4.0.0",
    "model.23.cv2.1.0+model.23.cv4.1.0",
    "model.23.cv2.2.0+model.23.cv4.2.0",
  ]);
  assert.equal(convNames(graph).length, convNames(before).length - 7);
  // C3k's cv2 feeds the block's concat: the merged output lives in that concat's buffer, no copy.
  assert.equal(planMemory(graph, 2, 64, 96).copies.length, 0);
  // The stacked weight: members' [cout, cin, k, k] blocks one after the other.
  const w = state.get(`${merged[4]}.weight`)!;
  const a = model.state.get("model.23.cv2.1.0.conv.weight")!,
    b = model.state.get("model.23.cv4.1.0.conv.weight")!;
  assert.deepEqual(w.shape, [a.shape[0] + b.shape[0], ...a.shape.slice(1)]);
  assert.deepEqual(w.data.subarray(0, a.data.length), a.data);
  assert.deepEqual(w.data.subarray(a.data.length), b.data);
  assert.equal(model.state.get(`${merged[4]}.weight`), undefined, "the input state is left alone");
  // Same sums in the same order: identical outputs.
  const input = randomArray(2 * 3 * 64 * 96, 5, 0, 1);
  const plain = cpuForward(model, input, [2, 3, 64, 96]);
  const fused = cpuForward(model, input, [2, 3, 64, 96], true);
  assert.deepEqual(fused.output0, plain.output0);
  assert.deepEqual(fused.output1, plain.output1);
});

Deno.test("fuseSiblingConvs adds no concat copy to the plans of the built-in YOLO11 and YOLOv8 models", async () => {
  for (
    const name of [
      "yolo11n-seg.yaml",
      "yolo11m-seg.yaml",
      "yolo11x-seg.yaml",
      "yolov8n-seg.yaml",
      "yolov8m-seg.yaml",
    ]
  ) {
    const model = await loadModel(name);
    const before = fuseResidualAdds(model.parsed.graph);
    const { graph } = fuseSiblingConvs(before, model.state);
    assert.ok(graph.ops.length < before.ops.length, name);
    for (const [h, w] of [[640, 640], [320, 192]]) {
      assert.equal(planMemory(graph, 1, h, w).copies.length, 0, `${name} at ${h}x${w}`);
    }
  }
});

Deno.test("fuseDepthwisePreConvs folds the Segment head's DWConv -> Conv pairs, and the network computes the same", async () => {
  const model = await loadModel("yolo11n-seg.yaml");
  const { graph: before } = fuseSiblingConvs(fuseResidualAdds(model.parsed.graph), model.state);
  const graph = fuseDepthwisePreConvs(before);
  const convs = (g: typeof graph) => g.ops.flatMap((op) => op.op === "conv" ? [op] : []);
  const folded = convs(graph).filter((op) => op.pre);
  assert.deepEqual(
    folded.map((op) => op.name),
    [0, 1, 2].flatMap((i) => [
      `model.23.cv3.${i}.0.0+model.23.cv3.${i}.0.1`,
      `model.23.cv3.${i}.1.0+model.23.cv3.${i}.1.1`,
    ]),
  );
  assert.equal(convs(graph).length, convs(before).length - 6);
  for (const op of folded) {
    const dw = convs(before).find((c) => op.name.startsWith(`${c.name}+`))!;
    assert.deepEqual(op.pre, { weight: dw.weight, bias: dw.bias, k: 3, act: "silu" });
    assert.equal(op.x, dw.x, "reads the depthwise conv's input");
    assert.equal(op.k, 1);
  }
  // C2PSA's positional DWConv adds the attention output (a residual): left alone.
  assert.ok(convs(graph).some((op) => op.name === "model.10.m.0.attn.pe" && !op.pre));
  // Same network: the CPU twins with and without the fold (the depthwise sums in the same order).
  const input = randomArray(3 * 64 * 96, 6, 0, 1);
  const plain = cpuForward(model, input, [1, 3, 64, 96], true);
  const fused = cpuForward(model, input, [1, 3, 64, 96], true, true);
  assertClose(fused.output0, plain.output0, { atol: 1e-4, rtol: 1e-5 }, "output0");
  assertClose(fused.output1!, plain.output1!, { atol: 1e-5, rtol: 1e-5 }, "output1");
});

Deno.test("fusePostConvs folds each 1x1 conv into the conv it alone reads, and the network computes the same", async () => {
  const model = await loadModel("yolo11n-seg.yaml");
  const { graph: merged } = fuseSiblingConvs(fuseResidualAdds(model.parsed.graph), model.state);
  const before = fuseDepthwisePreConvs(merged);
  const graph = fusePostConvs(before, (conv) => conv.cout <= 128);
  const convs = (g: typeof graph) => g.ops.flatMap((op) => op.op === "conv" ? [op] : []);
  const folded = convs(graph).filter((op) => op.post);
  assert.deepEqual(folded.map((op) => op.name), [
    "model.1+model.2.cv1",
    "model.3+model.4.cv1",
    "model.5+model.6.cv1",
    ...[0, 1, 2].map((i) => `model.23.cv2.${i}.1+model.23.cv2.${i}.2`),
    // The class branches' pointwise convs keep their depthwise pre-conv and gain the last 1x1 conv.
    ...[0, 1, 2].map((i) => `model.23.cv3.${i}.1.0+model.23.cv3.${i}.1.1+model.23.cv3.${i}.2`),
    "model.23.proto.cv2+model.23.proto.cv3",
    ...[0, 1, 2].map((i) => `model.23.cv4.${i}.1+model.23.cv4.${i}.2`),
  ]);
  assert.equal(convs(graph).length, convs(before).length - 13);
  for (const op of folded) {
    const [a, b] = op.name.split("+").slice(-2);
    const first = convs(before).find((c) => c.name === a || c.name.endsWith(`+${a}`))!;
    const second = convs(before).find((c) => c.name === b)!;
    assert.deepEqual(op.post, {
      weight: second.weight,
      bias: second.bias,
      cout: second.cout,
      act: second.act,
    });
    assert.equal(op.x, first.x);
    assert.equal(op.y, second.y, "writes the 1x1 conv's output");
    assert.equal(op.cout, first.cout);
    assert.deepEqual(op.pre, first.pre, "a folded depthwise pre-conv stays");
  }
  // The fits limit: 256-channel convs on 20x20 maps keep their 1x1 successors (PSA's ffn.0 -> ffn.1 among them).
  const wide = fusePostConvs(before);
  assert.ok(
    convs(wide).some((op) => op.name === "model.10.m.0.ffn.0+model.10.m.0.ffn.1" && op.r !== undefined),
  );
  assert.ok(convs(graph).some((op) => op.name === "model.10.m.0.ffn.0" && !op.post));
  // Same network on the CPU twins, with every fold (the 256-channel ones and PSA's residual-carrying one too).
  const input = randomArray(3 * 64 * 96, 8, 0, 1);
  const plain = cpuForward(model, input, [1, 3, 64, 96], true, true);
  const fused = cpuForward(model, input, [1, 3, 64, 96], true, true, true);
  assertClose(fused.output0, plain.output0, { atol: 1e-4, rtol: 1e-5 }, "output0");
  assertClose(fused.output1!, plain.output1!, { atol: 1e-5, rtol: 1e-5 }, "output1");
});

Deno.test("fuseUpsamples folds each head upsample into the conv it copies, and the network computes the same", async () => {
  for (
    const [name, convs] of [["yolo11n-seg.yaml", ["model.10.cv2", "model.13.cv2"]], ["yolov8n-seg.yaml", [
      "model.9.cv2",
      "model.12.cv2",
    ]]] as const
  ) {
    const model = await loadModel(name);
    const { graph: before } = fuseSiblingConvs(fuseResidualAdds(model.parsed.graph), model.state);
    const graph = fuseUpsamples(before);
    const ups = before.ops.flatMap((op) => op.op === "upsample" ? [op] : []);
    assert.equal(ups.length, 2);
    assert.equal(graph.ops.filter((op) => op.op === "upsample").length, 0, name);
    assert.equal(graph.ops.length, before.ops.length - 2);
    const folded = graph.ops.flatMap((op) => op.op === "conv" && op.up ? [op] : []);
    assert.deepEqual(folded.map((op) => op.name), convs.map((c) => `${c}+upsample`));
    folded.forEach((op, i) => {
      const original = before.ops.find((o) => o.op === "conv" && o.name === convs[i]) as ConvOp;
      assert.deepEqual({ ...op, name: original.name, up: undefined }, { ...original, up: undefined });
      assert.deepEqual(op.up, { y: ups[i].y, scale: 2 });
      assert.equal(ups[i].x, op.y);
    });
    // An upsample that is a graph output stays.
    const kept = fuseUpsamples({ ...before, outputs: { ...before.outputs, extra: ups[0].y } });
    assert.equal(kept.ops.filter((op) => op.op === "upsample").length, 1);
    // Same network on the CPU twins.
    const input = randomArray(3 * 64 * 96, 9, 0, 1);
    const plain = cpuForward(model, input, [1, 3, 64, 96], true);
    const fused = cpuForward(model, input, [1, 3, 64, 96], true, false, false, true);
    assert.deepEqual(fused.output0, plain.output0, `${name} output0`);
    assert.deepEqual(fused.output1, plain.output1, `${name} output1`);
  }
});

Deno.test("fuseConcatPostConvs folds each one-Bottleneck C2f/C3k2 block's cv2 into its last conv, and the network computes the same", async () => {
  const expected = {
    "yolo11n-seg.yaml": [
      ...[2, 4].map((i) => `model.${i}.m.0.cv2+model.${i}.cv2`),
      ...[6, 8].map((i) => `model.${i}.m.0.cv3+model.${i}.cv2`), // C3k blocks: their cv3 is the last conv
      ...[13, 16].map((i) => `model.${i}.m.0.cv2+model.${i}.cv2`),
      "model.17+model.19.cv1", // the head's downsampling convs with the next block's cv1 (tile first)
      "model.19.m.0.cv2+model.19.cv2",
      "model.20+model.22.cv1",
      "model.22.m.0.cv3+model.22.cv2",
    ],
    // model.4 and model.6 have two Bottlenecks: their concat is not [one split value, last output].
    "yolov8n-seg.yaml": [
      ...[2, 8, 12, 15].map((i) => `model.${i}.m.0.cv2+model.${i}.cv2`),
      "model.16+model.18.cv1",
      "model.18.m.0.cv2+model.18.cv2",
      "model.19+model.21.cv1",
      "model.21.m.0.cv2+model.21.cv2",
    ],
  };
  for (const [name, names] of Object.entries(expected)) {
    const model = await loadModel(name);
    const { graph: before } = fuseSiblingConvs(fuseResidualAdds(model.parsed.graph), model.state);
    const graph = fuseConcatPostConvs(before);
    const folded = graph.ops.flatMap((op) => op.op === "conv" && op.cat ? [op] : []);
    assert.deepEqual(folded.map((op) => op.name), names, name);
    const concats = (g: Graph) => g.ops.filter((op) => op.op === "concat").length;
    assert.equal(concats(graph), concats(before) - names.length, "their concats are gone");
    assert.equal(graph.ops.length, before.ops.length - 2 * names.length);
    for (const op of folded) {
      const [a, b] = op.name.split("+");
      const first = before.ops.find((o) => o.op === "conv" && o.name === a) as ConvOp;
      const second = before.ops.find((o) => o.op === "conv" && o.name === b) as ConvOp;
      assert.equal(op.x, first.x);
      assert.equal(op.r, first.r, "the Bottleneck's residual stays (added to the tile)");
      assert.equal(op.y, second.y, "writes the block's output");
      assert.deepEqual(op.post, {
        weight: second.weight,
        bias: second.bias,
        cout: second.cout,
        act: second.act,
      });
      assert.equal(op.cat!.c + op.cout, second.cin);
      const concat = before.ops.find((o) => o.op === "concat" && o.y === second.x);
      assert.ok(concat?.op === "concat");
      if (op.cat!.tileFirst) {
        // [the conv's output, one earlier value].
        assert.ok(op.name.endsWith(".cv1"));
        assert.deepEqual(concat.xs, [first.y, op.cat!.x]);
        assert.equal(op.r, undefined);
      } else {
        // [the split value's parts, the conv's output], the residual one of those parts.
        const split = before.ops.find((o) => o.op === "split" && o.x === op.cat!.x);
        assert.ok(split?.op === "split");
        assert.deepEqual(concat.xs, [...split.ys, first.y]);
        assert.ok(op.r === undefined || split.ys.includes(op.r));
      }
    }
    // fits says no: nothing folds.
    assert.equal(fuseConcatPostConvs(before, () => false).ops.length, before.ops.length);
    // Same network on the CPU twins (with the other post-conv folds too).
    const input = randomArray(3 * 64 * 96, 10, 0, 1);
    const plain = cpuForward(model, input, [1, 3, 64, 96], true);
    const fused = cpuForward(model, input, [1, 3, 64, 96], true, true, true, true);
    assertClose(fused.output0, plain.output0, { atol: 1e-4, rtol: 1e-5 }, `${name} output0`);
    assertClose(fused.output1!, plain.output1!, { atol: 1e-5, rtol: 1e-5 }, `${name} output1`);
  }
});

Deno.test("fuseAttentionPe folds C2PSA's positional conv into its attention, and the network computes the same", async () => {
  const model = await loadModel("yolo11n-seg.yaml");
  const before = fuseResidualAdds(model.parsed.graph);
  const graph = fuseAttentionPe(before);
  const attn = before.ops.find((op) => op.op === "attention")!;
  const pe = before.ops.find((op) => op.op === "conv" && op.name === "model.10.m.0.attn.pe") as ConvOp;
  assert.ok(attn.op === "attention" && pe.x === attn.v && pe.r === attn.o, "pe reads v, o is its residual");
  assert.equal(graph.ops.length, before.ops.length - 1);
  assert.ok(!graph.ops.some((op) => op === pe));
  const fused = graph.ops.find((op) => op.op === "attention")!;
  assert.deepEqual(fused, {
    ...attn,
    o: pe.y,
    v: undefined,
    pe: { weight: pe.weight, bias: pe.bias, k: 3 },
  });
  // Nothing to fold in a model without C2PSA, or twice.
  const v8 = fuseResidualAdds((await loadModel("yolov8n-seg.yaml")).parsed.graph);
  assert.equal(fuseAttentionPe(v8).ops.length, v8.ops.length);
  assert.deepEqual(fuseAttentionPe(graph), graph);
  // Same network on the CPU twins.
  const input = randomArray(3 * 64 * 96, 11, 0, 1);
  const plain = cpuForward(model, input, [1, 3, 64, 96], true);
  const folded = cpuForward(model, input, [1, 3, 64, 96], true, false, false, false, true);
  assertClose(folded.output0, plain.output0, { atol: 1e-4, rtol: 1e-5 }, "output0");
  assertClose(folded.output1!, plain.output1!, { atol: 1e-5, rtol: 1e-5 }, "output1");
});
