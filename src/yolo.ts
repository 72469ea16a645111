/** The `YOLO` model handle of the public API. */
import { type LoadedModel, loadModel, type LoadModelOptions } from "./load_model.ts";
import { exportModel, type ExportOptions } from "./modes/export.ts";
import { type ModelSummary, summarize } from "./modes/info.ts";

/** Options of {@link YOLO.load}. */
export interface YoloLoadOptions extends LoadModelOptions {}

/**
 * A YOLO segmentation model loaded from an Ultralytics `.pt` checkpoint, a `.safetensors` export, or a
 * model `.yaml` (random weights).
 */
export class YOLO {
  /** What was loaded: architecture, names and BN-folded weights. */
  readonly model: LoadedModel;

  private constructor(model: LoadedModel) {
    this.model = model;
  }

  /**
   * Load a model from a path or the bytes of a model file.
   *
   * @param source A `.pt`, `.safetensors` or `.yaml` path, or that file's bytes.
   * @param options The task required and the seed of random weights.
   * @returns The loaded model.
   * @throws {CheckpointError} for an unreadable, non-YOLO or wrong-task checkpoint.
   * @throws {ModelConfigError} for a malformed or unknown model YAML.
   * @example Build YOLO11n-seg from its architecture
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "./mod.ts";
   * const model = await YOLO.load("yolo11n-seg.yaml");
   * assert.equal(model.task, "segment");
   * assert.deepEqual(model.stride, [8, 16, 32]);
   * ```
   */
  static async load(source: string | Uint8Array, options: YoloLoadOptions = {}): Promise<YOLO> {
    return new YOLO(await loadModel(source, options));
  }

  /** Class names in index order. */
  get names(): string[] {
    return this.model.names;
  }

  /** The model's task (always "segment" for now). */
  get task(): string {
    return this.model.task;
  }

  /** Output strides of the detection levels, e.g. `[8, 16, 32]`. */
  get stride(): number[] {
    return this.model.stride;
  }

  /**
   * Layers, parameters and GFLOPs as Ultralytics' `model.info()` counts them, unfused and fused.
   *
   * @param imgsz Image size the GFLOPs are given at.
   * @returns The summary numbers.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "./mod.ts";
   * const info = (await YOLO.load("yolov8n-seg.yaml")).info();
   * assert.equal(info.fused.parameters, 3_404_320);
   * ```
   */
  info(imgsz = 640): ModelSummary {
    return summarize(this.model, imgsz);
  }

  /**
   * Export the BN-folded weights with the metadata to rebuild the model (`format: "safetensors"`).
   *
   * @param options Output format, path and image size recorded.
   * @returns The written file's path.
   * @throws {RangeError} for an unsupported format.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { YOLO } from "./mod.ts";
   * const dir = await Deno.makeTempDir();
   * const model = await YOLO.load("yolo11n-seg.yaml");
   * const file = await model.export({ file: `${dir}/yolo11n-seg.safetensors` });
   * const again = await YOLO.load(file);
   * assert.equal(again.info().fused.parameters, model.info().fused.parameters);
   * ```
   */
  export(options: ExportOptions = {}): Promise<string> {
    return exportModel(this.model, options);
  }
}
