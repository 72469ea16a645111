import assert from "node:assert/strict";
import { CheckpointError } from "../../src/errors.ts";
import { foldBatchNorm } from "../../src/graph/fuse.ts";
import type { Graph } from "../../src/graph/ir.ts";
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
