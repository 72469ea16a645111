/**
 * YOLO labels of a dataset split, read and checked as Ultralytics 8.3.x does (`verify_image_label`,
 * `YOLODataset.cache_labels` / `get_labels`), with a JSON label cache next to the labels folder.
 *
 * A label file holds one row per instance: `class x y w h` (a box) or `class x1 y1 x2 y2 ...` (a polygon),
 * normalized to 0..1. Numbers are float32, as Ultralytics parses them. When any row of a file has more than
 * 6 columns, every row of it is a polygon and its box is the polygon's extent (`segments2boxes`); the
 * checks then look at those boxes, so a polygon point slightly outside 0..1 passes just as it does there.
 *
 * The cache is `<labels dir>.yolo-wgsl.cache` (JSON), not Ultralytics' `<labels dir>.cache` (a NumPy pickle):
 * both can sit in one dataset without either overwriting the other's.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { DatasetError } from "../errors.ts";
import { info, warn } from "../log.ts";
import { labelPathFor, readImageHeader } from "./image_files.ts";

/** The labels of one image, as Ultralytics' label dicts (`bbox_format: "xywh"`, normalized). */
export interface ImageLabels {
  /** The image path. */
  im_file: string;
  /** `[height, width]` of the upright image (EXIF orientations 6 and 8 applied, as Ultralytics' `exif_size`). */
  shape: [number, number];
  /** Class of each instance (float32 values, as read). */
  cls: number[];
  /** `[x_center, y_center, width, height]` of each instance, normalized. */
  bboxes: number[][];
  /** Each instance's polygon `[x1, y1, x2, y2, ...]`, normalized; empty for box-only datasets. */
  segments: number[][];
  /** Always true: coordinates are fractions of the image size. */
  normalized: true;
  /** Always `"xywh"`. */
  bbox_format: "xywh";
}

/** Counts of a split scan, as Ultralytics reports them. */
export interface LabelSummary {
  /** Label files found (including ones whose contents turned out corrupt). */
  found: number;
  /** Images without a label file (backgrounds). */
  missing: number;
  /** Empty label files (backgrounds). */
  empty: number;
  /** Images left out: unreadable image or corrupt label file. */
  corrupt: number;
  /** Images scanned. */
  total: number;
  /** Instances in the kept labels. */
  instances: number;
  /** One line per image that was left out or changed (duplicate rows removed, JPEG truncated). */
  messages: string[];
}

/** The labels of a split and how they were obtained. */
export interface LabelSet {
  /** One entry per usable image, in the order of the images given. */
  labels: ImageLabels[];
  /** Counts and messages of the scan (replayed from the cache when it was used). */
  summary: LabelSummary;
  /** The cache file read or written, or null when caching was off. */
  cacheFile: string | null;
  /** Whether the labels came from the cache. */
  fromCache: boolean;
}

/** Options of {@link loadLabels}. */
export interface LoadLabelsOptions {
  /**
   * Text put before every printed line (Ultralytics prints `"val: "`).
   * @default ""
   */
  prefix?: string;
  /**
   * Treat every class as class 0 for the class-range check (Ultralytics' `single_cls`).
   * @default false
   */
  single_cls?: boolean;
  /**
   * Read and write the label cache.
   * @default true
   */
  cache?: boolean;
  /**
   * Print the scan line, the messages and the cache line.
   * @default true
   */
  verbose?: boolean;
}

/** Bumped whenever the cached labels would come out differently. */
export const LABEL_CACHE_VERSION = "yolo-wgsl-labels-1";

const HELP_URL = "See https://docs.ultralytics.com/datasets for dataset formatting guidance.";
const f32 = Math.fround;
const MAX_COORD = f32(1.01);
const MIN_VALUE = f32(-0.01);

/** A float32 value as NumPy prints it: the shortest decimal that reads back as the same float32. */
function f32String(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  for (let p = 1; p < 10; p++) {
    const s = v.toPrecision(p);
    if (f32(Number(s)) === v) return String(Number(s));
  }
  return String(v);
}
const f32List = (vs: number[]) => `[${vs.map(f32String).join(" ")}]`;

/** Python's `float(token)` to float32; an error like Python's for anything else. */
function parseNumber(token: string): number {
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(token)) return f32(Number(token));
  const special = token.toLowerCase().replace(/^\+/, "");
  if (special === "nan" || special === "-nan") return NaN;
  if (special === "inf" || special === "infinity") return Infinity;
  if (special === "-inf" || special === "-infinity") return -Infinity;
  throw new Error(`could not convert string to float: '${token}'`);
}

