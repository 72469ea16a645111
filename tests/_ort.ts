/** ONNX Runtime (onnxruntime-node, CPU) as the numerical oracle of the engine's raw outputs. */
import * as ort from "onnxruntime-node";
import { sharedPath } from "./_shared.ts";

const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** Run `../shared/models/<name>` on an NCHW tensor; returns output0 and output1 as flat arrays. */
export async function runOrt(
  name: string,
  data: Float32Array,
  shape: number[],
): Promise<{ output0: Float32Array; output1: Float32Array; shape0: number[]; shape1: number[] }> {
  let session = sessions.get(name);
  if (!session) {
    session = ort.InferenceSession.create(sharedPath(`models/${name}`));
    sessions.set(name, session);
  }
  const out = await (await session).run({ images: new ort.Tensor("float32", data, shape) });
  return {
    output0: out.output0.data as Float32Array,
    output1: out.output1.data as Float32Array,
    shape0: [...out.output0.dims],
    shape1: [...out.output1.dims],
  };
}
