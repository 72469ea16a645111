/**
 * Load a YOLO segmentation model from any of the files a user has: an Ultralytics `.pt` checkpoint, our
 * `.safetensors` export, or a model YAML (random weights). The result is the parsed graph plus BN-folded
 * f32 weights, ready for the executor or for export.
 */
import { CheckpointError, ModelConfigError } from "./errors.ts";
import { foldBatchNorm } from "./graph/fuse.ts";
import { builtinModelYaml, parseModelYaml } from "./graph/model_yaml.ts";
import { type ModelYaml, type ParsedModel, parseModel } from "./graph/parse_model.ts";
import { checkStateShapes, randomState } from "./graph/weights.ts";
import { readCheckpoint } from "./io/checkpoint.ts";
import { findOrDownloadWeights, OFFICIAL_WEIGHTS, type WeightsOptions } from "./io/download.ts";
import { readSafetensors } from "./io/safetensors.ts";
import type { StateDict } from "./tensor.ts";

/** A model ready to run: architecture, class names, and BN-folded weights. */
export interface LoadedModel {
  /** The path it was loaded from, or `"<bytes>"`. */
  file: string;
  /** The kind of file. */
  format: "pt" | "safetensors" | "yaml";
  /**
   * The architecture YAML dict (Ultralytics' `model.yaml`): an engine internal.
   * @ignore
   */
  yaml: ModelYaml;
  /**
   * Module tree and op graph built from the YAML: an engine internal.
   * @ignore
   */
  parsed: ParsedModel;
  /** Class names in index order. */
  names: string[];
  /** Output strides of the detection levels. */
  stride: number[];
  /** The model's task, e.g. "segment". */
  task: string;
  /** Training image size when the file records it. */
  imgsz?: number;
  /** Weights with every BatchNorm folded into its conv, as f32. */
  state: StateDict;
  /** Ultralytics version that wrote the source checkpoint, when known. */
  version?: string;
  /** When the source checkpoint was written, when known. */
  date?: string;
  /** The training arguments of the source checkpoint, when known. */
  args?: Record<string, unknown>;
}

/** Options for {@link loadModel} and {@link loadModelBytes} (the weights options matter only to the first). */
export interface LoadModelOptions extends WeightsOptions {
  /** The task the caller needs; a checkpoint of another task is refused. @default "segment" */
  task?: string;
  /** Seed of the random weights for a YAML model. @default 0 */
  seed?: number;
}

const ZIP_MAGIC = [0x50, 0x4b];

/** Which kind of model file `bytes` holds, by content (the name only breaks ties for text). */
export function sniffModelFormat(bytes: Uint8Array, file: string): "pt" | "safetensors" | "yaml" {
  if (bytes.length >= 4 && bytes[0] === ZIP_MAGIC[0] && bytes[1] === ZIP_MAGIC[1]) return "pt";
  if (bytes.length >= 9 && bytes[8] === 0x7b) {
    const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    if (n > 1n && n <= BigInt(bytes.length - 8)) return "safetensors";
  }
  if (/\.ya?ml$/i.test(file)) return "yaml";
  if (/\.pt$/i.test(file)) return "pt";
  if (/\.safetensors$/i.test(file)) return "safetensors";
  return "yaml";
}

function refuseTask(file: string, task: string, head: string, want: string): never {
  throw new CheckpointError(
    file,
    `Cannot load "${file}": it is a ${task} model (head "${head}"), and this needs a ${want} model (task=${want})`,
  );
}

/**
 * Load a model from the bytes of a `.pt`, `.safetensors` or model `.yaml` file.
 * @throws {CheckpointError} for an unreadable, truncated, non-YOLO or wrong-task checkpoint.
 * @throws {ModelConfigError} for a malformed model YAML.
 */
