/**
 * The whole network on WebGPU against ONNX Runtime (CPU) running Ultralytics' own ONNX export of the same
 * checkpoint, on the same input tensors. Tolerances (issue "WGSL kernels and graph executor"): class scores,
 * mask coefficients and prototypes within 1e-3 absolute; boxes (xywh, input pixels) within 0.1 px.
 */
import assert from "node:assert/strict";
import { YOLO } from "../../mod.ts";
import { letterboxedImage } from "../_image.ts";
import { runOrt } from "../_ort.ts";
import { randomArray } from "../_rand.ts";
import { sharedPath } from "../_shared.ts";

const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"));

/** Max abs differences: boxes (channels 0-3), scores + coefficients (4..), prototypes. */
async function compare(data: Float32Array, shape: number[], onnx: string) {
  const ours = await model.forward(data, shape);
  const ref = await runOrt(onnx, data, shape);
  assert.deepEqual(ours.output0.shape, ref.shape0);
  assert.deepEqual(ours.output1!.shape, ref.shape1);
  const [n, ch, anchors] = ref.shape0;
  let box = 0;
  let rest = 0;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < ch; c++) {
      for (let a = 0; a < anchors; a++) {
        const i = (b * ch + c) * anchors + a;
        const d = Math.abs(ours.output0.data[i] - ref.output0[i]);
        if (c < 4) box = Math.max(box, d);
        else rest = Math.max(rest, d);
      }
    }
  }
  let proto = 0;
  for (let i = 0; i < ref.output1.length; i++) {
    proto = Math.max(proto, Math.abs(ours.output1!.data[i] - ref.output1[i]));
  }
  console.log(
    `  [${shape.join("x")}] max |diff|: boxes ${box.toExponential(2)} px, scores/coefficients ${
      rest.toExponential(2)
    }, prototypes ${proto.toExponential(2)}`,
  );
  assert.ok(box <= 0.1, `boxes differ by ${box} px`);
  assert.ok(rest <= 1e-3, `scores or mask coefficients differ by ${rest}`);
  assert.ok(proto <= 1e-3, `prototypes differ by ${proto}`);
}

Deno.test("bus.jpg letterboxed to 640x640 matches ONNX Runtime", async () => {
  await compare(await letterboxedImage("bus.jpg", 640, 640), [1, 3, 640, 640], "yolo11n-seg-c128.onnx");
});

Deno.test("a random 640x640 input matches ONNX Runtime", async () => {
  await compare(randomArray(3 * 640 * 640, 7, 0, 1), [1, 3, 640, 640], "yolo11n-seg-c128.onnx");
});

Deno.test("a rect 480x640 input matches ONNX Runtime (dynamic export)", async () => {
  await compare(
    await letterboxedImage("zidane.jpg", 480, 640),
    [1, 3, 480, 640],
    "yolo11n-seg-c128.dynamic.onnx",
  );
});

Deno.test("a batch of two at 448x640 matches ONNX Runtime (dynamic export)", async () => {
  const a = await letterboxedImage("bus.jpg", 448, 640);
  const b = await letterboxedImage("zidane.jpg", 448, 640);
  const data = new Float32Array(a.length * 2);
  data.set(a);
  data.set(b, a.length);
  await compare(data, [2, 3, 448, 640], "yolo11n-seg-c128.dynamic.onnx");
});
