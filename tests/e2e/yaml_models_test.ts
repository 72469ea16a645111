/**
 * Models built from YAML alone run on the GPU and agree with the same plan executed by the CPU twins of
 * every kernel (no ONNX export exists for them). Small inputs keep lavapipe fast. Tolerance: 1e-3 absolute
 * on scores, coefficients and prototypes (relative to their scale), 0.05 px on boxes.
 */
import assert from "node:assert/strict";
import { YOLO } from "../../mod.ts";
import { cpuForward } from "../_cpu_forward.ts";
import { randomArray } from "../_rand.ts";

for (
  const [name, h, w] of [["yolov8n-seg.yaml", 64, 96], ["yolo11s-seg.yaml", 64, 64], [
    "yolo11m-seg.yaml",
    32,
    64,
  ]] as const
) {
  Deno.test(`${name} built from YAML runs on the GPU and matches the CPU twins at 2x3x${h}x${w}`, async () => {
    const model = await YOLO.load(name);
    const shape = [2, 3, h, w];
    const data = randomArray(2 * 3 * h * w, 11, 0, 1);
    const gpu = await model.forward(data, shape);
    const cpu = cpuForward(model.model, data, shape);
    const anchors = (h / 8) * (w / 8) + (h / 16) * (w / 16) + (h / 32) * (w / 32);
    assert.deepEqual(gpu.output0.shape, [2, 4 + 80 + 32, anchors]);
    assert.deepEqual(gpu.output1!.shape, [2, 32, h / 4, w / 4]);
    const [, ch] = gpu.output0.shape;
    let box = 0;
    let rest = 0;
    for (let i = 0; i < cpu.output0.length; i++) {
      const c = Math.floor(i / anchors) % ch;
      const d = Math.abs(gpu.output0.data[i] - cpu.output0[i]);
      assert.ok(Number.isFinite(gpu.output0.data[i]), `output0[${i}] is not finite`);
      if (c < 4) box = Math.max(box, d);
      else rest = Math.max(rest, d / Math.max(1, Math.abs(cpu.output0[i])));
    }
    let proto = 0;
    for (let i = 0; i < cpu.output1.length; i++) {
      proto = Math.max(
        proto,
        Math.abs(gpu.output1!.data[i] - cpu.output1[i]) / Math.max(1, Math.abs(cpu.output1[i])),
      );
    }
    console.log(
      `  max diff: boxes ${box.toExponential(2)} px, scores/coefficients ${
        rest.toExponential(2)
      }, prototypes ${proto.toExponential(2)}`,
    );
    // The comparison means something only if the outputs vary.
    const spread = (a: Float32Array) => Math.max(...a) - Math.min(...a);
    assert.ok(spread(cpu.output1) > 0.01, `prototypes are nearly constant (${spread(cpu.output1)})`);
    assert.ok(box <= 0.05, `boxes differ by ${box}`);
    assert.ok(rest <= 1e-3, `scores/coefficients differ by ${rest}`);
    assert.ok(proto <= 1e-3, `prototypes differ by ${proto}`);
    model.dispose();
  });
}