export function loadModelBytes(
  bytes: Uint8Array,
  file = "<bytes>",
  options: LoadModelOptions = {},
): LoadedModel {
  const want = options.task ?? "segment";
  const format = sniffModelFormat(bytes, file);
  if (format === "yaml") {
    const yaml = parseModelYaml(new TextDecoder().decode(bytes), file);
    const parsed = parseModel(yaml, file);
    if (parsed.task !== want) refuseTask(file, parsed.task, parsed.task === "detect" ? "Detect" : "?", want);
    const state = foldBatchNorm(parsed.graph, randomState(parsed, options.seed ?? 0), file);
    const names = Array.from({ length: parsed.nc }, (_, i) => String(i));
    return { file, format, yaml, parsed, names, stride: parsed.strides, task: parsed.task, state };
  }
  if (format === "pt") {
    const ckpt = readCheckpoint(bytes, file);
    if (ckpt.task !== want) refuseTask(file, ckpt.task, ckpt.headClass.split(".").pop() ?? "?", want);
    const parsed = parseModel(ckpt.yaml as ModelYaml, file);
    checkStateShapes(parsed, ckpt.state, file);
    const state = foldBatchNorm(parsed.graph, ckpt.state, file);
    const imgsz = Number(ckpt.args?.imgsz);
    return {
      file,
      format,
      yaml: ckpt.yaml as ModelYaml,
      parsed,
      names: ckpt.names,
      stride: ckpt.stride,
      task: ckpt.task,
      imgsz: Number.isFinite(imgsz) ? imgsz : undefined,
      state,
      version: ckpt.version,
      date: ckpt.date,
      args: ckpt.args,
    };
  }
  const { tensors, metadata } = readSafetensors(bytes, file);
  const meta = (key: string): unknown => {
    if (!(key in metadata)) {
      throw new CheckpointError(
        file,
        `Cannot load "${file}": safetensors metadata has no "${key}" (not a YOLO export)`,
      );
    }
    try {
      return JSON.parse(metadata[key]);
    } catch {
      throw new CheckpointError(
        file,
        `Cannot load "${file}": safetensors metadata "${key}" is not valid JSON`,
      );
    }
  };
  const task = String(meta("task"));
  const yaml = meta("yaml") as ModelYaml;
  if (task !== want) refuseTask(file, task, "?", want);
  const parsed = parseModel(yaml, file);
  checkStateShapes(parsed, tensors, file);
  const state = foldBatchNorm(parsed.graph, tensors, file);
  const imgsz = Number(meta("imgsz"));
  return {
    file,
    format,
    yaml,
    parsed,
    names: meta("names") as string[],
    stride: meta("stride") as number[],
    task,
    imgsz: Number.isFinite(imgsz) ? imgsz : undefined,
    state,
    version: metadata.source_version ? String(meta("source_version")) : undefined,
    date: metadata.source_date ? String(meta("source_date")) : undefined,
  };
}

/**
 * Load a model from a path (or raw bytes). A path that does not exist but names a shipped architecture
 * (`yolo11n-seg.yaml`, `yolov8s-seg.yaml`, ...) builds that architecture with random weights; one that
 * is an official checkpoint name (`yolo11n-seg.pt` ... `yolov8x-seg.pt`, no folder) is read from the
 * weights folder, downloaded there from Ultralytics' release assets the first time.
 */
export async function loadModel(
  source: string | Uint8Array,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  if (source instanceof Uint8Array) return loadModelBytes(source, "<bytes>", options);
  let file = source;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(source);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const builtin = /\.ya?ml$/i.test(source) ? builtinModelYaml(source) : undefined;
    if (builtin !== undefined) bytes = new TextEncoder().encode(builtin);
    else if (OFFICIAL_WEIGHTS.has(source)) {
      file = await findOrDownloadWeights(source, options);
      bytes = await Deno.readFile(file);
    } else {
      const err = /\.ya?ml$/i.test(source) ? ModelConfigError : CheckpointError;
      throw new err(source, `Cannot find model "${source}": no such file`);
    }
  }
  return loadModelBytes(bytes, file, options);
}