/** The largest value, or NaN when any is NaN (NumPy's `max`). */
const nanMax = (vs: number[]) =>
  vs.reduce((m, v) => (Number.isNaN(m) || Number.isNaN(v) ? NaN : Math.max(m, v)));
const nanMin = (vs: number[]) =>
  vs.reduce((m, v) => (Number.isNaN(m) || Number.isNaN(v) ? NaN : Math.min(m, v)));

/** What one label file holds after the checks. */
export interface VerifiedLabels {
  /** Rows `[cls, x, y, w, h]`. */
  rows: number[][];
  /** Polygons, one per row, when the file holds polygons; else empty. */
  segments: number[][];
  /** Duplicate rows removed (the kept rows are then in sorted order, as `np.unique` leaves them). */
  duplicates: number;
}

/**
 * Checks the text of one label file as `verify_image_label` does, without touching files.
 *
 * @param text The label file's contents.
 * @param nc The dataset's class count.
 * @param singleCls Skip the class-range check (Ultralytics' `single_cls`).
 * @returns The rows, polygons and the number of duplicate rows removed; no rows for an empty file.
 * @throws {Error} With Ultralytics' reason as message when the file is corrupt.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyLabelText } from "./labels.ts";
 * const { rows, segments } = verifyLabelText("0 0.1 0.2 0.3 0.2 0.2 0.4\n", 80);
 * assert.equal(rows.length, 1);
 * assert.equal(segments[0].length, 6);
 * assert.throws(() => verifyLabelText("80 0.5 0.5 0.1 0.1", 80), /Label class 80 exceeds/);
 * ```
 */
export function verifyLabelText(text: string, nc: number, singleCls = false): VerifiedLabels {
  // Python's str.splitlines() breaks at these.
  // deno-lint-ignore no-control-regex
  const lines = text.trim().split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/).filter((l) => l.length > 0);
  const tokens = lines.map((l) => l.trim() === "" ? [] : l.trim().split(/\s+/));
  let rows: number[][];
  let segments: number[][] = [];
  if (tokens.some((t) => t.length > 6)) {
    rows = tokens.map((t, r) => {
      const values = t.map(parseNumber);
      if (values.length === 0) throw new Error(`row ${r + 1} is blank`);
      const xy = values.slice(1);
      if (xy.length % 2 !== 0) {
        throw new Error(`row ${r + 1} has an odd number of polygon coordinates (${xy.length})`);
      }
      if (xy.length === 0) throw new Error(`row ${r + 1} has a class but no polygon`);
      segments.push(xy);
      let [x1, y1, x2, y2] = [xy[0], xy[1], xy[0], xy[1]];
      for (let i = 0; i < xy.length; i += 2) {
        x1 = nanMin([x1, xy[i]]), x2 = nanMax([x2, xy[i]]);
        y1 = nanMin([y1, xy[i + 1]]), y2 = nanMax([y2, xy[i + 1]]);
      }
      return [values[0], f32(x1 + x2) / 2, f32(y1 + y2) / 2, f32(x2 - x1), f32(y2 - y1)];
    });
  } else {
    rows = tokens.map((t) => t.map(parseNumber));
    if (rows.some((r) => r.length !== rows[0].length)) {
      throw new Error("rows have different numbers of columns");
    }
  }
  if (rows.length === 0) return { rows, segments, duplicates: 0 };

  if (rows[0].length !== 5) throw new Error(`labels require 5 columns, ${rows[0].length} columns detected`);
  const points = rows.flatMap((r) => r.slice(1));
  if (!(nanMax(points) <= MAX_COORD)) {
    throw new Error(
      `non-normalized or out of bounds coordinates ${f32List(points.filter((v) => v > MAX_COORD))}`,
    );
  }
  const all = rows.flat();
  if (!(nanMin(all) >= MIN_VALUE)) {
    throw new Error(`negative class labels or coordinate ${f32List(all.filter((v) => v < MIN_VALUE))}`);
  }
  const maxCls = singleCls ? 0 : nanMax(rows.map((r) => r[0]));
  if (!(maxCls < nc)) {
    throw new Error(
      `Label class ${Math.trunc(maxCls)} exceeds dataset class count ${nc}. Possible class labels are 0-${
        nc - 1
      }`,
    );
  }

  // np.unique(rows, axis=0, return_index=True): sorted distinct rows, each at its first occurrence.
  const order = rows.map((_, i) => i).sort((a, b) => {
    for (let k = 0; k < 5; k++) if (rows[a][k] !== rows[b][k]) return rows[a][k] - rows[b][k];
    return a - b;
  });
  const keep = order.filter((i, k) => k === 0 || rows[order[k - 1]].some((v, c) => v !== rows[i][c]));
  const duplicates = rows.length - keep.length;
  if (duplicates > 0) {
    rows = keep.map((i) => rows[i]);
    if (segments.length) segments = keep.map((i) => segments[i]);
  }
  return { rows, segments, duplicates };
}

