import assert from "node:assert/strict";
import { Executor, MAX_PROGRAMS } from "../../src/gpu/executor.ts";
import { requestGpu } from "../../src/gpu/device.ts";
import { loadModel } from "../../src/load_model.ts";
import { randomArray } from "../_rand.ts";

Deno.test("the executor keeps the programs of the most recently used shapes only, and rebuilds evicted ones", async () => {
  const gpu = await requestGpu();
  const exec = new Executor(gpu, await loadModel("yolo11n-seg.yaml"));
  try {
    const shapes = Array.from({ length: MAX_PROGRAMS + 2 }, (_, i) => [1, 3, 32, 32 * (i + 1)]);
    const inputs = shapes.map((s, i) => randomArray(s.reduce((a, b) => a * b), 100 + i, 0, 1));
    const first = await exec.forward(inputs[0], shapes[0]);
    for (let i = 1; i < shapes.length; i++) await exec.forward(inputs[i], shapes[i]);
    const keys = shapes.map((s) => `${s[0]}x${s[2]}x${s[3]}`);
    assert.deepEqual(exec.residentShapes, keys.slice(-MAX_PROGRAMS));
    // a resident shape moves to the back when used again
    await exec.forward(inputs[3], shapes[3]);
    assert.equal(exec.residentShapes.at(-1), keys[3]);
    // the evicted first shape is built again and gives the same outputs
    const again = await exec.forward(inputs[0], shapes[0]);
    assert.deepEqual(again.output0.data, first.output0.data);
    assert.deepEqual(again.output1!.data, first.output1!.data);
    assert.equal(exec.residentShapes.length, MAX_PROGRAMS);
  } finally {
    exec.dispose();
  }
});
