/**
 * Dataset YAML files, as Ultralytics 8.3.x's `check_det_dataset` reads them: `names` (list or map) or `nc`,
 * a dataset root `path`, and `train` / `val` / `test` splits relative to it, each a folder of images, a
 * `.txt` list of images, or a list of either. When the val images are missing and the YAML has a
 * `download:` zip URL, the zip is fetched and unpacked into the datasets folder.
 *
 * Where things are looked for:
 * - `data=` is a path to a YAML file, or the name of one this package ships (`coco8-seg.yaml`,
 *   `coco128-seg.yaml`, `coco-seg.yaml`, in the repository's `datasets/`), as Ultralytics finds its own.
 * - A relative `path:` is tried next to the YAML file, then in the working directory (Ultralytics'
 *   only place), then in the datasets folder; it defaults to the YAML file's folder.
 * - The datasets folder is `datasets_dir=`, else `$YOLO_WGSL_DATASETS_DIR`, else `./datasets` in the
 *   working directory (where a pip-installed Ultralytics puts them too).
 *
 * `download:` takes a zip URL, or a list whose items are zip URLs (unpacked into the datasets folder) or
 * `{url, dir}` maps (unpacked into `dir` below the dataset root). Ultralytics' Python and bash download
 * scripts are not run. A zip holding one top-level folder is unpacked as it is; any other zip goes into a
 * folder named after it. Unpacking goes to a hidden folder first and is moved into place when whole.
 * @module
 */
import { basename, dirname, isAbsolute, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseYamlDocument as parseDocument } from "../_deps.ts";
import { DatasetError } from "../errors.ts";
import { info, warn } from "../log.ts";
import { downloadZip } from "./_download_zip.ts";
import coco8Seg from "../../datasets/coco8-seg.yaml" with { type: "text" };
import coco128Seg from "../../datasets/coco128-seg.yaml" with { type: "text" };
import cocoSeg from "../../datasets/coco-seg.yaml" with { type: "text" };
import { envVar } from "../env.ts";

/** The dataset YAMLs shipped with the package, by file name. */
export const BUILTIN_DATASET_YAMLS: Readonly<Record<string, string>> = {
  "coco8-seg.yaml": coco8Seg,
  "coco128-seg.yaml": coco128Seg,
  "coco-seg.yaml": cocoSeg,
};

/** One zip to fetch for a dataset. */
export interface DownloadItem {
  /** The zip's URL. */
  url: string;
  /** Where to unpack it, relative to the dataset root; null for the datasets folder. */
  dir: string | null;
}

/** A dataset YAML, checked, with every path absolute. */
export interface DatasetInfo {
  /** The YAML file (absolute path; for a shipped YAML outside a local checkout, its name). */
  yamlFile: string;
  /** The dataset root. */
  path: string;
  /** Train images: a folder, a `.txt` list, or several; null when the YAML leaves it empty. */
  train: string | string[] | null;
  /** Validation images, as `train`. */
  val: string | string[] | null;
  /** Test images, as `train`. */
  test: string | string[] | null;
  /** Class names by index. */
  names: string[];
  /** Number of classes (`names.length`). */
  nc: number;
  /** Image channels (`channels:`, default 3). */
  channels: number;
  /** The zips `download:` names (empty when none or a script). */
  download: DownloadItem[];
  /** The datasets folder used for relative roots and downloads. */
  datasetsDir: string;
  /** The YAML as parsed, before any of the above. */
  yaml: Record<string, unknown>;
}

/** Options of {@link checkDataset}. */
export interface CheckDatasetOptions {
  /**
   * The datasets folder: relative dataset roots are looked for, and downloads unpacked, there.
   * @default `$YOLO_WGSL_DATASETS_DIR` when set, else `"datasets"` (relative to the working directory)
   */
  datasets_dir?: string | null;
  /**
   * Fetch the dataset when its val images are missing and the YAML names a zip.
   * @default true
   */
  download?: boolean;
  /**
   * The `fetch` used to download (a test or a proxy passes its own).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * Print download progress.
   * @default true
   */
  verbose?: boolean;
}

/** The datasets folder `dir` (or its default) names, absolute. */
export function datasetsDir(dir?: string | null): string {
  return resolve(dir ?? envVar("YOLO_WGSL_DATASETS_DIR") ?? "datasets");
}

const exists = async (path: string) => {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
};

/** Python's `str()` of a YAML scalar. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The parts of a dataset YAML that need no file system: names, nc, channels, download, raw dict. */
export interface ParsedDatasetYaml {
  /** Class names by index. */
  names: string[];
  /** Number of classes. */
  nc: number;
  /** Image channels. */
  channels: number;
  /** Zips to fetch. */
  download: DownloadItem[];
  /** The YAML as parsed (`validation:` renamed to `val:`). */
  yaml: Record<string, unknown>;
}

