/**
 * Model YAML files: parse text with the YAML 1.2 core schema, pick the scale from the file name as
 * Ultralytics' `yaml_model_load` / `guess_model_scale` do (`yolo11n-seg.yaml` → `yolo11-seg.yaml`, scale
 * "n"), and find the architectures this package ships.
 */
import { parseYaml as parse } from "../_deps.ts";
import { ModelConfigError } from "../errors.ts";
import type { ModelYaml } from "./parse_model.ts";
import yolo11Seg from "./cfg/yolo11-seg.yaml" with { type: "text" };
import yolov8Seg from "./cfg/yolov8-seg.yaml" with { type: "text" };

/** The architecture YAMLs shipped with the package, by unified file name. */
export const BUILTIN_MODEL_YAMLS: Readonly<Record<string, string>> = {
  "yolo11-seg.yaml": yolo11Seg,
  "yolov8-seg.yaml": yolov8Seg,
};

/** The file name without folders. */
function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Ultralytics' `guess_model_scale`: the letter after the version digits (`yolo11n-seg` → "n"), or "". */
export function guessModelScale(path: string): string {
  const stem = baseName(path).replace(/\.[^.]*$/, "");
  return stem.match(/yolo(e-)?v?\d+([nslmx])/)?.[2] ?? "";
}

/** The scale-free file name Ultralytics looks up: `yolo11n-seg.yaml` → `yolo11-seg.yaml`. */
export function unifiedModelName(path: string): string {
  return baseName(path).replace(/(\d+)([nslmx])(.+)?$/, "$1$3");
}

/**
 * Parse model YAML text into the dict `parse_model` takes, setting `scale` from the file name when the
 * name carries one and `yaml_file` to the name.
 * @throws {ModelConfigError} when the text is not YAML or not a model description.
 */
export function parseModelYaml(text: string, file = "<yaml>"): ModelYaml {
  let doc: unknown;
  try {
    doc = parse(text, { schema: "core", version: "1.2" });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new ModelConfigError(file, `Cannot read model YAML "${file}": ${msg}`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ModelConfigError(file, `Cannot read model YAML "${file}": expected a mapping at the top level`);
  }
  const yaml = doc as ModelYaml;
  if (!Array.isArray(yaml.backbone) || !Array.isArray(yaml.head)) {
    throw new ModelConfigError(
      file,
      `Cannot read model YAML "${file}": it has no 'backbone' and 'head' lists`,
    );
  }
  const scale = guessModelScale(file);
  if (scale && !yaml.scale) yaml.scale = scale;
  yaml.yaml_file = baseName(file);
  return yaml;
}

/** The shipped architecture text for a model name like `yolo11s-seg.yaml`, or undefined. */
export function builtinModelYaml(name: string): string | undefined {
  return BUILTIN_MODEL_YAMLS[unifiedModelName(name)];
}
