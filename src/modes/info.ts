/** `info` mode: the layer table and summary lines Ultralytics prints for a model, before and after fusion. */
import { type ModuleNode, walkModules } from "../graph/builder.ts";
import { countModules, gflops } from "../graph/model_info.ts";
import type { LoadedModel } from "../load_model.ts";
import { info } from "../log.ts";
import { numel } from "../tensor.ts";

/** Python module paths of the YAML module names, as Ultralytics' table shows them. */
const MODULE_PATHS: Record<string, string> = {
  Conv: "ultralytics.nn.modules.conv.Conv",
  DWConv: "ultralytics.nn.modules.conv.DWConv",
  Concat: "ultralytics.nn.modules.conv.Concat",
  "nn.Upsample": "torch.nn.modules.upsampling.Upsample",
  Segment: "ultralytics.nn.modules.head.Segment",
  Detect: "ultralytics.nn.modules.head.Detect",
};

/** Summary numbers of one model, unfused and fused. */
export interface ModelSummary {
  /** Display name, e.g. "YOLO11n-seg". */
  name: string;
  /** Leaf modules, as Ultralytics counts layers. */
  layers: number;
  /** Parameters before BatchNorm fusion. */
  parameters: number;
  /** Parameters that would train (0 for a checkpoint, whose parameters are frozen). */
  gradients: number;
  /** GFLOPs at the requested image size, unfused. */
  gflops: number;
  /** The same after BatchNorm fusion. */
  fused: { layers: number; parameters: number; gflops: number };
}

/** Python's `repr` of a parsed YAML argument. */
function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  return String(v);
}

/** Ultralytics' display name: the YAML file stem with "yolo" written "YOLO". */
export function modelDisplayName(model: LoadedModel): string {
  const stem = String(model.yaml.yaml_file ?? model.file).split(/[\\/]/).pop()!.replace(/\.[^.]*$/, "");
  return stem.replace("yolo", "YOLO") || "Model";
}

function subtreeParams(root: ModuleNode, prefix: string): number {
  let n = 0;
  for (const m of walkModules(root)) {
    if (m.path === prefix || m.path.startsWith(`${prefix}.`)) {
      for (const s of m.params.values()) n += numel(s);
    }
  }
  return n;
}

/** Compute the summary numbers (no printing). */
export function summarize(model: LoadedModel, imgsz = 640): ModelSummary {
  const { root, graph } = model.parsed;
  const u = countModules(root, false);
  const f = countModules(root, true);
  // Ultralytics freezes the DFL projection; a checkpoint's parameters are all frozen.
  const frozen = model.format === "yaml" ? 16 : u.parameters;
  return {
    name: modelDisplayName(model),
    layers: u.layers,
    parameters: u.parameters,
    gradients: u.parameters - frozen,
    gflops: gflops(graph, false, [imgsz, imgsz]),
    fused: { layers: f.layers, parameters: f.parameters, gflops: gflops(graph, true, [imgsz, imgsz]) },
  };
}

const int = (n: number) => n.toLocaleString("en-US");

/** Print the layer table and both summary lines; return the numbers. */
export function runInfo(model: LoadedModel, imgsz = 640): ModelSummary {
  const s = summarize(model, imgsz);
  info(
    `\n${"".padStart(3)}${"from".padStart(20)}${"n".padStart(3)}${"params".padStart(10)}  ${
      "module".padEnd(45)
    }arguments`,
  );
  for (const l of model.parsed.layers) {
    const type = MODULE_PATHS[l.module] ?? `ultralytics.nn.modules.block.${l.module}`;
    const np = subtreeParams(model.parsed.root, `model.${l.index}`);
    info(
      `${String(l.index).padStart(3)}${pyRepr(l.from).padStart(20)}${String(l.n).padStart(3)}${
        String(np).padStart(10)
      }  ${type.padEnd(45)}${pyRepr(l.args)}`,
    );
  }
  info(
    `${s.name} summary: ${int(s.layers)} layers, ${int(s.parameters)} parameters, ${
      int(s.gradients)
    } gradients, ${s.gflops.toFixed(1)} GFLOPs`,
  );
  info(
    `${s.name} summary (fused): ${int(s.fused.layers)} layers, ${
      int(s.fused.parameters)
    } parameters, 0 gradients, ${s.fused.gflops.toFixed(1)} GFLOPs`,
  );
  return s;
}
