/**
 * What each kind of fold costs or saves on this adapter: GPU milliseconds per forward (timestamps) of the
 * hardware plan with no folds, the default kinds, every kind, and the default kinds with each kind toggled,
 * untuned (heuristic tiles), in interleaved rounds so that drifting clocks favour none. On a software adapter
 * the hardware plan is forced, as the tests do (it never runs there otherwise): the figures then show the
 * kernels' instruction cost on the CPU rasterizer, not what a GPU would do.
 *
 *   deno run -A bench/folds.ts [--model PATH.pt] [--imgsz 128] [--batch 1] [--rounds 3] [--runs 3]
 * @module
 */
import { parseArgs } from "node:util";
import { DEFAULT_FOLDS, Executor, FOLD_KINDS, type FoldKind } from "../src/gpu/executor.ts";
import { requestGpu } from "../src/gpu/device.ts";
import { loadModel } from "../src/load_model.ts";
import { percentile } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "../shared/models/yolo11n-seg-c128.pt" },
    imgsz: { type: "string", default: "128" },
    batch: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    runs: { type: "string", default: "3" },
  },
});
const gpu = await requestGpu();
if (!gpu.features.timestamps) {
  console.error("bench/folds.ts: this adapter has no timestamp-query");
  Deno.exit(2);
}
const model = await loadModel(values.model);
const size = Number(values.imgsz), batch = Number(values.batch);
const shape = [batch, 3, size, size];
const input = new Float32Array(batch * 3 * size * size);
for (let i = 0; i < input.length; i++) input[i] = ((i * 2654435761) >>> 0) / 2 ** 32;
const toggled = (k: FoldKind) =>
  DEFAULT_FOLDS.includes(k) ? DEFAULT_FOLDS.filter((x) => x !== k) : [...DEFAULT_FOLDS, k];
const variants: [string, boolean | readonly FoldKind[]][] = [
  ["none", false],
  ["default", DEFAULT_FOLDS],
  ["every kind", FOLD_KINDS],
  ...FOLD_KINDS.map((k) =>
    [`${DEFAULT_FOLDS.includes(k) ? "without" : "with"} ${k}`, toggled(k)] as [
      string,
      readonly FoldKind[],
    ]
  ),
];
const runs = variants.map(([name, fuse]) => ({
  name,
  exec: new Executor({ ...gpu, software: false }, model, { tune: false, fuse }),
  ms: [] as number[],
}));
console.log(
  `adapter: ${gpu.adapter?.info.description || gpu.adapter?.info.vendor || "device"}${
    gpu.software ? " (software: hardware plan forced)" : ""
  }; ${shape.join("x")}; untuned; ${values.rounds} rounds of ${values.runs} forwards per variant`,
);
for (const r of runs) await r.exec.forward(input, shape); // builds each program
for (let round = 0; round < Number(values.rounds); round++) {
  for (const r of runs) {
    for (let i = 0; i < Number(values.runs); i++) r.ms.push(await r.exec.gpuTime(input, shape));
  }
}
const none = percentile(runs[0].ms, 50);
for (const r of runs) {
  const med = percentile(r.ms, 50);
  console.log(
    `${r.name.padEnd(16)} ${med.toFixed(3).padStart(10)} ms GPU (median of ${r.ms.length})  ${
      ((100 * (med - none)) / none).toFixed(1).padStart(6)
    }% vs none`,
  );
  r.exec.dispose();
}
