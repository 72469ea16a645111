/**
 * Ultralytics' defaults (`ultralytics/cfg/default.yaml`, 8.3.x) for the keys yolo-wgsl understands, and the
 * `key=value` parsing of its CLI (`yolo segment predict model=... conf=0.5`).
 */

/** Modes the CLI runs. */
export const MODES = ["predict", "val", "export", "info", "convert", "serve"] as const;
/** Tasks a first positional word may name (only segmentation runs). */
export const TASKS = ["segment", "detect", "classify", "pose", "obb"] as const;

/** A parsed argument value (Ultralytics' `smart_value`). */
export type CfgValue = string | number | boolean | null | CfgValue[];

/** Default values, by Ultralytics' key names. */
export const DEFAULTS: Readonly<Record<string, CfgValue>> = {
  task: "segment",
  mode: "predict",
  model: "yolo11n-seg.pt",
  data: null,
  imgsz: 640,
  batch: 16,
  device: null,
  half: false,
  verbose: true,
  // predict / val
  source: null,
  conf: null,
  iou: 0.7,
  max_det: 300,
  classes: null,
  agnostic_nms: false,
  single_cls: false,
  retina_masks: false,
  save: true,
  save_txt: false,
  save_conf: false,
  save_json: false,
  save_crop: false,
  show_boxes: true,
  show_labels: true,
  show_conf: true,
  line_width: null,
  project: null,
  name: null,
  exist_ok: false,
  plots: true,
  split: "val",
  rect: true,
  workers: 8, // threads decoding images (predict lists, val)
  // export
  format: "safetensors",
  // yolo-wgsl
  weights_dir: null,
  datasets_dir: null,
  fuse: true,
  gpu_letterbox: null, // predict/serve: letterbox on the GPU (null: on hardware adapters)
  gpu_postprocess: null, // predict/serve: NMS and masks on the GPU (null: on hardware adapters)
  tune: null, // autotune conv tiles (null: on hardware adapters with timestamp-query)
  tune_cache: null, // tuning cache file (null: $YOLO_WGSL_CACHE_DIR/tune.json or ~/.cache/yolo-wgsl/tune.json)
  webgpu: null, // WebGPU implementation: deno or dawn (null: $YOLO_WGSL_WEBGPU, else deno)
  // serve (HTTP predictions; see src/modes/serve.ts)
  port: 8000,
  host: "127.0.0.1",
  max_batch: 8,
  batch_wait: 5,
  max_bytes: 20 * 2 ** 20,
  max_pixels: 40_000_000,
  max_imgsz: null,
  timeout: 60,
  // convert (COCO JSON → YOLO labels, Ultralytics' convert_coco)
  coco_json: null,
  save_dir: null,
  use_segments: true,
  cls91to80: true,
};

/**
 * Ultralytics' `smart_value`: "none" → null, "true"/"false" → booleans, Python-style numbers and lists,
 * otherwise the string itself.
 */
export function smartValue(v: string): CfgValue {
  const lower = v.toLowerCase();
  if (lower === "none" || lower === "null") return null;
  if (lower === "true") return true;
  if (lower === "false") return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v)) return Number(v);
  const list = v.match(/^[[(](.*)[\])]$/);
  if (list) {
    const inner = list[1].trim();
    return inner === "" ? [] : inner.split(",").map((s) => smartValue(s.trim().replace(/^['"]|['"]$/g, "")));
  }
  return v;
}

/** The result of parsing CLI words. */
export interface CliArgs {
  task: string;
  mode: string;
  overrides: Record<string, CfgValue>;
}

/**
 * Split CLI words into task, mode and `key=value` overrides, checking every key against {@link DEFAULTS}.
 * Accepts `key=value`, `key = value` split over words, and Ultralytics' optional leading task word.
 * @throws {SyntaxError} naming the first word that is not understood.
 */
export function parseCliWords(words: string[]): CliArgs {
  const joined: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === "=" && joined.length && i + 1 < words.length) joined[joined.length - 1] += `=${words[++i]}`;
    else if (w.endsWith("=") && i + 1 < words.length && !words[i + 1].includes("=")) {
      joined.push(w + words[++i]);
    } else if (w.startsWith("=") && joined.length) joined[joined.length - 1] += w;
    else joined.push(w);
  }
  let task = String(DEFAULTS.task);
  let mode = "";
  const overrides: Record<string, CfgValue> = {};
  for (const w of joined) {
    const eq = w.indexOf("=");
    if (eq > 0) {
      const key = w.slice(0, eq).replace(/-/g, "_");
      const value = w.slice(eq + 1);
      if (!(key in DEFAULTS)) {
        throw new SyntaxError(
          `Unknown argument "${key}" in "${w}": valid keys are ${Object.keys(DEFAULTS).join(", ")}`,
        );
      }
      if (value === "") throw new SyntaxError(`Missing value for "${key}": write ${key}=VALUE`);
      overrides[key] = smartValue(value);
    } else if ((TASKS as readonly string[]).includes(w)) {
      task = w;
    } else if ((MODES as readonly string[]).includes(w)) {
      mode = w;
    } else {
      throw new SyntaxError(
        `Unknown word "${w}": expected a mode (${MODES.join(", ")}), a task (${
          TASKS.join(", ")
        }) or key=value`,
      );
    }
  }
  if (typeof overrides.task === "string") task = overrides.task;
  if (typeof overrides.mode === "string") mode = overrides.mode;
  return { task, mode: mode || String(DEFAULTS.mode), overrides };
}

/** Defaults merged with overrides. */
export function resolveCfg(overrides: Record<string, CfgValue>): Record<string, CfgValue> {
  return { ...DEFAULTS, ...overrides };
}
