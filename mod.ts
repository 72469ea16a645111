/**
 * yolo-wgsl: Ultralytics-compatible YOLO11-seg / YOLOv8-seg instance segmentation on WebGPU in Deno.
 *
 * Load an Ultralytics checkpoint (`.pt`), our `.safetensors` export, or a model YAML:
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { YOLO } from "./mod.ts";
 * const model = await YOLO.load("yolo11n-seg.yaml"); // shipped architecture, random weights
 * assert.equal(model.info().parameters, 2_876_848);
 * ```
 * @module
 */
export { YOLO, type YoloLoadOptions } from "./src/yolo.ts";
export { CheckpointError, DatasetError, ModelConfigError } from "./src/errors.ts";
export type { ExportOptions } from "./src/modes/export.ts";
export type { ModelSummary } from "./src/modes/info.ts";
export type { PredictOptions } from "./src/modes/predict.ts";
export {
  serve,
  type ServeHandle,
  type ServeHandler,
  serveHandler,
  type ServeHandlerOptions,
  type ServeOptions,
  type ServeStats,
} from "./src/modes/serve.ts";
export type { ValMetrics, ValOptions } from "./src/modes/val.ts";
export type { PlotOptions } from "./src/plot/annotate.ts";
export {
  checkDataset,
  type CheckDatasetOptions,
  type DatasetInfo,
  type DownloadItem,
} from "./src/data/dataset_yaml.ts";
export { imageFiles } from "./src/data/image_files.ts";
export { DEFAULT_FOLDS, FOLD_KINDS } from "./src/gpu/executor.ts";
export { WEBGPU_NAMES, type WebGpuName } from "./src/gpu/device.ts";
export {
  type ImageLabels,
  type LabelSet,
  type LabelSummary,
  loadLabels,
  type LoadLabelsOptions,
} from "./src/data/labels.ts";
export {
  type CocoToYoloOptions,
  convertCoco,
  type ConvertCocoOptions,
  type ConvertCocoResult,
} from "./src/data/coco_convert.ts";
export type { Image } from "./src/io/image.ts";
export type { LetterboxGeometry, LetterboxOptions } from "./src/data/letterbox.ts";
export type { MetricSummary } from "./src/metrics/det_metrics.ts";
export type { Source } from "./src/data/sources.ts";
export type { Rle } from "./src/postprocess/rle.ts";
export { Result, type ResultBoxes, type ResultJson, type ResultMasks, type Speed } from "./src/results.ts";
export type { LoadedModel, LoadModelOptions } from "./src/load_model.ts";
export type { WeightsOptions } from "./src/io/download.ts";
export type {
  FoldChoice,
  FoldKind,
  FoldTiming,
  ForwardResult,
  NmsImage,
  NmsOptions,
  Output,
  PendingForward,
  StepTime,
  SubmitOptions,
  TuneChoice,
  TuneReport,
} from "./src/gpu/executor.ts";
export type { Candidates } from "./src/cpu/select_candidates.ts";
export type { DType, StateDict, Tensor } from "./src/tensor.ts";
