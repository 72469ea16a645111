/**
 * End to end against Ultralytics 8.3.159: ONNX Runtime's raw outputs of the shared model → nms → masks →
 * boxes, compared with `../shared/refs` predictions. Only images that letterbox without resizing are used
 * (gain 1: the input is the decoded JPEG plus 114-grey padding), so the input matches Ultralytics' own.
 */
import assert from "node:assert/strict";
import decode from "@jsquash/jpeg/decode.js";
import { letterboxRatioPad, scaleBoxes } from "../../src/postprocess/boxes.ts";
import { maskAreas, processMask, processMaskNative } from "../../src/postprocess/masks.ts";
import { nonMaxSuppression } from "../../src/postprocess/nms.ts";
import { decodeRle, maskIoU } from "../../src/postprocess/rle.ts";
import { runOrt } from "../_ort.ts";
import { sharedPath } from "../_shared.ts";
import { readReference, type RefImage } from "./_reference.ts";

/** `images/train2017/<name>` of coco128-seg, padded (centred, value 114) to `[1, 3, h, w]` RGB in 0..1. */
async function padOnly(name: string, h: number, w: number): Promise<Float32Array> {
  const bytes = await Deno.readFile(sharedPath(`datasets/coco128-seg/images/train2017/${name}`));
  const img = await decode(bytes.buffer as ArrayBuffer);
  const [[gain], [left, top]] = letterboxRatioPad([h, w], [img.height, img.width]);
  assert.equal(gain, 1, "the test images must fit without resizing");
  const out = new Float32Array(3 * h * w).fill(114 / 255);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      for (let c = 0; c < 3; c++) {
        out[(c * h + y + top) * w + x + left] = img.data[(y * img.width + x) * 4 + c] / 255;
      }
    }
  }
  return out;
}

function boxIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

async function check(group: "predict_single" | "predict_batch", name: string, h: number, w: number) {
  const ref = await readReference();
  const e: RefImage = ref[group][name];
  const out = await runOrt("yolo11n-seg-c128.dynamic.onnx", await padOnly(name, h, w), [1, 3, h, w]);
  const det = nonMaxSuppression(out.output0, out.shape0, { conf: 0.25, iou: 0.7, maxDet: 300 });
  const protos = { data: out.output1, shape: out.shape1 };
  const masks = processMask(protos, det.coeffs, det.boxes, [h, w]);
  const boxes = scaleBoxes(det.boxes, [h, w], e.orig_shape);
  const retina = processMaskNative(protos, det.coeffs, boxes, e.orig_shape);
  assert.ok(maskAreas(masks).every((a) => a > 0), "every detection has a mask (none dropped)");

  // The same detections in the same order; a confidence within 0.01 of conf may differ between engines.
  const borderline = (c: number) => Math.abs(c - 0.25) < 0.01;
  const [oh, ow] = e.orig_shape;
  let worstBox = 1, worstMask = 1, worstRetina = 1, worstConf = 0;
  let i = 0, j = 0;
  while (i < det.count || j < e.conf.length) {
    if (
      j < e.conf.length && i < det.count && det.cls[i] === e.cls[j] &&
      Math.abs(det.conf[i] - e.conf[j]) < 0.01
    ) {
      worstConf = Math.max(worstConf, Math.abs(det.conf[i] - e.conf[j]));
      worstBox = Math.min(worstBox, boxIoU(boxes.subarray(4 * i, 4 * i + 4), e.boxes_xyxy[j]));
      const lb = masks.data.subarray(i * h * w, (i + 1) * h * w);
      worstMask = Math.min(worstMask, maskIoU(lb, decodeRle(e.masks_letterbox[j])));
      const rt = retina.data.subarray(i * oh * ow, (i + 1) * oh * ow);
      worstRetina = Math.min(worstRetina, maskIoU(rt, decodeRle(e.masks_retina[j])));
      i++;
      j++;
    } else if (i < det.count && borderline(det.conf[i])) i++;
    else if (j < e.conf.length && borderline(e.conf[j])) j++;
    else assert.fail(`${group} ${name}: detection ${i} (ours) does not match ${j} (Ultralytics)`);
  }
  assert.ok(worstConf < 0.005, `conf differs by ${worstConf}`);
  assert.ok(worstBox > 0.99, `box IoU ${worstBox}`);
  assert.ok(worstMask > 0.99, `letterbox mask IoU ${worstMask}`);
  assert.ok(worstRetina > 0.99, `retina mask IoU ${worstRetina}`);
  console.log(
    `${group} ${name}: ${det.count} detections; worst conf diff ${worstConf.toFixed(5)}, box IoU ` +
      `${worstBox.toFixed(5)}, mask IoU ${worstMask.toFixed(5)} (retina ${worstRetina.toFixed(5)})`,
  );
}

Deno.test("predict reference: 000000000540.jpg alone (rect letterbox 448x640)", async () => {
  await check("predict_single", "000000000540.jpg", 448, 640);
});

Deno.test("predict reference: 000000000540.jpg in a batch (640x640 letterbox)", async () => {
  await check("predict_batch", "000000000540.jpg", 640, 640);
});

Deno.test("predict reference: 000000000542.jpg in a batch (640x640 letterbox)", async () => {
  await check("predict_batch", "000000000542.jpg", 640, 640);
});
