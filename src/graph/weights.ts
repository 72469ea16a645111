/**
 * The tensors a parsed model needs, checked against what a file holds; and deterministic random weights
 * for models built from a YAML alone.
 */
import { CheckpointError } from "../errors.ts";
import { numel, type StateDict } from "../tensor.ts";
import { bufferShapes, parameterShapes } from "./builder.ts";
import type { ParsedModel } from "./parse_model.ts";

/**
 * Every state tensor the model needs with its shape: parameters and BatchNorm buffers, or, when `fused`,
 * the folded form (conv biases instead of BatchNorm tensors).
 */
export function expectedShapes(model: ParsedModel, fused: boolean): Map<string, number[]> {
  const out = new Map<string, number[]>([...parameterShapes(model.root), ...bufferShapes(model.root)]);
  if (fused) {
    for (const op of model.graph.ops) {
      if (op.op !== "conv" || !op.bn) continue;
      for (const k of ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]) {
        out.delete(`${op.bn}.${k}`);
      }
      out.set(op.bias, [op.cout]);
    }
  }
  return out;
}

const fmt = (shape: readonly number[]) => `[${shape.join(", ")}]`;

/**
 * Check that `state` holds exactly the tensors the model needs, with the same shapes.
 * `num_batches_tracked` may be absent. Returns whether the state is already BatchNorm-folded.
 * @throws {CheckpointError} naming the first missing, misshapen or unexpected tensor.
 */
export function checkStateShapes(model: ParsedModel, state: StateDict, file: string): boolean {
  const firstBn = model.graph.ops.find((o) => o.op === "conv" && o.bn);
  const fused = firstBn?.op === "conv" && !state.has(`${firstBn.bn}.weight`) && state.has(firstBn.bias);
  const expected = expectedShapes(model, fused);
  const fail = (msg: string): never => {
    throw new CheckpointError(file, `Cannot load weights "${file}": ${msg}`);
  };
  for (const [key, shape] of expected) {
    const t = state.get(key);
    if (!t) {
      if (key.endsWith(".num_batches_tracked")) continue;
      fail(`tensor "${key}" is missing (the model YAML expects ${fmt(shape)})`);
    }
    const got = t!.shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      fail(`tensor "${key}" has shape ${fmt(got)}, the model YAML expects ${fmt(shape)}`);
    }
  }
  for (const key of state.keys()) {
    if (!expected.has(key)) fail(`tensor "${key}" is not part of the model described by its YAML`);
  }
  return fused;
}

/** A small, fast, seeded PRNG (mulberry32) for reproducible weights. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Deterministic weights for a model built from a YAML: conv weights uniform in ±sqrt(3 / fan_in) (unit
 * variance through each layer), biases small, BatchNorm as initialized by torch (gamma 1, beta 0, mean 0,
 * var 1), the DFL projection `arange(16)` as Ultralytics sets it.
 */
export function randomState(model: ParsedModel, seed = 0): StateDict {
  const rand = mulberry32(seed);
  const state: StateDict = new Map();
  for (const [key, shape] of expectedShapes(model, false)) {
    const data = new Float32Array(numel(shape));
    const leaf = key.slice(key.lastIndexOf(".") + 1);
    if (key.endsWith(".dfl.conv.weight")) data.forEach((_, i) => (data[i] = i));
    else if (leaf === "running_var") data.fill(1);
    else if (leaf === "weight" && shape.length === 1) data.fill(1);
    else if (leaf === "weight") {
      const fanIn = numel(shape) / shape[0];
      const a = Math.sqrt(3 / fanIn);
      for (let i = 0; i < data.length; i++) data[i] = (rand() * 2 - 1) * a;
    } else if (leaf === "bias" && !key.includes(".bn.")) {
      for (let i = 0; i < data.length; i++) data[i] = (rand() * 2 - 1) * 0.1;
    }
    state.set(key, { dtype: "f32", shape, data });
  }
  return state;
}
