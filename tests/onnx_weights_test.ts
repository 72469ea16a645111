/**
 * The oracle for weight reading and BatchNorm folding: Ultralytics exported the same checkpoint to ONNX
 * with BatchNorm folded (in fp32), keeping the state-dict names. Every initializer must equal our folded
 * tensor of the same name. Tolerance: 2e-6 x the tensor's largest magnitude (fp32 folding order).
 */
import assert from "node:assert/strict";
import { loadModel } from "../src/load_model.ts";
import { readOnnxInitializers } from "./_onnx.ts";
import { sharedPath } from "./_shared.ts";

Deno.test("folded checkpoint weights equal the ONNX export's initializers, name for name", async () => {
  const model = await loadModel(sharedPath("models/yolo11n-seg-c128.pt"));
  const inits = readOnnxInitializers(Deno.readFileSync(sharedPath("models/yolo11n-seg-c128.onnx")));
  assert.equal(inits.size, 201);
  assert.deepEqual([...inits.keys()].sort(), [...model.state.keys()].sort());
  let worst = 0;
  let worstName = "";
  for (const [name, onnx] of inits) {
    const ours = model.state.get(name)!;
    assert.deepEqual(ours.shape, onnx.dims, name);
    let scale = 0;
    let err = 0;
    for (let i = 0; i < onnx.data.length; i++) {
      scale = Math.max(scale, Math.abs(onnx.data[i]));
      err = Math.max(err, Math.abs(onnx.data[i] - ours.data[i]));
    }
    const rel = err / Math.max(scale, 1e-12);
    if (rel > worst) [worst, worstName] = [rel, name];
  }
  console.log(`largest relative difference ${worst.toExponential(2)} in "${worstName}"`);
  assert.ok(worst <= 2e-6, `largest relative difference ${worst} in "${worstName}"`);
});
