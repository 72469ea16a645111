/**
 * Shared pieces of the server tests: the reference checkpoint, test images, settings that give
 * detections at a small size, and the comparison of a server answer with a direct `model.predict`.
 * @module
 */
import assert from "node:assert/strict";
import { basename } from "node:path";
import type { PredictOptions, ResultJson, YOLO } from "../../mod.ts";
import { sharedPath } from "../_shared.ts";

/** The reference checkpoint. */
export const MODEL = sharedPath("models/yolo11n-seg-c128.pt");

/** Real photos of several sizes: the two Ultralytics samples and COCO8-seg's val images. */
export const IMAGE_FILES: string[] = [
  sharedPath("images/bus.jpg"),
  sharedPath("images/zidane.jpg"),
  ...[...Deno.readDirSync(sharedPath("datasets/coco8-seg/images/val"))]
    .map((e) => sharedPath(`datasets/coco8-seg/images/val/${e.name}`))
    .sort(),
];

/**
 * Small and fast on software WebGPU, and still with detections (and masks) on most images: the reference
 * model finds little at 64 px above the usual 0.25.
 */
export const SMALL: PredictOptions = { imgsz: 64, conf: 0.001, max_det: 20 };

/** The query string of prediction options. */
export function query(options: object): string {
  return new URLSearchParams(Object.entries(options).map(([k, v]) => [k, String(v)])).toString();
}

/** A server's JSON answer: the `predictions.json` entry plus `speed`. */
export type Answer = ResultJson & { speed: Record<string, number> };

/** What `model.predict(bytes, options)` gives for one image, as plain JSON. */
export async function direct(model: YOLO, bytes: Uint8Array, options: PredictOptions): Promise<ResultJson> {
  const [r] = await model.predict(bytes, options);
  return JSON.parse(JSON.stringify(r.toJSON()));
}

/**
 * Asserts that a server answer is the direct prediction: same shapes, classes and masks (RLE identical),
 * boxes within 1e-3 px, confidences within 1e-4.
 */
export function assertSameResult(got: ResultJson, want: ResultJson, label: string): void {
  assert.deepEqual(got.orig_shape, want.orig_shape, `${label}: orig_shape`);
  assert.deepEqual(got.letterbox_shape, want.letterbox_shape, `${label}: letterbox_shape`);
  assert.deepEqual(got.cls, want.cls, `${label}: classes`);
  for (let i = 0; i < want.cls.length; i++) {
    assert.ok(Math.abs(got.conf[i] - want.conf[i]) <= 1e-4, `${label}: conf ${i}`);
    for (let k = 0; k < 4; k++) {
      assert.ok(Math.abs(got.boxes_xyxy[i][k] - want.boxes_xyxy[i][k]) <= 1e-3, `${label}: box ${i}`);
    }
  }
  assert.deepEqual(got.masks, want.masks, `${label}: masks`);
  assert.equal(got.polygons.length, want.polygons.length, `${label}: polygons`);
}

/** A short name of an image file for messages. */
export const nameOf = (file: string): string => basename(file);
