/**
 * Ultralytics 8.3.159's `Results.plot()` for segmentation with the cv2 `Annotator` defaults: masks first,
 * blended with alpha 0.5 in their class colors, then, from the lowest-confidence detection up, each box
 * outline and a filled label `"name 0.87"` drawn with the built-in bitmap font ({@link ./font.ts}).
 * @module
 */
import type { Image } from "../io/image.ts";
import type { ResultBoxes, ResultMasks } from "../results.ts";
import { classColor, textColor } from "./colors.ts";
import { blendMasks, drawBox, fillRect, masksToOriginal } from "./draw.ts";
import { drawText, textSize } from "./font.ts";

/** Options of {@linkcode plotResult} (Ultralytics' `plot()` arguments). */
export interface PlotOptions {
  /** Draw the box outlines. @default true */
  show_boxes?: boolean;
  /** Draw a label per box. @default true */
  show_labels?: boolean;
  /** Put the confidence in the label. @default true */
  show_conf?: boolean;
  /** Blend the masks. @default true */
  show_masks?: boolean;
  /** Line width in pixels; null for {@linkcode defaultLineWidth}. @default null */
  line_width?: number | null;
}

/** What the annotator needs of a result. */
export interface Plottable {
  /** `[height, width]` of the image. */
  readonly origShape: [number, number];
  /** The detections, best first. */
  readonly boxes: ResultBoxes;
  /** Their masks. */
  readonly masks?: ResultMasks;
  /** Class names by index. */
  readonly names: Record<number, string>;
}

/** Python 3 `round`: half to even. */
function pyRound(x: number): number {
  const f = Math.floor(x), d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/**
 * The annotator's default line width, `max(round(sum(im.shape) / 2 * 0.003), 2)` — `im.shape` is
 * `(h, w, 3)` for an OpenCV image, so the channel count is in the sum.
 */
export function defaultLineWidth(height: number, width: number): number {
  return Math.max(pyRound((height + width + 3) / 2 * 0.003), 2);
}

/**
 * Draws a result's masks, boxes and labels on a copy of its image.
 *
 * @param result The predictions (boxes in original pixels; masks at letterbox or original resolution).
 * @param image The original RGB image the result was predicted on.
 * @param options What to draw.
 * @returns The annotated RGB image, the size of `image`.
 * @throws {RangeError} When `image` is not the result's `origShape`.
 */
export function plotResult(result: Plottable, image: Image, options: PlotOptions = {}): Image {
  const [h, w] = result.origShape;
  if (image.height !== h || image.width !== w) {
    throw new RangeError(
      `Cannot plot result: image is ${image.height}x${image.width}, the result is for ${h}x${w}`,
    );
  }
  const { show_boxes = true, show_labels = true, show_conf = true, show_masks = true } = options;
  const lw = options.line_width ?? defaultLineWidth(h, w);
  const img: Image = { width: w, height: h, data: image.data.slice() };
  const { xyxy, conf, cls } = result.boxes;
  const k = conf.length;
  const m = result.masks;
  if (show_masks && m && m.shape[0] > 0) {
    const data = masksToOriginal(m.data, m.shape, [h, w]);
    blendMasks(img, data, Array.from({ length: m.shape[0] }, (_, i) => classColor(cls[i] ?? i)));
  }
  if (!show_boxes) return img;
  // OpenCV's Hershey text at scale lw / 3 is about 7 * lw pixels tall: one font pixel per line width.
  const scale = Math.max(1, lw), pad = scale;
  for (let i = k - 1; i >= 0; i--) {
    const color = classColor(cls[i]);
    const x1 = Math.trunc(xyxy[4 * i]), y1 = Math.trunc(xyxy[4 * i + 1]);
    const x2 = Math.trunc(xyxy[4 * i + 2]), y2 = Math.trunc(xyxy[4 * i + 3]);
    drawBox(img, x1, y1, x2, y2, color, lw);
    if (!show_labels) continue;
    const name = result.names[cls[i]] ?? String(cls[i]);
    const label = show_conf ? `${name} ${conf[i].toFixed(2)}` : name;
    const [tw, th] = textSize(label, scale);
    const bw = tw + 2 * pad, bh = th + 2 * pad;
    const outside = y1 >= bh; // the label fits above the box
    const lx = x1 > w - bw ? w - bw : x1;
    const top = outside ? y1 - bh : y1;
    fillRect(img, lx, top, lx + bw - 1, top + bh - 1, color);
    drawText(img, label, lx + pad, top + pad, textColor(color), scale);
  }
  return img;
}
