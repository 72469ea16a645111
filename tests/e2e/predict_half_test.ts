/**
 * `predict` in half mode (`half: true`: f16 activations) against Ultralytics 8.3.159's fp32 predictions
 * (`../shared/refs/yolo11n-seg-c128.json`, `predict_single`: each image alone, rect letterbox). The same
 * detections with f16 tolerances: class equal, conf within 0.02, box IoU >= 0.9 (a reference conf within
 * 0.02 of 0.25 may be missing or extra); mask IoU >= 0.85 each and >= 0.93 on average.
 */
import assert from "node:assert/strict";
import { type Result, YOLO } from "../../mod.ts";
import { decodeRle, maskIoU } from "../../src/postprocess/rle.ts";
import { readReference, type RefImage } from "../postprocess/_reference.ts";
import { sharedPath } from "../_shared.ts";

const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"), { half: true });

/** Where the reference's image `name` lives. */
async function imagePath(name: string): Promise<string> {
  for (const p of [`datasets/coco128-seg/images/train2017/${name}`, `images/${name}`]) {
    try {
      await Deno.stat(sharedPath(p));
      return sharedPath(p);
    } catch {
      // try the next folder
    }
  }
  throw new Error(`Cannot find reference image "${name}" under ../shared`);
}

function boxIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

const CONF_TOL = 0.02;
const worst = { conf: 0, box: 1, mask: 1 };

/** Mask IoUs of our detections matched in order with the reference's. */
function compare(label: string, r: Result, e: RefImage): number[] {
  const borderline = (c: number) => Math.abs(c - 0.25) < CONF_TOL;
  const [, h, w] = r.masks!.shape;
  const ious: number[] = [];
  let i = 0, j = 0;
  while (i < r.length || j < e.conf.length) {
    if (
      i < r.length && j < e.conf.length && r.boxes.cls[i] === e.cls[j] &&
      Math.abs(r.boxes.conf[i] - e.conf[j]) < CONF_TOL
    ) {
      worst.conf = Math.max(worst.conf, Math.abs(r.boxes.conf[i] - e.conf[j]));
      const box = boxIoU(r.boxes.xyxy.subarray(4 * i, 4 * i + 4), e.boxes_xyxy[j]);
      assert.ok(box >= 0.9, `${label}: detection ${i} box IoU ${box}`);
      worst.box = Math.min(worst.box, box);
      const mask = maskIoU(
        r.masks!.data.subarray(i * h * w, (i + 1) * h * w),
        decodeRle(e.masks_letterbox[j]),
      );
      assert.ok(mask >= 0.85, `${label}: detection ${i} mask IoU ${mask}`);
      worst.mask = Math.min(worst.mask, mask);
      ious.push(mask);
      i++;
      j++;
    } else if (i < r.length && borderline(r.boxes.conf[i])) i++;
    else if (j < e.conf.length && borderline(e.conf[j])) j++;
    else assert.fail(`${label}: detection ${i} (ours) does not match ${j} (Ultralytics)`);
  }
  return ious;
}

Deno.test("predict half: each image alone keeps Ultralytics' detections (rect letterbox)", async () => {
  const ref = (await readReference()).predict_single;
  const names = Object.keys(ref);
  const all: number[] = [];
  for (const name of names) {
    const [r] = await model.predict(await imagePath(name));
    assert.deepEqual(r.origShape, ref[name].orig_shape);
    all.push(...compare(`half ${name}`, r, ref[name]));
    // NMS and masks on the GPU over the half forward's widened outputs: the same results.
    const [g] = await model.predict(await imagePath(name), { gpuPostprocess: true });
    assert.deepEqual([g.boxes, g.masks?.data], [r.boxes, r.masks?.data], `half ${name}, gpuPostprocess`);
  }
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  console.log(
    `  half: ${all.length} detections on ${names.length} images; worst conf diff ${worst.conf.toFixed(4)}, ` +
      `worst box IoU ${worst.box.toFixed(4)}, worst mask IoU ${worst.mask.toFixed(4)}, mean ${
        mean.toFixed(4)
      }`,
  );
  assert.ok(mean >= 0.93, `mean mask IoU ${mean}`);
});
