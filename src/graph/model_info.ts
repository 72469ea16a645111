/**
 * Ultralytics' `model_info` numbers: layers (leaf modules, each shared module once), parameters, and GFLOPs
 * the way `get_flops` measures them (thop MACs x 2 at a stride-sized input, scaled to the image size).
 */
import { numel } from "../tensor.ts";
import { type ModuleNode, walkModules } from "./builder.ts";
import type { Graph } from "./ir.ts";

/** The summary line's numbers. */
export interface ModelInfo {
  layers: number;
  parameters: number;
  gflops: number;
}

/** Count leaf modules and parameters; `fused` drops each BatchNorm and gives its conv a bias, as `fuse()` does. */
export function countModules(root: ModuleNode, fused: boolean): { layers: number; parameters: number } {
  let layers = 0;
  let parameters = 0;
  for (const m of walkModules(root)) {
    const isBn = m.cls === "BatchNorm2d";
    if (m.children.length === 0 && !(fused && isBn)) layers++;
    for (const shape of m.params.values()) parameters += numel(shape);
    // A folded BatchNorm's weight+bias become one bias of the same length.
    if (fused && isBn) parameters -= numel(m.params.get("weight") ?? []);
  }
  return { layers, parameters };
}

/**
 * GFLOPs at `imgsz` by thop's rules: a conv counts output elements x (cin / groups) x k x k MACs, a
 * transposed conv the same from its output side (output elements x cin x k x k, as the thop of Ultralytics
 * 8.3.159's time counted it; later thop counts from the input side, which lowers YOLO11n-seg by 0.6), an (unfused) BatchNorm 4 ops per element,
 * everything else (activations, pools, nearest upsampling, concat, attention matmuls) nothing. Measured at a
 * 32 x 32 input and scaled by area, as Ultralytics' `get_flops` does.
 */
export function gflops(graph: Graph, fused: boolean, imgsz: [number, number] = [640, 640]): number {
  const base = 32;
  let macs = 0;
  const hw = (stride: number) => (base / stride) ** 2;
  for (const op of graph.ops) {
    if (op.op === "conv") {
      const y = graph.values[op.y];
      macs += op.cout * hw(y.stride) * (op.cin / op.g) * op.k * op.k;
      if (!fused && op.bn) macs += 4 * op.cout * hw(y.stride);
    } else if (op.op === "conv_transpose") {
      const y = graph.values[op.y];
      macs += op.cout * hw(y.stride) * op.cin * op.k * op.k;
    } else if (op.op === "detect") {
      // DFL's 1x1 conv over the 16 bins of each of the 4 sides of every anchor.
      const anchors = op.strides.reduce((s, st) => s + hw(st), 0);
      macs += 4 * anchors * op.regMax;
    }
  }
  return (macs * 2) / 1e9 * (imgsz[0] / base) * (imgsz[1] / base);
}