/**
 * Parses and checks dataset YAML text (YAML 1.2 core schema) as `check_det_dataset` does: `train` and `val`
 * keys present (`validation` is renamed), `names` or `nc` present and agreeing, `names` as a list or a map
 * with keys 0..n-1.
 *
 * @param text The YAML text.
 * @param file The file name used in messages.
 * @returns Names, class count, channels, download items and the raw mapping.
 * @throws {DatasetError} When the text is not YAML, not a mapping, or fails a check.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDatasetYaml } from "./dataset_yaml.ts";
 * const d = parseDatasetYaml("train: a\nval: b\nnames: [cat, dog]", "pets.yaml");
 * assert.deepEqual([d.nc, d.names], [2, ["cat", "dog"]]);
 * assert.throws(() => parseDatasetYaml("train: a\nval: b\nnc: 3\nnames: [cat]", "x.yaml"), {
 *   name: "DatasetError",
 * });
 * ```
 */
export function parseDatasetYaml(text: string, file = "<yaml>"): ParsedDatasetYaml {
  const fail = (detail: string) => new DatasetError(file, `Cannot use dataset "${file}": ${detail}`);
  // Ultralytics' YAML.load drops characters outside printable Unicode before parsing.
  const clean = text.replace(
    // deno-lint-ignore no-control-regex
    /[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+/gu,
    "",
  );
  const doc = parseDocument(clean, { version: "1.2", schema: "core" });
  if (doc.errors.length > 0) {
    throw fail(`invalid YAML: ${doc.errors[0].message.split("\n")[0].replace(/:$/, "")}`);
  }
  const data = doc.toJS() as unknown;
  if (!data || typeof data !== "object" || Array.isArray(data)) {
    throw fail("expected a mapping at the top level");
  }
  const yaml = data as Record<string, unknown>;

  for (const k of ["train", "val"]) {
    if (k in yaml) continue;
    if (k === "val" && "validation" in yaml) {
      warn("renaming data YAML 'validation' key to 'val' to match YOLO format.");
      yaml.val = yaml.validation;
      delete yaml.validation;
      continue;
    }
    throw fail(`key "${k}:" is missing ("train" and "val" are required in all data YAMLs)`);
  }
  if (!("names" in yaml) && !("nc" in yaml)) throw fail(`key "names:" is missing (or give "nc:")`);
  const nc = yaml.nc;
  if ("nc" in yaml && !(Number.isInteger(nc) && (nc as number) >= 0)) {
    throw fail(`"nc: ${pyStr(nc)}" is not a class count`);
  }

  let names: string[];
  if (!("names" in yaml)) {
    names = Array.from({ length: nc as number }, (_, i) => `class_${i}`);
  } else if (Array.isArray(yaml.names)) {
    names = yaml.names.map(pyStr);
  } else if (yaml.names && typeof yaml.names === "object") {
    const entries = Object.entries(yaml.names as Record<string, unknown>);
    const keys = entries.map(([k]) => Number(k));
    const n = entries.length;
    if (keys.some((k) => !Number.isInteger(k))) {
      throw fail(
        `"names:" keys must be class indices, not "${
          entries[keys.findIndex((k) => !Number.isInteger(k))][0]
        }"`,
      );
    }
    if (n > 0 && (Math.max(...keys) >= n || Math.min(...keys) < 0)) {
      throw fail(
        `${n}-class dataset requires class indices 0-${n - 1}, but you have invalid class indices ` +
          `${Math.min(...keys)}-${Math.max(...keys)} defined in your dataset YAML`,
      );
    }
    names = new Array<string>(n);
    for (const [k, v] of entries) names[Number(k)] = pyStr(v);
  } else {
    throw fail(`"names:" must be a list or a map of class names, not "${pyStr(yaml.names)}"`);
  }
  if ("nc" in yaml && names.length !== nc) {
    throw fail(`"names" length ${names.length} and "nc: ${nc}" must match`);
  }

  const channels = yaml.channels === undefined || yaml.channels === null ? 3 : Number(yaml.channels);
  return { names, nc: names.length, channels, download: downloadItems(yaml.download), yaml };
}

/** The zips of a `download:` value (a URL, or a list of URLs and `{url, dir}` maps); scripts give none. */
function downloadItems(value: unknown): DownloadItem[] {
  const isUrl = (v: unknown): v is string => typeof v === "string" && /^https?:\/\/\S+$/.test(v.trim());
  const list = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  const items: DownloadItem[] = [];
  for (const v of list) {
    if (isUrl(v)) items.push({ url: v.trim(), dir: null });
    else if (v && typeof v === "object" && isUrl((v as { url?: unknown }).url)) {
      const dir = (v as { dir?: unknown }).dir;
      items.push({
        url: (v as { url: string }).url.trim(),
        dir: dir === null || dir === undefined ? null : String(dir),
      });
    } else return [];
  }
  return items;
}

/** The YAML file `data` names, and its text. */
async function findYaml(data: string): Promise<{ file: string; text: string }> {
  const path = resolve(data);
  try {
    return { file: path, text: await Deno.readTextFile(path) };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new DatasetError(data, `Cannot read dataset "${data}": ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const builtin = BUILTIN_DATASET_YAMLS[basename(data)];
  if (builtin !== undefined && !/[\\/]/.test(data)) {
    const url = new URL(`../../datasets/${data}`, import.meta.url);
    return { file: url.protocol === "file:" ? fileURLToPath(url) : data, text: builtin };
  }
  throw new DatasetError(
    data,
    `Cannot find dataset "${data}": no such file, and not one of the shipped datasets (${
      Object.keys(BUILTIN_DATASET_YAMLS).join(", ")
    })`,
  );
}

/**
 * Reads a dataset YAML as Ultralytics' `check_det_dataset`: checks it, resolves the dataset root and the
 * splits to absolute paths, and downloads the dataset when its val images are missing.
 *
 * @param data A dataset YAML path, or the name of a shipped one (`coco8-seg.yaml`).
 * @param options Datasets folder, whether to download, and the `fetch` to use.
 * @returns The checked dataset description.
 * @throws {DatasetError} When the YAML cannot be found, read or checked, or the val images are missing and
 *   cannot be downloaded; the message says where the data should be.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDataset } from "./dataset_yaml.ts";
 * await assert.rejects(checkDataset("no-such-dataset.yaml"), { name: "DatasetError" });
 * ```
 */
export async function checkDataset(data: string, options: CheckDatasetOptions = {}): Promise<DatasetInfo> {
  const { download: allowDownload = true, verbose = true } = options;
  const dsDir = datasetsDir(options.datasets_dir);
  const { file, text } = await findYaml(data);
  const parsed = parseDatasetYaml(text, data);
  const yaml = parsed.yaml;

  const rootValue = yaml.path === null || yaml.path === undefined || yaml.path === ""
    ? null
    : String(yaml.path);
  let root: string;
  if (rootValue === null) root = dirname(file);
  else if (isAbsolute(rootValue)) root = normalize(rootValue);
  else {
    const candidates = [...(isAbsolute(file) ? [resolve(dirname(file), rootValue)] : []), resolve(rootValue)];
    root = resolve(dsDir, rootValue);
    for (const c of candidates) {
      if (await exists(c)) {
        root = c;
        break;
      }
    }
  }

  const split = async (v: unknown): Promise<string | string[] | null> => {
    if (v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) return null;
    if (Array.isArray(v)) return v.map((x) => resolve(root, String(x)));
    const s = String(v);
    const p = resolve(root, s);
    if (!(await exists(p)) && s.startsWith("../")) return resolve(root, s.slice(3));
    return p;
  };
  const dataset: DatasetInfo = {
    yamlFile: file,
    path: root,
    train: await split(yaml.train),
    val: await split(yaml.val),
    test: await split(yaml.test),
    names: parsed.names,
    nc: parsed.nc,
    channels: parsed.channels,
    download: parsed.download,
    datasetsDir: dsDir,
    yaml,
  };

  const vals = dataset.val === null ? [] : [dataset.val].flat();
  const missing = async () => {
    for (const v of vals) if (!(await exists(v))) return v;
    return null;
  };
  const first = await missing();
  if (first === null) return dataset;

  const where = `put the data there, or set datasets_dir= (now "${dsDir}")`;
  const notFound = `Cannot find the images of dataset "${data}": "${first}" does not exist`;
  if (parsed.download.length === 0) {
    const why = yaml.download ? "its download script is not supported" : "it names no download";
    throw new DatasetError(data, `${notFound} and ${why}; ${where}`);
  }
  if (!allowDownload) throw new DatasetError(data, `${notFound} (download is off); ${where}`);
  if (verbose) warn(`Dataset '${data}' images not found, missing path '${first}'`);
  const start = performance.now();
  for (const item of parsed.download) {
    const target = item.dir === null ? dsDir : resolve(root, item.dir);
    try {
      await downloadZip(item.url, target, options.fetch ?? globalThis.fetch, verbose);
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
      throw new DatasetError(data, `${notFound} and downloading "${item.url}" failed: ${why}; ${where}`);
    }
  }
  const still = await missing();
  if (still !== null) {
    throw new DatasetError(
      data,
      `Cannot find the images of dataset "${data}": "${still}" does not exist after the download; ${where}`,
    );
  }
  if (verbose) {
    info(
      `Dataset download success ✅ (${((performance.now() - start) / 1000).toFixed(1)}s), saved to ${dsDir}`,
    );
  }
  return dataset;
}
