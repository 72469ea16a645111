/**
 * Half mode (`half: true`, f16 activations on a device with `shader-f16`) against ONNX Runtime (CPU, f32)
 * running Ultralytics' ONNX export of the same checkpoint. Tolerances for f16 storage: class scores and mask
 * coefficients within 1e-2 absolute, boxes (xywh, input pixels) within 1 px, prototypes within 2e-2. The
 * f32 default stays as tests/e2e/forward_parity_test.ts checks it. Also the big-GPU plan (tiled conv2d) with
 * f16 arithmetic in every conv (`halfMath: true`): class scores and coefficients to the same 1e-2, boxes within
 * 1.5 px and prototypes within 3e-2 (on bus.jpg at 640 its errors are about twice those of f16 storage alone:
 * boxes 1.00 vs 0.73 px, prototypes 2.5e-2 vs 6.0e-3 against our f32 forward).
 */
import assert from "node:assert/strict";
import { YOLO } from "../../mod.ts";
import { requestGpu } from "../../src/gpu/device.ts";
import { Executor, type ForwardResult } from "../../src/gpu/executor.ts";
import { letterboxedImage } from "../_image.ts";
import { runOrt } from "../_ort.ts";
import { randomArray } from "../_rand.ts";
import { sharedPath } from "../_shared.ts";

const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"), { half: true });

type Forward = (data: Float32Array, shape: number[]) => Promise<ForwardResult>;

/** Max abs differences: boxes (channels 0-3), class scores, mask coefficients, prototypes. */
async function compare(
  data: Float32Array,
  shape: number[],
  onnx: string,
  forward: Forward = model.forward.bind(model),
  tol = { box: 1, proto: 2e-2 },
) {
  const ours = await forward(data, shape);
  const ref = await runOrt(onnx, data, shape);
  assert.deepEqual(ours.output0.shape, ref.shape0);
  assert.deepEqual(ours.output1!.shape, ref.shape1);
  const [n, ch, anchors] = ref.shape0;
  const nc = ch - 4 - ref.shape1[1];
  let box = 0;
  let score = 0;
  let coeff = 0;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < ch; c++) {
      for (let a = 0; a < anchors; a++) {
        const i = (b * ch + c) * anchors + a;
        const d = Math.abs(ours.output0.data[i] - ref.output0[i]);
        if (c < 4) box = Math.max(box, d);
        else if (c < 4 + nc) score = Math.max(score, d);
        else coeff = Math.max(coeff, d);
      }
    }
  }
  let proto = 0;
  for (let i = 0; i < ref.output1.length; i++) {
    proto = Math.max(proto, Math.abs(ours.output1!.data[i] - ref.output1[i]));
  }
  console.log(
    `  half [${shape.join("x")}] max |diff|: boxes ${box.toFixed(3)} px, scores ${score.toExponential(2)}, ` +
      `coefficients ${coeff.toExponential(2)}, prototypes ${proto.toExponential(2)}`,
  );
  assert.ok(box <= tol.box, `boxes differ by ${box} px`);
  assert.ok(score <= 1e-2, `class scores differ by ${score}`);
  assert.ok(coeff <= 1e-2, `mask coefficients differ by ${coeff}`);
  assert.ok(proto <= tol.proto, `prototypes differ by ${proto}`);
}

Deno.test("half: bus.jpg letterboxed to 640x640 is close to ONNX Runtime", async () => {
  await compare(await letterboxedImage("bus.jpg", 640, 640), [1, 3, 640, 640], "yolo11n-seg-c128.onnx");
});

Deno.test("half: a random 640x640 input is close to ONNX Runtime", async () => {
  await compare(randomArray(3 * 640 * 640, 7, 0, 1), [1, 3, 640, 640], "yolo11n-seg-c128.onnx");
});

Deno.test("half: a batch of two at 448x640 is close to ONNX Runtime (dynamic export)", async () => {
  const a = await letterboxedImage("bus.jpg", 448, 640);
  const b = await letterboxedImage("zidane.jpg", 448, 640);
  const data = new Float32Array(a.length * 2);
  data.set(a);
  data.set(b, a.length);
  await compare(data, [2, 3, 448, 640], "yolo11n-seg-c128.dynamic.onnx");
});

Deno.test("half with f16 arithmetic in every tiled conv2d (big-GPU plan): bus.jpg at 640x640 is close to ONNX Runtime", async () => {
  const gpu = await requestGpu();
  const exec = new Executor({ ...gpu, software: false }, model.model, {
    half: true,
    halfMath: true,
    tune: false,
  });
  try {
    await compare(
      await letterboxedImage("bus.jpg", 640, 640),
      [1, 3, 640, 640],
      "yolo11n-seg-c128.onnx",
      (d, s) => exec.forward(d, s),
      { box: 1.5, proto: 3e-2 },
    );
  } finally {
    exec.dispose();
  }
});
