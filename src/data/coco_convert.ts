/**
 * COCO instance JSON (`instances_val2017.json`) to YOLO label files, as Ultralytics 8.3.x's
 * `convert_coco(labels_dir, save_dir, use_segments, cls91to80)` writes them:
 *
 * - one `labels/<json stem without "instances_">/<image file stem>.txt` per image that has annotations
 *   (an image whose annotations are all skipped gets an empty file), rows in annotation order;
 * - crowd annotations (`iscrowd: 1`) are skipped; boxes go from top-left `[x, y, w, h]` pixels to
 *   normalized centre `xywh`, and a box with no width or height is skipped; an annotation whose class and
 *   box repeat an earlier one of the image is skipped;
 * - classes are `category_id - 1`, or with `cls91to80` COCO's 91 ids mapped to the 80 of the YOLO names;
 * - with `use_segments`, a polygon is written normalized, several polygons of one instance are joined into
 *   one by `merge_multi_segment`, and an empty `segmentation` writes the box instead;
 * - numbers are written with Python's `%g` (6 significant digits).
 *
 * Ultralytics converts polygons only. A non-crowd RLE `segmentation` (where its code would stop) becomes the
 * outer contours of its mask, merged into one polygon as `masks2segments` does. Where Ultralytics would
 * stop with an error we skip the annotation with a warning instead: an RLE that does not decode, a polygon
 * with an odd number of coordinates, a category with no 80-class id, an `image_id` not in `images`. An
 * annotation without a `segmentation` key writes its box (Ultralytics' lists fall out of step there).
 * @module
 */
import { basename, dirname, extname, join, resolve } from "node:path";
import { DatasetError } from "../errors.ts";
import { incrementPath } from "../io/increment_path.ts";
import { info, warn } from "../log.ts";
import { maskToSegment } from "../postprocess/polygons.ts";
import { asCocoRle, decodeCocoRle } from "./coco_rle.ts";

/** COCO's 91 category ids (1-based, index `id - 1`) as the 80 YOLO classes; null for the 11 unused ids. */
export function coco91ToCoco80Class(): (number | null)[] {
  const unused = new Set([12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91]);
  const out: (number | null)[] = [];
  let next = 0;
  for (let id = 1; id <= 91; id++) out.push(unused.has(id) ? null : next++);
  return out;
}

/** The exact decimal expansion of a finite positive double: `digits` × 10^`exp`. */
function exactDecimal(v: number): { digits: string; exp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2 = biased - 1075;
  if (biased === 0) e2 = -1074;
  else mantissa |= 1n << 52n;
  if (e2 >= 0) return { digits: (mantissa << BigInt(e2)).toString(), exp: 0 };
  return { digits: (mantissa * 5n ** BigInt(-e2)).toString(), exp: e2 };
}

/**
 * Python's `"%g" % v`: 6 significant digits, rounded half to even on the exact value, trailing zeros
 * dropped, exponent form when the exponent is below -4 or at least 6.
 *
 * @param v The number.
 * @returns Its `%g` text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatG } from "./coco_convert.ts";
 * assert.deepEqual([0.1, 1 / 3, 1e-5, 1234567, 79].map((v) => formatG(v)), ["0.1", "0.333333", "1e-05", "1.23457e+06", "79"]);
 * ```
 */
export function formatG(v: number): string {
  const P = 6;
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const sign = v < 0 ? "-" : "";
  let { digits, exp } = exactDecimal(Math.abs(v));
  digits = digits.replace(/^0+/, "");
  let lead = digits.length - 1 + exp; // decimal exponent of the first digit
  let kept = digits.slice(0, P).padEnd(P, "0");
  const rest = digits.slice(P);
  const roundUp = rest.length > 0 &&
    (rest[0] > "5" || (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || Number(kept[P - 1]) % 2 === 1)));
  if (roundUp) {
    kept = (BigInt(kept) + 1n).toString();
    if (kept.length > P) {
      kept = kept.slice(0, P);
      lead++;
    }
  }
  if (lead < -4 || lead >= P) {
    const mant = `${kept[0]}.${kept.slice(1)}`.replace(/\.?0+$/, "");
    return `${sign}${mant}e${lead < 0 ? "-" : "+"}${String(Math.abs(lead)).padStart(2, "0")}`;
  }
  const text = lead >= 0
    ? `${kept.slice(0, lead + 1)}.${kept.slice(lead + 1)}`
    : `0.${"0".repeat(-lead - 1)}${kept}`;
  return sign + text.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}

