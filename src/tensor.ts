/** Element types a checkpoint or safetensors file may store; values are always held as f32 in memory. */
export type DType = "f16" | "f32" | "f64" | "bf16" | "i64" | "i32" | "i16" | "i8" | "u8" | "bool";

/** A dense row-major tensor held on the CPU. `dtype` records how it was stored on disk. */
export interface Tensor {
  /** How the values were stored on disk. */
  dtype: DType;
  /** Dimensions, outermost first. */
  shape: number[];
  /** The values, row-major. */
  data: Float32Array;
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The values of `parts` one after the other, in a new array. */
export function concatFloats(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Named tensors, keyed by Ultralytics' state-dict names such as `model.0.conv.weight`. */
export type StateDict = Map<string, Tensor>;