/** One image's scan result (Ultralytics' `verify_image_label` tuple). */
interface Verified {
  labels: ImageLabels | null;
  missing: number;
  found: number;
  empty: number;
  corrupt: number;
  message: string;
}

/** Checks one image and its label file. */
async function verifyImageLabel(
  imFile: string,
  lbFile: string,
  nc: number,
  prefix: string,
  singleCls: boolean,
): Promise<Verified> {
  const out: Verified = { labels: null, missing: 0, found: 0, empty: 0, corrupt: 0, message: "" };
  try {
    const header = await readImageHeader(imFile);
    if (header.truncated) {
      out.message = `${prefix}${imFile}: corrupt JPEG (no end-of-image marker), kept as is`;
    }
    let text: string | null = null;
    try {
      if ((await Deno.stat(lbFile)).isFile) text = await Deno.readTextFile(lbFile);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    let verified: VerifiedLabels = { rows: [], segments: [], duplicates: 0 };
    if (text === null) out.missing = 1;
    else {
      out.found = 1;
      verified = verifyLabelText(text, nc, singleCls);
      if (verified.rows.length === 0) out.empty = 1;
      if (verified.duplicates > 0) {
        out.message = `${prefix}${imFile}: ${verified.duplicates} duplicate labels removed`;
      }
    }
    out.labels = {
      im_file: imFile,
      shape: [header.height, header.width],
      cls: verified.rows.map((r) => r[0]),
      bboxes: verified.rows.map((r) => r.slice(1)),
      segments: verified.segments,
      normalized: true,
      bbox_format: "xywh",
    };
  } catch (e) {
    out.corrupt = 1;
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    out.message = `${prefix}${imFile}: ignoring corrupt image/label: ${why}`;
  }
  return out;
}

/** `fn` over `items` with at most `limit` running at once; results in order. */
async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** What the cache file holds. */
interface CacheFile {
  version: string;
  hash: string;
  labels: ImageLabels[];
  summary: LabelSummary;
}

/** A hash of the cache version, the checks' settings and every file's path, size and modification time. */
async function filesHash(files: string[], nc: number, singleCls: boolean): Promise<string> {
  const stats = await mapPool(files, 32, async (f) => {
    try {
      const s = await Deno.stat(f);
      return [f, s.size, s.mtime?.getTime() ?? 0];
    } catch {
      return [f, -1, 0];
    }
  });
  const text = JSON.stringify([LABEL_CACHE_VERSION, nc, singleCls, stats]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function readCache(path: string, hash: string): Promise<CacheFile | null> {
  try {
    const cache = JSON.parse(await Deno.readTextFile(path)) as CacheFile;
    return cache.version === LABEL_CACHE_VERSION && cache.hash === hash ? cache : null;
  } catch {
    return null;
  }
}

/**
 * Writes the cache atomically (temp file, then rename); false when the folder is not writable. A folder
 * whose mode has no write bit is left alone even when the process could write it anyway (root): a
 * read-only dataset stays as it is.
 */
async function writeCache(path: string, cache: CacheFile): Promise<boolean> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    const mode = (await Deno.stat(dirname(path))).mode;
    if (mode !== null && (mode & 0o222) === 0) return false;
    await Deno.writeTextFile(tmp, JSON.stringify(cache));
    await Deno.rename(tmp, path);
    return true;
  } catch {
    await Deno.remove(tmp).catch(() => {});
    return false;
  }
}

/**
 * Reads and checks the labels of a split's images, as Ultralytics' `YOLODataset.get_labels`: each image's
 * header (format, size, EXIF rotation) and its label file (`/images/` → `/labels/`, `.txt`). Images whose
 * image or label file is corrupt are left out with a message; missing and empty label files are backgrounds.
 * Prints `Scanning <labels dir>... N images, N backgrounds, N corrupt` and the messages. The result is
 * cached next to the labels folder, keyed by every file's path, size and modification time.
 *
 * When some images have polygons and others only boxes, every polygon is dropped with a warning (a mixed
 * detect/segment dataset), as Ultralytics does.
 *
 * @param images The split's image paths ({@linkcode imageFiles}).
 * @param nc The dataset's class count.
 * @param options Prefix, `single_cls`, cache and verbosity.
 * @returns The labels of the usable images, the scan's counts and messages, and the cache used.
 * @throws {DatasetError} When no image is usable.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadLabels } from "./labels.ts";
 * await assert.rejects(loadLabels(["/no/images/x.jpg"], 80, { cache: false, verbose: false }), {
 *   name: "DatasetError",
 * });
 * ```
 */
export async function loadLabels(
  images: readonly string[],
  nc: number,
  options: LoadLabelsOptions = {},
): Promise<LabelSet> {
  const { prefix = "", single_cls: singleCls = false, cache: useCache = true, verbose = true } = options;
  if (images.length === 0) throw new DatasetError("", "Cannot load labels: the image list is empty");
  const labelFiles = images.map(labelPathFor);
  const labelsDir = dirname(labelFiles[0]);
  const cacheFile = `${labelsDir}.yolo-wgsl.cache`;
  const hash = useCache ? await filesHash([...labelFiles, ...images], nc, singleCls) : "";
  const cached = useCache ? await readCache(cacheFile, hash) : null;

  let labels: ImageLabels[];
  let summary: LabelSummary;
  if (cached) {
    ({ labels, summary } = cached);
    if (verbose) {
      info(`${prefix}Scanning ${cacheFile}... ${scanCounts(summary)}`);
      for (const m of summary.messages) warn(m);
    }
  } else {
    const results = await mapPool(
      images,
      16,
      (im, i) => verifyImageLabel(im, labelFiles[i], nc, prefix, singleCls),
    );
    labels = results.flatMap((r) => r.labels ? [r.labels] : []);
    const sum = (k: "found" | "missing" | "empty" | "corrupt") => results.reduce((s, r) => s + r[k], 0);
    summary = {
      found: sum("found"),
      missing: sum("missing"),
      empty: sum("empty"),
      corrupt: sum("corrupt"),
      total: images.length,
      instances: labels.reduce((s, l) => s + l.cls.length, 0),
      messages: results.flatMap((r) => r.message ? [r.message] : []),
    };
    if (verbose) {
      info(`${prefix}Scanning ${join(dirname(labelsDir), basename(labelsDir))}... ${scanCounts(summary)}`);
      for (const m of summary.messages) warn(m);
      if (summary.found === 0) warn(`${prefix}No labels found in ${cacheFile}. ${HELP_URL}`);
    }
    if (useCache) {
      if (await writeCache(cacheFile, { version: LABEL_CACHE_VERSION, hash, labels, summary })) {
        if (verbose) info(`${prefix}New cache created: ${cacheFile}`);
      } else if (verbose) {
        warn(`${prefix}Cache directory ${dirname(cacheFile)} is not writeable, cache not saved.`);
      }
    }
  }

  if (labels.length === 0) {
    throw new DatasetError(
      labelsDir,
      `No valid images found for "${labelsDir}": images with incorrectly formatted labels are ignored. ${HELP_URL}`,
    );
  }
  const boxes = labels.reduce((s, l) => s + l.bboxes.length, 0);
  const segments = labels.reduce((s, l) => s + l.segments.length, 0);
  if (segments && boxes !== segments) {
    if (verbose) {
      warn(
        `Box and segment counts should be equal, but got len(segments) = ${segments}, len(boxes) = ${boxes}. ` +
          "To resolve this only boxes will be used and all segments will be removed. " +
          "To avoid this please supply either a detect or segment dataset, not a detect-segment mixed dataset.",
      );
    }
    for (const l of labels) l.segments = [];
  }
  if (boxes === 0 && verbose) {
    warn(`Labels are missing or empty in ${cacheFile}, training may not work correctly. ${HELP_URL}`);
  }
  return { labels, summary, cacheFile: useCache ? cacheFile : null, fromCache: cached !== null };
}

/** `8 images, 0 backgrounds, 0 corrupt`. */
function scanCounts(s: LabelSummary): string {
  return `${s.found} images, ${s.missing + s.empty} backgrounds, ${s.corrupt} corrupt`;
}
