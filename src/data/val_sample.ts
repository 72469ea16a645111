/**
 * One validation image as Ultralytics 8.3.159's segment val dataloader gives it: the image resized so its
 * long side is `imgsz` (`load_image`: `ceil` of the scaled sides, INTER_LINEAR), then letterboxed without
 * enlarging into its batch's rect shape, value 114; the ground truth's polygons resampled to 1000 points,
 * scaled like the image, filled at the letterbox size and downsampled 4x into one overlap mask (larger
 * instances first), boxes mapped back to original pixels through the same `ratio_pad`. Pure over arrays,
 * so it runs the same on a worker thread.
 * @module
 */
import { letterboxGeometry, letterboxInto } from "./letterbox.ts";
import type { ImageLabels } from "./labels.ts";
import { polygonsToOverlapMask, resampleSegments } from "./polygon_masks.ts";
import { resizeBilinearU8 } from "./resize.ts";
import type { Image } from "../io/image.ts";
import type { ImageTruth } from "../metrics/image_matches.ts";
import { scaleBoxes } from "../postprocess/boxes.ts";

const f32 = Math.fround;

/** `load_image(rect_mode=True)`: the long side scaled to `imgsz` with `ceil`ed sides. */
function loadImage(img: Image, imgsz: number): Image {
  const [h0, w0] = [img.height, img.width];
  const r = imgsz / Math.max(h0, w0);
  if (r === 1) return img;
  const w = Math.min(Math.ceil(w0 * r), imgsz), h = Math.min(Math.ceil(h0 * r), imgsz);
  return resizeBilinearU8(img, [w, h]);
}

/**
 * One image into its batch's input tensor, with its ground truth prepared as the validator sees it (see
 * the module doc).
 *
 * @param img The decoded image.
 * @param label Its labels.
 * @param shape `[H, W]` of the batch (rect) letterbox.
 * @param imgsz The long side the image is first resized to.
 * @param out The batch's NCHW input.
 * @param offset Where the image's `3 * H * W` values start in `out`.
 * @returns Its ground truth.
 */
export function prepareValSample(
  img: Image,
  label: ImageLabels,
  shape: [number, number],
  imgsz: number,
  out: Float32Array,
  offset: number,
): ImageTruth {
  const h0 = img.height, w0 = img.width;
  const resized = loadImage(img, imgsz);
  const w = resized.width, h = resized.height;
  const lb = { newShape: shape, auto: false, scaleup: false };
  const g = letterboxGeometry([h, w], lb);
  letterboxInto(resized, out, { ...lb, offset });
  const { left, top } = g.border;
  const r = f32(g.ratio[0]);
  const ratioPad: [[number, number], [number, number]] = [[h / h0, w / w0], [left, top]];
  const [H, W] = shape;
  // polygons: resampled (normalized), denormalized by the resized size, scaled, padded (float32)
  const maxLen = Math.max(0, ...label.segments.map((s) => s.length >> 1));
  const n = maxLen > 1000 ? maxLen + 1 : 1000;
  const segs = label.segments.length
    ? resampleSegments(label.segments.map((s) => Float32Array.from(s)), n)
    : [];
  for (const s of segs) {
    for (let i = 0; i < s.length; i += 2) {
      s[i] = f32(f32(f32(s[i] * w) * r) + left);
      s[i + 1] = f32(f32(f32(s[i + 1] * h) * r) + top);
    }
  }
  const overlap = polygonsToOverlapMask([H, W], segs, 4);
  const k = label.cls.length;
  const order = segs.length === k ? overlap.order : [...Array(k).keys()];
  // boxes: xywh normalized → xyxy letterbox pixels → normalized by the letterbox → back → original pixels
  const lbBoxes = new Float32Array(4 * k);
  order.forEach((idx, j) => {
    const [cx, cy, bw, bh] = label.bboxes[idx].map(f32);
    const x1 = f32(cx - f32(bw / 2)), y1 = f32(cy - f32(bh / 2));
    const x2 = f32(cx + f32(bw / 2)), y2 = f32(cy + f32(bh / 2));
    const px = (v: number) => f32(f32(f32(v * w) * r) + left);
    const py = (v: number) => f32(f32(f32(v * h) * r) + top);
    const X1 = px(x1), Y1 = py(y1), X2 = px(x2), Y2 = py(y2);
    // Format: xywh normalized by (W, H); _prepare_batch: xywh2xyxy * (W, H)
    const ncx = f32(f32(f32(X1 + X2) / 2) / W), ncy = f32(f32(f32(Y1 + Y2) / 2) / H);
    const nw = f32(f32(X2 - X1) / W), nh = f32(f32(Y2 - Y1) / H);
    lbBoxes[4 * j] = f32(f32(ncx - f32(nw / 2)) * W);
    lbBoxes[4 * j + 1] = f32(f32(ncy - f32(nh / 2)) * H);
    lbBoxes[4 * j + 2] = f32(f32(ncx + f32(nw / 2)) * W);
    lbBoxes[4 * j + 3] = f32(f32(ncy + f32(nh / 2)) * H);
  });
  return {
    origShape: [h0, w0],
    ratioPad,
    cls: order.map((i) => label.cls[i]),
    boxes: scaleBoxes(lbBoxes, [H, W], [h0, w0], { ratioPad }),
    mask: overlap.mask,
  };
}

/**
 * {@linkcode prepareValSample} into an input of the image's own: what a worker thread sends back.
 *
 * @returns The image's `[3, H, W]` input and its ground truth.
 */
export function valSample(
  img: Image,
  label: ImageLabels,
  shape: [number, number],
  imgsz: number,
): { input: Float32Array; truth: ImageTruth } {
  const input = new Float32Array(3 * shape[0] * shape[1]);
  return { input, truth: prepareValSample(img, label, shape, imgsz, input, 0) };
}