/** The pair `[i, j]` of closest points of `a` and `b` (first in row-major order on ties), as `min_index`. */
function minIndex(a: number[][], b: number[][]): [number, number] {
  let best = Infinity;
  let at: [number, number] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      const d = (a[i][0] - b[j][0]) ** 2 + (a[i][1] - b[j][1]) ** 2;
      if (d < best) [best, at] = [d, [i, j]];
    }
  }
  return at;
}

/** `np.roll(points, -k, axis=0)` with the first point appended again (a closed ring). */
const rollClosed = (points: number[][], k: number) => {
  const n = points.length;
  const r = points.map((_, i) => points[(((i + k) % n) + n) % n]);
  return [...r, r[0]];
};

/**
 * Joins the polygons of one instance into a single outline, as Ultralytics' `merge_multi_segment`: each
 * pair of neighbouring polygons is connected at its two closest points by a thin two-way bridge.
 *
 * @param segments Flat polygons `[x1, y1, x2, y2, ...]`, at least two.
 * @returns The pieces to concatenate, each a list of `[x, y]` points.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeMultiSegment } from "./coco_convert.ts";
 * const parts = mergeMultiSegment([[0, 0, 1, 0, 1, 1], [3, 1, 4, 1, 4, 2]]);
 * assert.deepEqual(parts.flat(), [[1, 1], [0, 0], [1, 0], [1, 1], [3, 1], [4, 1], [4, 2], [3, 1]]);
 * ```
 */
export function mergeMultiSegment(segments: number[][]): number[][][] {
  const segs = segments.map((s) => Array.from({ length: s.length >> 1 }, (_, i) => [s[2 * i], s[2 * i + 1]]));
  const idx: number[][] = segs.map(() => []);
  for (let i = 1; i < segs.length; i++) {
    const [a, b] = minIndex(segs[i - 1], segs[i]);
    idx[i - 1].push(a);
    idx[i].push(b);
  }
  const last = segs.length - 1;
  const out: number[][][] = [];
  for (let i = 0; i < segs.length; i++) {
    let ix = idx[i];
    if (ix.length === 2 && ix[0] > ix[1]) {
      ix = [ix[1], ix[0]];
      segs[i] = segs[i].toReversed();
    }
    segs[i] = rollClosed(segs[i], ix[0]);
    if (i === 0 || i === last) out.push(segs[i]);
    else out.push(segs[i].slice(0, ix[1] - ix[0] + 1));
  }
  for (let i = last; i >= 0; i--) {
    if (i !== 0 && i !== last) out.push(segs[i].slice(Math.abs(idx[i][1] - idx[i][0])));
  }
  return out;
}

/** The parts of a COCO instances JSON the conversion reads. */
export interface CocoJson {
  /** Images: id, file name and size. */
  images: { id: number; file_name: string; width: number; height: number }[];
  /** Instance annotations. */
  annotations: {
    id?: number;
    image_id: number;
    category_id: number;
    bbox: number[];
    iscrowd?: number | boolean;
    segmentation?: number[][] | Record<string, unknown> | null;
  }[];
}

/** Options of {@link cocoToYolo}. */
export interface CocoToYoloOptions {
  /**
   * Write polygons (else boxes).
   * @default true
   */
  use_segments?: boolean;
  /**
   * Map COCO's 91 category ids to the 80 classes (else `category_id - 1`).
   * @default true
   */
  cls91to80?: boolean;
}

/** Label files made from one COCO JSON. */
export interface CocoLabels {
  /** Label file text by path relative to the split's labels folder (`000000000139.txt`). */
  files: Map<string, string>;
  /** One line per skipped annotation or image (not counting crowd and duplicate annotations). */
  warnings: string[];
}

