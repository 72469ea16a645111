/**
 * `export` mode: write a loaded model's BN-folded weights as `.safetensors`, with the metadata needed to
 * rebuild it (model YAML, class names, strides, image size, task, source version).
 */
import type { LoadedModel } from "../load_model.ts";
import { info } from "../log.ts";
import { saveSafetensorsFile, writeSafetensors } from "../io/safetensors.ts";

/** Options for {@link exportModel}. */
export interface ExportOptions {
  /** Output format; only `safetensors` for now. @default "safetensors" */
  format?: string;
  /** Image size recorded in the metadata. @default the model's training size, else 640 */
  imgsz?: number;
  /** Output path. @default the source path with its extension replaced by `.safetensors` */
  file?: string;
}

/** The metadata our safetensors files carry, every value a JSON string. */
export function exportMetadata(model: LoadedModel, imgsz: number): Record<string, string> {
  const meta: Record<string, string> = {
    format: JSON.stringify("yolo-wgsl"),
    task: JSON.stringify(model.task),
    yaml: JSON.stringify(model.yaml),
    names: JSON.stringify(model.names),
    stride: JSON.stringify(model.stride),
    imgsz: JSON.stringify(imgsz),
    bn_folded: JSON.stringify(true),
  };
  if (model.version) meta.source_version = JSON.stringify(model.version);
  if (model.date) meta.source_date = JSON.stringify(model.date);
  return meta;
}

/** The bytes of a model's safetensors export. */
export function exportSafetensorsBytes(model: LoadedModel, imgsz = model.imgsz ?? 640): Uint8Array {
  return writeSafetensors(model.state, exportMetadata(model, imgsz));
}

/**
 * Export a model to a file next to its source; returns the written path.
 * @throws {RangeError} for an unsupported format.
 */
export async function exportModel(model: LoadedModel, options: ExportOptions = {}): Promise<string> {
  const format = options.format ?? "safetensors";
  if (format !== "safetensors") {
    throw new RangeError(`Cannot export to format "${format}": supported formats are "safetensors"`);
  }
  const src = model.file === "<bytes>" ? "model" : model.file;
  const file = options.file ?? src.replace(/\.[^./\\]*$/, "") + ".safetensors";
  const t0 = performance.now();
  const imgsz = options.imgsz ?? model.imgsz ?? 640;
  await saveSafetensorsFile(file, model.state, exportMetadata(model, imgsz));
  const mb = (await Deno.stat(file)).size / 1e6;
  info(
    `Export complete (${((performance.now() - t0) / 1000).toFixed(1)}s): saved "${file}" (${
      mb.toFixed(1)
    } MB)`,
  );
  return file;
}
