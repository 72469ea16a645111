/**
 * Load-time graph rewrites: BatchNorm folded into the preceding conv (Ultralytics' `fuse_conv_and_bn`), and
 * residual adds folded into the epilogue of the conv that produces one of their operands.
 */
import { CheckpointError } from "../errors.ts";
import type { StateDict, Tensor } from "../tensor.ts";
import type { ConvOp, Graph } from "./ir.ts";

/** BatchNorm2d epsilon of Ultralytics models (`initialize_weights` sets 1e-3). */
export const BN_EPS = 1e-3;

/**
 * Fold every conv's BatchNorm into its weight and a new bias, in float64 then rounded to f32:
 * `w' = w * g / sqrt(var + eps)`, `b' = beta - mean * g / sqrt(var + eps)`.
 * Returns a new state dict without BatchNorm entries; convs already folded (bias present, no BN) pass through.
 * @throws {CheckpointError} when a BatchNorm tensor is missing.
 */
export function foldBatchNorm(graph: Graph, state: StateDict, file = "<weights>", eps = BN_EPS): StateDict {
  const out: StateDict = new Map(state);
  for (const op of graph.ops) {
    if (op.op !== "conv" || !op.bn) continue;
    const gamma = state.get(`${op.bn}.weight`);
    if (!gamma && state.has(op.bias)) continue; // already folded (e.g. loaded from our safetensors export)
    const get = (k: string): Tensor =>
      state.get(k) ?? (() => {
        throw new CheckpointError(file, `Cannot fold BatchNorm in "${file}": tensor "${k}" is missing`);
      })();
    const w = get(op.weight);
    const g = get(`${op.bn}.weight`).data;
    const beta = get(`${op.bn}.bias`).data;
    const mean = get(`${op.bn}.running_mean`).data;
    const variance = get(`${op.bn}.running_var`).data;
    const per = w.data.length / op.cout;
    const wf = new Float32Array(w.data.length);
    const bf = new Float32Array(op.cout);
    for (let o = 0; o < op.cout; o++) {
      const s = g[o] / Math.sqrt(variance[o] + eps);
      for (let i = 0; i < per; i++) wf[o * per + i] = w.data[o * per + i] * s;
      bf[o] = beta[o] - mean[o] * s;
    }
    out.set(op.weight, { dtype: "f32", shape: w.shape, data: wf });
    out.set(op.bias, { dtype: "f32", shape: [op.cout], data: bf });
    for (const k of ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]) {
      out.delete(`${op.bn}.${k}`);
    }
  }
  return out;
}

/**
 * Rewrite `add(conv(x), r)` as one conv whose epilogue adds `r` (after the activation), when the conv's
 * output feeds nothing but that add and the graph output is not that conv. Returns a new graph.
 */
export function fuseResidualAdds(graph: Graph): Graph {
  const uses = new Map<number, number>();
  const use = (id: number) => uses.set(id, (uses.get(id) ?? 0) + 1);
  for (const op of graph.ops) {
    switch (op.op) {
      case "conv":
        use(op.x);
        if (op.r !== undefined) use(op.r);
        break;
      case "conv_transpose":
      case "maxpool":
      case "upsample":
      case "split":
        use(op.x);
        break;
      case "add":
        use(op.a);
        use(op.b);
        break;
      case "concat":
        op.xs.forEach(use);
        break;
      case "attention":
        use(op.qkv);
        break;
      case "detect":
        [...op.boxes, ...op.scores, ...op.coeffs].forEach(use);
        break;
    }
  }
  for (const id of Object.values(graph.outputs)) use(id);
  const producer = new Map<number, ConvOp>();
  const ops = graph.ops.map((op) => (op.op === "conv" ? { ...op } : op));
  for (const op of ops) if (op.op === "conv") producer.set(op.y, op);
  const kept = ops.filter((op) => {
    if (op.op !== "add") return true;
    for (const [main, other] of [[op.a, op.b], [op.b, op.a]]) {
      const p = producer.get(main);
      if (p && p.r === undefined && uses.get(main) === 1) {
        p.r = other;
        p.y = op.y;
        return false;
      }
    }
    return true;
  });
  return { ...graph, ops: kept };
}
