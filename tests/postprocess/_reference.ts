/** The Ultralytics 8.3.159 predictions in `../shared/refs/yolo11n-seg-c128.json`, typed for the tests. */
import type { Rle } from "../../src/postprocess/rle.ts";
import { sharedPath } from "../_shared.ts";

/** One image's predictions. */
export interface RefImage {
  orig_shape: [number, number];
  letterbox_shape?: [number, number] | null;
  boxes_xyxy: number[][];
  conf: number[];
  cls: number[];
  masks_letterbox: Rle[];
  masks_retina: Rle[];
  polygons: [number, number][][];
}

/** `predict_single` and `predict_batch`, keyed by image name. */
export interface RefPredictions {
  predict_single: Record<string, RefImage>;
  predict_batch: Record<string, RefImage>;
}

let cache: Promise<RefPredictions> | undefined;

/** The reference file, read once per test process. */
export function readReference(): Promise<RefPredictions> {
  cache ??= Deno.readTextFile(sharedPath("refs/yolo11n-seg-c128.json")).then((t) => JSON.parse(t));
  return cache;
}

/** Every (group, image name, entry) of `predict_single` and `predict_batch`. */
export function* refImages(ref: RefPredictions): Generator<[string, string, RefImage]> {
  for (const group of ["predict_single", "predict_batch"] as const) {
    for (const [name, entry] of Object.entries(ref[group])) yield [group, name, entry];
  }
}
