/**
 * What `dawn_test.ts` runs on both WebGPU implementations: the same model, input, plans and image on each
 * side (Dawn's in `_dawn_child.ts`, Deno's in the test), so the two can only differ by the implementation.
 * @module
 */
import { FOLD_KINDS } from "../../src/gpu/executor.ts";
import { randomArray } from "../_rand.ts";
import { sharedPath } from "../_shared.ts";

/** The case's parts. */
export const DAWN_CASE = {
  model: "yolo11n-seg.yaml",
  shape: [2, 3, 64, 96] as const,
  /** The input: random values in [0, 1), always the same. */
  input(): Float32Array {
    return randomArray(DAWN_CASE.shape.reduce((a, b) => a * b, 1), 7, 0, 1);
  },
  /**
   * The plans compared: the one the adapter picks, and the big-GPU plan with every fold (conv2d tiles, split
   * views, R_IN_Y), as `software` flags.
   */
  plans(software: boolean): boolean[] {
    return [...new Set([software, false])];
  },
  /** The executor's options for a plan: untuned; the hardware plan with every kind of fold. */
  options(software: boolean): { tune: false; fuse: false | typeof FOLD_KINDS } {
    return { tune: false, fuse: software ? false : FOLD_KINDS };
  },
  checkpoint(): string {
    return sharedPath("models/yolo11n-seg-c128.pt");
  },
  image(): string {
    return sharedPath("datasets/coco128-seg/images/train2017/000000000009.jpg");
  },
};
