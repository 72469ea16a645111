/**
 * One image's real network outputs for the post-processing benchmarks: the shared checkpoint (no tuning:
 * one forward), the image decoded and letterboxed (rect) at `imgsz`, one forward, the model disposed.
 *
 * @module
 */
import { YOLO } from "../mod.ts";
import { letterboxGeometry, letterboxInto } from "../src/data/letterbox.ts";
import type { ForwardResult } from "../src/gpu/executor.ts";
import { decodeImage, type Image } from "../src/io/image.ts";

/** The default image: COCO128 `000000000009.jpg` (640x480, 8 detections with the shared checkpoint). */
export const BENCH_IMAGE = "../shared/datasets/coco128-seg/images/train2017/000000000009.jpg";

/** The decoded image, its letterbox `[H, W]` and the forward's outputs. */
export async function imageForward(
  file: string,
  imgsz: number,
): Promise<{ img: Image; H: number; W: number; out: ForwardResult }> {
  const model = await YOLO.load("../shared/models/yolo11n-seg-c128.pt", { tune: false });
  try {
    const img = await decodeImage(await Deno.readFile(file), file);
    const lb = { newShape: imgsz, auto: true, stride: 32 };
    const [H, W] = letterboxGeometry([img.height, img.width], lb).letterboxShape;
    const input = new Float32Array(3 * H * W);
    letterboxInto(img, input, lb);
    return { img, H, W, out: await model.forward(input, [1, 3, H, W]) };
  } finally {
    model.dispose();
  }
}