/** Python's `Path(name).with_suffix(".txt")`. */
function txtName(fileName: string): string {
  const ext = extname(basename(fileName));
  return (ext ? fileName.slice(0, -ext.length) : fileName) + ".txt";
}

/**
 * Converts parsed COCO instances JSON into YOLO label file texts (no files touched).
 *
 * @param data The parsed JSON.
 * @param options Polygons or boxes, and the class mapping.
 * @returns Label texts by file, and warnings.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cocoToYolo } from "./coco_convert.ts";
 * const { files } = cocoToYolo({
 *   images: [{ id: 1, file_name: "a.jpg", width: 100, height: 50 }],
 *   annotations: [{ image_id: 1, category_id: 1, bbox: [10, 5, 20, 10], segmentation: [[10, 5, 30, 5, 30, 15]] }],
 * });
 * assert.equal(files.get("a.txt"), "0 0.1 0.1 0.3 0.1 0.3 0.3\n");
 * ```
 */
export function cocoToYolo(data: CocoJson, options: CocoToYoloOptions = {}): CocoLabels {
  const { use_segments: useSegments = true, cls91to80 = true } = options;
  const coco80 = coco91ToCoco80Class();
  const images = new Map(data.images.map((im) => [im.id, im]));
  const byImage = new Map<number, CocoJson["annotations"]>();
  for (const ann of data.annotations) {
    const list = byImage.get(ann.image_id);
    if (list) list.push(ann);
    else byImage.set(ann.image_id, [ann]);
  }
  const files = new Map<string, string>();
  const warnings: string[] = [];
  for (const [imageId, anns] of byImage) {
    const img = images.get(imageId);
    if (!img) {
      warnings.push(`image_id ${imageId} is not in "images": its ${anns.length} annotations are skipped`);
      continue;
    }
    const { width: w, height: h } = img;
    const rows: number[][] = [];
    const boxes: number[][] = [];
    for (const ann of anns) {
      if (ann.iscrowd) continue;
      const [bx, by, bw, bh] = ann.bbox.map(Number);
      const box = [(bx + bw / 2) / w, (by + bh / 2) / h, bw / w, bh / h];
      if (box[2] <= 0 || box[3] <= 0) continue;
      const cls = cls91to80 ? coco80[ann.category_id - 1] ?? null : ann.category_id - 1;
      const what = `annotation ${ann.id ?? "?"} of "${img.file_name}"`;
      if (cls === null) {
        warnings.push(`${what}: category_id ${ann.category_id} has no 80-class id, skipped`);
        continue;
      }
      const row = [cls, ...box];
      if (boxes.some((b) => b.every((v, i) => v === row[i]))) continue;
      let segment: number[] | null = null;
      const seg = ann.segmentation;
      if (useSegments && Array.isArray(seg) && seg.length > 0) {
        if (seg.some((p) => !Array.isArray(p) || p.length % 2 !== 0)) {
          warnings.push(`${what}: a polygon with an odd number of coordinates, skipped`);
          continue;
        }
        const points = seg.length > 1 ? mergeMultiSegment(seg).flat() : mergeFree(seg[0]);
        segment = [cls, ...points.flatMap(([x, y]) => [x / w, y / h])];
      } else if (useSegments && seg && !Array.isArray(seg)) {
        // a non-crowd RLE (Ultralytics stops here): its mask's outer contours, merged as masks2segments does
        let points: Float32Array;
        try {
          const rle = asCocoRle(seg);
          points = maskToSegment(decodeCocoRle(rle), rle.size, "all");
        } catch (e) {
          warnings.push(`${what}: ${e instanceof Error ? e.message : String(e)}, skipped`);
          continue;
        }
        if (points.length === 0) {
          warnings.push(`${what}: its RLE mask is empty, skipped`);
          continue;
        }
        segment = [cls, ...Array.from(points, (v, i) => v / (i % 2 ? h : w))];
      }
      boxes.push(row);
      rows.push(segment ?? row);
    }
    const name = txtName(img.file_name);
    const text = rows.map((r) => r.map(formatG).join(" ") + "\n").join("");
    files.set(name, (files.get(name) ?? "") + text);
  }
  return { files, warnings };
}

