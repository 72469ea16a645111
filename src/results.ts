/**
 * One image's predictions, the role of Ultralytics' `Results` (boxes, masks, polygons, speed), with the
 * `predictions.json` entry it writes.
 * @module
 */
import type { Image } from "./io/image.ts";
import { type PlotOptions, plotResult } from "./plot/annotate.ts";
import { cropBox } from "./plot/crop.ts";
import { saveImage } from "./plot/encode.ts";
import { masksXy } from "./postprocess/polygons.ts";
import { encodeRle, type Rle } from "./postprocess/rle.ts";

/** Detected boxes of one image, best first. */
export interface ResultBoxes {
  /** `[k, 4]` xyxy boxes in original-image pixels, flat. */
  xyxy: Float32Array;
  /** `[k]` confidences. */
  conf: Float32Array;
  /** `[k]` class indices. */
  cls: Int32Array;
}

/** Instance masks of one image, one per box. */
export interface ResultMasks {
  /** `k * h * w` binary values, row-major. */
  data: Uint8Array;
  /** `[k, h, w]`: letterbox resolution, or the original with `retina_masks`. */
  shape: [number, number, number];
  /**
   * Each mask's polygon in original pixels: `[[x, y], ...]` (Ultralytics' `masks.xy`). In predict's results
   * it is traced on first read and kept, as Ultralytics' cached property: see {@linkcode tracedMasks}.
   */
  readonly xy: number[][][];
}

/**
 * Masks whose polygons (`xy`) are traced from the masks when first read, then kept: Ultralytics computes
 * `Results.masks.xy` on access too, so predict's post-processing time leaves them out and a caller that
 * never reads them (no `save_txt`, no JSON) never pays for them.
 *
 * @param data `k * h * w` binary values.
 * @param shape `[k, h, w]`.
 * @param origShape `[height, width]` of the original image (the polygons' frame).
 * @returns The masks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tracedMasks } from "./results.ts";
 * // a 2x2 image letterboxed into 4x2 (1 row of padding above and below), its bottom-left pixel set
 * const masks = tracedMasks(new Uint8Array([0, 0, 0, 0, 1, 1, 0, 0]), [1, 4, 2], [2, 2]);
 * assert.deepEqual(masks.xy, [[[0, 1], [1, 1]]]);
 * assert.equal(masks.xy, masks.xy); // traced once
 * ```
 */
export function tracedMasks(
  data: Uint8Array,
  shape: [number, number, number],
  origShape: [number, number],
): ResultMasks {
  let xy: number[][][] | undefined;
  return {
    data,
    shape,
    get xy() {
      xy ??= masksXy({ data, shape }, origShape).map((p) =>
        Array.from({ length: p.length / 2 }, (_, i) => [p[2 * i], p[2 * i + 1]])
      );
      return xy;
    },
  };
}

/** Milliseconds per image of each stage. */
export interface Speed {
  /** Decode and letterbox. */
  preprocess: number;
  /** The network forward. */
  inference: number;
  /** NMS and masks (polygons are traced when first read, outside this). */
  postprocess: number;
}

/** One `predictions.json` entry. */
export interface ResultJson {
  /** The image path. */
  file: string;
  /** `[height, width]` of the image. */
  orig_shape: [number, number];
  /** `[height, width]` of the network input. */
  letterbox_shape: [number, number];
  /** `[k][4]` xyxy boxes in original pixels. */
  boxes_xyxy: number[][];
  /** `[k]` confidences. */
  conf: number[];
  /** `[k]` class indices. */
  cls: number[];
  /** Class names by index. */
  names: Record<number, string>;
  /** `[k]` run-length encoded masks (letterbox or, with `retina_masks`, original resolution). */
  masks: Rle[];
  /** `[k]` polygons `[[x, y], ...]` in original pixels. */
  polygons: number[][][];
}

/** The predictions of one image. */
export class Result {
  /** The image's path (or its name, for bytes). */
  readonly file: string;
  /** `[height, width]` of the image. */
  readonly origShape: [number, number];
  /** `[height, width]` of the network input. */
  readonly letterboxShape: [number, number];
  /** The detections. */
  readonly boxes: ResultBoxes;
  /** Their masks (absent for a detection-only model). */
  readonly masks?: ResultMasks;
  /** Class names by index. */
  readonly names: Record<number, string>;
  /** Time per stage, in ms. */
  readonly speed: Speed;

  /** A result from its parts. */
  constructor(parts: {
    file: string;
    origShape: [number, number];
    letterboxShape: [number, number];
    boxes: ResultBoxes;
    masks?: ResultMasks;
    names: Record<number, string>;
    speed: Speed;
  }) {
    this.file = parts.file;
    this.origShape = parts.origShape;
    this.letterboxShape = parts.letterboxShape;
    this.boxes = parts.boxes;
    this.masks = parts.masks;
    this.names = parts.names;
    this.speed = parts.speed;
  }

