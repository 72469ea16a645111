/**
 * `webgpu: "dawn"`: the network and the predictor on Chromium's Dawn (`npm:webgpu`; on this machine its
 * OpenGL backend over Mesa's llvmpipe, as lavapipe lacks a Vulkan feature Dawn needs) against Deno's own
 * WebGPU. Dawn validates what wgpu does not (a buffer bound twice with one binding writable, WGSL constants
 * out of f32 range), so these runs also check that every dispatch the engine records is valid WebGPU.
 */
import assert from "node:assert/strict";
import { requestGpu } from "../../src/gpu/device.ts";
import { Executor, FOLD_KINDS } from "../../src/gpu/executor.ts";
import { loadModel } from "../../src/load_model.ts";
import { YOLO } from "../../src/yolo.ts";
import { assertClose } from "../_close.ts";
import { randomArray } from "../_rand.ts";
import { sharedPath } from "../_shared.ts";

Deno.test("webgpu dawn: the software and hardware plans give Deno's WebGPU outputs", async () => {
  const [dawn, deno] = await Promise.all([requestGpu({ webgpu: "dawn" }), requestGpu({ webgpu: "deno" })]);
  const model = await loadModel("yolo11n-seg.yaml");
  const shape = [2, 3, 64, 96];
  const input = randomArray(shape.reduce((a, b) => a * b), 7, 0, 1);
  try {
    // The plan each adapter picks, and the big-GPU plan with every fold (conv2d tiles, split views, R_IN_Y).
    for (const software of [dawn.software, false]) {
      const options = { tune: false, fuse: software ? false : FOLD_KINDS };
      const ours = new Executor({ ...dawn, software }, model, options);
      const theirs = new Executor({ ...deno, software }, model, options);
      try {
        const a = await ours.forward(input, shape);
        const b = await theirs.forward(input, shape);
        const plan = software ? "software plan" : "hardware plan";
        assertClose(a.output0.data, b.output0.data, { atol: 1e-4, rtol: 1e-4 }, `${plan} output0`);
        assertClose(a.output1!.data, b.output1!.data, { atol: 1e-4, rtol: 1e-4 }, `${plan} output1`);
      } finally {
        ours.dispose();
        theirs.dispose();
      }
    }
  } finally {
    dawn.device.destroy();
    deno.device.destroy();
  }
});

Deno.test("webgpu dawn: predict gives Deno's WebGPU results (boxes, classes, masks)", async () => {
  const file = sharedPath("models/yolo11n-seg-c128.pt");
  const image = sharedPath("datasets/coco128-seg/images/train2017/000000000009.jpg");
  const dawn = await YOLO.load(file, { webgpu: "dawn" });
  const deno = await YOLO.load(file, { webgpu: "deno" });
  try {
    const [a] = await dawn.predict(image);
    const [b] = await deno.predict(image);
    assert.ok(b.boxes.cls.length > 0, "the reference image has detections");
    assert.deepEqual(a.boxes.cls, b.boxes.cls);
    assertClose(a.boxes.xyxy, b.boxes.xyxy, { atol: 1e-3, rtol: 0 }, "boxes");
    assertClose(a.boxes.conf, b.boxes.conf, { atol: 1e-5, rtol: 0 }, "conf");
    assert.deepEqual(a.masks!.data, b.masks!.data);
  } finally {
    dawn.dispose();
    deno.dispose();
  }
});

Deno.test("webgpu: an unknown implementation is a one-line error", async () => {
  await assert.rejects(
    () => requestGpu({ webgpu: "chrome" as never }),
    /Set webgpu \(or \$YOLO_WGSL_WEBGPU\) to deno or dawn: got chrome/,
  );
});