/** One flat polygon as points. */
const mergeFree = (s: number[]) => Array.from({ length: s.length >> 1 }, (_, i) => [s[2 * i], s[2 * i + 1]]);

/** Options of {@link convertCoco}. */
export interface ConvertCocoOptions extends CocoToYoloOptions {
  /**
   * The output folder; as Ultralytics, an existing one is not reused: `coco_converted2`, `3`, ... follow.
   * @default "coco_converted"
   */
  save_dir?: string;
  /**
   * Print progress and warnings.
   * @default true
   */
  verbose?: boolean;
}

/** What {@link convertCoco} wrote. */
export interface ConvertCocoResult {
  /** The output folder (absolute). */
  saveDir: string;
  /** Label files written. */
  files: number;
  /** Skipped annotations and images. */
  warnings: string[];
}

/**
 * Converts COCO instance JSON files into YOLO labels under `save_dir/labels/<split>/`, as Ultralytics'
 * `convert_coco` (see the module notes for what is written and skipped).
 *
 * @param json A COCO JSON file, or a folder whose `*.json` files are converted in name order.
 * @param options Output folder, polygons or boxes, class mapping.
 * @returns The output folder, the number of label files and the warnings.
 * @throws {DatasetError} When a JSON file cannot be read or is not COCO instances.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convertCoco } from "./coco_convert.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/instances_val2017.json`, JSON.stringify({
 *   images: [{ id: 1, file_name: "a.jpg", width: 100, height: 50 }],
 *   annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 5, 20, 10], segmentation: [[10, 5, 30, 5, 30, 15]] }],
 * }));
 * const res = await convertCoco(`${dir}/instances_val2017.json`, { save_dir: `${dir}/out`, verbose: false });
 * assert.equal(await Deno.readTextFile(`${res.saveDir}/labels/val2017/a.txt`), "0 0.1 0.1 0.3 0.1 0.3 0.3\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function convertCoco(
  json: string,
  options: ConvertCocoOptions = {},
): Promise<ConvertCocoResult> {
  const { verbose = true } = options;
  let jsonFiles: string[];
  try {
    jsonFiles = (await Deno.stat(json)).isDirectory
      ? (await Array.fromAsync(Deno.readDir(json))).filter((e) => e.name.endsWith(".json")).map((e) =>
        resolve(json, e.name)
      ).sort()
      : [resolve(json)];
  } catch {
    throw new DatasetError(json, `Cannot convert "${json}": no such file or directory`);
  }
  if (jsonFiles.length === 0) throw new DatasetError(json, `Cannot convert "${json}": no .json files in it`);
  const saveDir = incrementPath(resolve(options.save_dir ?? "coco_converted"));
  await Deno.mkdir(join(saveDir, "images"), { recursive: true });
  await Deno.mkdir(join(saveDir, "labels"), { recursive: true });

  let written = 0;
  const warnings: string[] = [];
  for (const file of jsonFiles) {
    let data: CocoJson;
    try {
      data = JSON.parse(await Deno.readTextFile(file));
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
      throw new DatasetError(file, `Cannot convert "${file}": ${why}`);
    }
    if (!Array.isArray(data?.images) || !Array.isArray(data?.annotations)) {
      throw new DatasetError(
        file,
        `Cannot convert "${file}": not COCO instances (no "images" and "annotations")`,
      );
    }
    const split = basename(file, extname(file)).replaceAll("instances_", "");
    const dir = join(saveDir, "labels", split);
    await Deno.mkdir(dir, { recursive: true });
    const { files, warnings: w } = cocoToYolo(data, options);
    if (verbose) info(`Annotations ${file}: ${files.size} label files`);
    for (const [name, text] of files) {
      await Deno.mkdir(dirname(join(dir, name)), { recursive: true });
      await Deno.writeTextFile(join(dir, name), text, { append: true });
    }
    written += files.size;
    for (const line of w) {
      warnings.push(`${basename(file)}: ${line}`);
      if (verbose) warn(`${basename(file)}: ${line}`);
    }
  }
  if (verbose) {
    info("COCO data converted successfully.");
    info(`Results saved to ${saveDir}`);
  }
  return { saveDir, files: written, warnings };
}