  /** Number of detections. */
  get length(): number {
    return this.boxes.conf.length;
  }

  /** Ultralytics' `verbose()` summary, e.g. `3 cars, 1 truck, ` ("(no detections), " when empty). */
  summary(): string {
    if (this.length === 0) return "(no detections), ";
    const counts = new Map<number, number>();
    for (const c of this.boxes.cls) counts.set(c, (counts.get(c) ?? 0) + 1);
    let s = "";
    for (const c of [...counts.keys()].sort((a, b) => a - b)) {
      const n = counts.get(c)!;
      s += `${n} ${this.names[c] ?? c}${n > 1 ? "s" : ""}, `;
    }
    return s;
  }

  /**
   * YOLO-seg label lines (`cls x1 y1 x2 y2 ...`, polygon normalized by the image size; conf last with
   * `saveConf`), as Ultralytics' `save_txt` writes them.
   */
  toTxt(saveConf = false): string {
    const [h, w] = this.origShape;
    const lines: string[] = [];
    for (let i = 0; i < this.length; i++) {
      const poly = this.masks?.xy[i];
      let coords: number[];
      if (poly) coords = poly.flatMap(([x, y]) => [x / w, y / h]);
      else {
        const b = this.boxes.xyxy.subarray(4 * i, 4 * i + 4);
        coords = [(b[0] + b[2]) / 2 / w, (b[1] + b[3]) / 2 / h, (b[2] - b[0]) / w, (b[3] - b[1]) / h];
      }
      const parts = [this.boxes.cls[i], ...coords.map((v) => +v.toPrecision(6))];
      if (saveConf) parts.push(+this.boxes.conf[i].toPrecision(6));
      lines.push(parts.join(" "));
    }
    return lines.length ? lines.join("\n") + "\n" : "";
  }

  /**
   * The annotated image, as Ultralytics' `plot()`: masks blended in class colors, boxes, labels.
   *
   * @param image The original RGB image this result was predicted on.
   * @param options What to draw (`show_boxes`, `show_labels`, `show_conf`, `show_masks`, `line_width`).
   * @returns New RGB pixels the size of `image`.
   * @throws {RangeError} When `image` is not `origShape`.
   */
  plot(image: Image, options?: PlotOptions): Image {
    return plotResult(this, image, options);
  }

  /**
   * Writes the annotated image ({@linkcode Result.plot}) atomically, as PNG for a `.png` path and JPEG
   * (quality 95) otherwise.
   *
   * @param path The file to write.
   * @param image The original RGB image.
   * @param options What to draw.
   */
  async save(path: string, image: Image, options?: PlotOptions): Promise<void> {
    await saveImage(path, this.plot(image, options));
  }

  /**
   * Writes each detection's crop (`save_crop=True`): `<dir>/<class name>/<stem>.jpg`, then `<stem>2.jpg`,
   * ... for more of the same class, cut as Ultralytics' `save_one_box` (box grown by 2% and 10 pixels).
   *
   * @param dir The crops folder (`runs/segment/predict/crops`).
   * @param image The original RGB image.
   * @param stem The file name without extension (the source's stem).
   * @returns The files written.
   */
  async saveCrops(dir: string, image: Image, stem: string): Promise<string[]> {
    const written: string[] = [];
    for (let i = 0; i < this.length; i++) {
      const crop = cropBox(image, this.boxes.xyxy.subarray(4 * i, 4 * i + 4));
      if (crop.width === 0 || crop.height === 0) continue;
      const folder = `${dir}/${this.names[this.boxes.cls[i]] ?? this.boxes.cls[i]}`;
      await Deno.mkdir(folder, { recursive: true });
      let file = `${folder}/${stem}.jpg`;
      for (let n = 2; await Deno.stat(file).then(() => true, () => false); n++) {
        file = `${folder}/${stem}${n}.jpg`;
      }
      await saveImage(file, crop);
      written.push(file);
    }
    return written;
  }

  /** The `predictions.json` entry: boxes, confidences, classes, RLE masks and polygons. */
  toJSON(): ResultJson {
    const k = this.length;
    const masks: Rle[] = [];
    if (this.masks) {
      const [, h, w] = this.masks.shape;
      for (let i = 0; i < k; i++) {
        masks.push(encodeRle(this.masks.data.subarray(i * h * w, (i + 1) * h * w), h, w));
      }
    }
    return {
      file: this.file,
      orig_shape: this.origShape,
      letterbox_shape: this.letterboxShape,
      boxes_xyxy: Array.from({ length: k }, (_, i) => Array.from(this.boxes.xyxy.subarray(4 * i, 4 * i + 4))),
      conf: Array.from(this.boxes.conf),
      cls: Array.from(this.boxes.cls),
      names: this.names,
      masks,
      polygons: this.masks?.xy ?? [],
    };
  }
}
