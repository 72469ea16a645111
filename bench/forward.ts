/**
 * `deno task bench`: ms per forward of our engine on the local WebGPU adapter (median and p90 after
 * warm-up; wall time of `model.forward`, input upload and output readback included), and in the same run
 * the peer: ONNX Runtime Web's WebGPU backend on the same adapter and model, with the ratio.
 *
 *   deno task bench [--model PATH.pt[,yolo11s-seg.yaml,...]] [--scales n,s,m,l,x] [--batch 1[,8,16]]
 *                   [--imgsz 640] [--iterations N] [--warmup N] [--no-peer] [--predict [--image PATH]] [--profile]
 *                   [--half] [--no-tune] [--no-fuse | --folds all|KIND,...] [--inflight N] [--onnx PATH.onnx]
 *                   [--onnx-dynamic PATH.onnx] [--webgpu deno|dawn] [--no-subgroups]
 *
 * Every model x batch gets a line. `--scales` adds `yolo11{scale}-seg.yaml` (random weights: the same
 * architecture and FLOPs as the released checkpoints). The peer runs the ONNX export of the default
 * checkpoint (`--onnx` for batch 1, `--onnx-dynamic` for larger batches), so it is timed next to that model
 * only. `--predict` also times the whole predictor on decoded images (letterbox, forward, NMS, masks,
 * polygons; `--image`, by default COCO128 `000000000009.jpg` (640x480, 8 detections with this checkpoint;
 * `bus.jpg` has none), as a batch of that many copies for each `--batch`). `--half` runs in half precision
 * (f16 activations, Ultralytics' `half=True`). `--profile` prints the slowest layers of one forward (GPU timestamps, one pass per kernel).
 * With `timestamp-query` each line also gives the GPU time of the whole forward (median of 10, timestamps
 * around its compute pass) and, when the conv autotuner ran (hardware adapters; `--no-tune` turns it off),
 * its time and the conv GPU time it saved against the heuristic tiles. `--inflight N` (N > 1) adds the
 * throughput with N forwards in flight (`model.submit` ahead, the oldest read back), as a stream would run,
 * and with groups of N submitted and read back together. `--no-fuse` runs every layer in its own dispatch on
 * hardware adapters (by default the folds of `fuse` run neighbouring layers in one: depthwise and 1x1 convs,
 * 1x1 convs over a concat, C2PSA's positional conv, upsamples; with the autotuner, only the kinds of fold
 * whose forwards it timed faster: the `folds:` line names them and the times); `--folds all` or a list of
 * kinds (`pre,pe,cat,post,up`) makes exactly those, untimed. `--profile`'s first line counts the kernels one
 * forward dispatches. `--webgpu dawn` runs ours on Chromium's Dawn (`npm:webgpu`) instead of Deno's WebGPU (the
 * peer stays on Deno's): the same kernels, readbacks without Deno's 10 ms wait. `--no-subgroups` keeps a
 * software adapter's convs off subgroups (`conv2d_uniform` instead of `conv2d_uniform_subgroups`).
 * @module
 */
import { parseArgs } from "node:util";
import { FOLD_KINDS, type FoldKind, YOLO } from "../mod.ts";
import { requestGpu, type WebGpuName } from "../src/gpu/device.ts";
import { decodeImage } from "../src/io/image.ts";
import { batchOptions, runBatch } from "../src/modes/predict.ts";
import { percentile } from "./_stats.ts";

const DEFAULT_MODEL = "../shared/models/yolo11n-seg-c128.pt";
const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL },
    scales: { type: "string", default: "" },
    onnx: { type: "string", default: "../shared/models/yolo11n-seg-c128.onnx" },
    "onnx-dynamic": { type: "string", default: "../shared/models/yolo11n-seg-c128.dynamic.onnx" },
    imgsz: { type: "string", default: "640" },
    batch: { type: "string", default: "1" },
    iterations: { type: "string" },
    warmup: { type: "string", default: "1" },
    "no-peer": { type: "boolean", default: false },
    predict: { type: "boolean", default: false },
    image: { type: "string", default: "../shared/datasets/coco128-seg/images/train2017/000000000009.jpg" },
    profile: { type: "boolean", default: false },
    half: { type: "boolean", default: false },
    "no-tune": { type: "boolean", default: false },
    "no-fuse": { type: "boolean", default: false },
    folds: { type: "string" },
    inflight: { type: "string", default: "1" },
    webgpu: { type: "string", default: "deno" },
    "no-subgroups": { type: "boolean", default: false },
  },
});

const gpu = await requestGpu({ webgpu: values.webgpu as WebGpuName, subgroups: !values["no-subgroups"] });
const info = gpu.adapter?.info;
const adapter = info
  ? [info.description || info.vendor || info.device, info.architecture].filter(Boolean).join(" ") +
    (values.webgpu === "dawn" ? " (Dawn)" : "")
  : "device";
const software = gpu.software;
const imgsz = Number(values.imgsz);
const iterations = Number(values.iterations ?? (software ? 3 : 50));
const warmup = Number(values.warmup);
const models = [
  ...values.model.split(",").filter(Boolean),
  ...values.scales.split(",").filter(Boolean).map((s) => `yolo11${s}-seg.yaml`),
];
const batches = values.batch.split(",").map(Number);
const folds = values.folds === "all" ? FOLD_KINDS : values.folds?.split(",") as FoldKind[] | undefined;
const badFold = folds?.find((k) => !FOLD_KINDS.includes(k));
if (badFold !== undefined) {
  console.error(`--folds: give all or kinds among ${FOLD_KINDS.join(", ")}: got ${badFold}`);
  Deno.exit(2);
}
const fmt = (xs: number[]) =>
  `${percentile(xs, 50).toFixed(2)} ms (median of ${xs.length}, p90 ${percentile(xs, 90).toFixed(2)})`;

/** Wall times of `run` after `warmup` untimed calls. */
async function timeRuns(run: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = performance.now();
    await run();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return times;
}

/**
 * Prints the slowest layers of one forward, a layer's consecutive dispatches of one kernel (a conv's chunks,
 * the two halves of a software adapter's detect decode) summed into one line under the first's overrides.
 */
async function printProfile(model: YOLO, input: Float32Array, shape: number[]): Promise<void> {
  const steps: { label: string; kernel: string; ms: number; calls: number }[] = [];
  const name = (kernel: string) => kernel.split("|")[0];
  for (const s of await model.profile(input, shape)) {
    const last = steps.at(-1);
    if (last && last.label === s.label && name(last.kernel) === name(s.kernel)) {
      last.ms += s.ms;
      last.calls++;
    } else steps.push({ ...s, calls: 1 });
  }
  const total = steps.reduce((s, x) => s + x.ms, 0);
  const calls = steps.reduce((n, x) => n + x.calls, 0);
  console.log(
    `profile: ${steps.length} layers (${calls} kernels), ${total.toFixed(2)} ms GPU in total; slowest:`,
  );
  for (const s of [...steps].sort((a, b) => b.ms - a.ms).slice(0, 15)) {
    console.log(
      `  ${s.ms.toFixed(3).padStart(10)} ms  ${(100 * s.ms / total).toFixed(1).padStart(5)}%  ${s.label}${
        s.calls > 1 ? ` (${s.calls} chunks)` : ""
      }  ${s.kernel}`,
    );
  }
  const byKernel = new Map<string, number>();
  for (const s of steps) byKernel.set(name(s.kernel), (byKernel.get(name(s.kernel)) ?? 0) + s.ms);
  console.log(`  by kernel: ${[...byKernel].map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(", ")}`);
}

console.log(
  `adapter: ${adapter}; ${imgsz}x${imgsz}; ${iterations} timed runs after ${warmup} warm-up${
    values.half ? (gpu.features.f16 ? "; half (f16 activations)" : "; half asked, no shader-f16: f32") : ""
  }${gpu.features.subgroups ? "; weights through subgroups" : ""}`,
);
const image = values.predict ? await decodeImage(await Deno.readFile(values.image), values.image) : undefined;
for (const file of models) {
  const model = await YOLO.load(file, {
    device: gpu.device,
    half: values.half,
    ...(values["no-tune"] ? { tune: false } : {}),
    ...(values["no-fuse"] ? { fuse: false } : {}),
    ...(folds ? { fuse: folds } : {}),
  });
  const name = file.split("/").pop();
  for (const batch of batches) {
    const shape = [batch, 3, imgsz, imgsz];
    const input = new Float32Array(batch * 3 * imgsz * imgsz);
    for (let i = 0; i < input.length; i++) input[i] = ((i * 2654435761) >>> 0) / 2 ** 32;
    const ours = await timeRuns(() => model.forward(input, shape));
    const med = percentile(ours, 50);
    let gpuNote = "";
    if (gpu.features.timestamps) {
      const gpuMs: number[] = [];
      for (let i = 0; i < 10; i++) gpuMs.push(await model.gpuTime(input, shape));
      const g = percentile(gpuMs, 50);
      gpuNote = `; GPU ${g.toFixed(3)} ms (median of 10, ${
        (1000 * batch / g).toFixed(0)
      } images/s of GPU time)`;
    }
    console.log(
      `yolo-wgsl: ${fmt(ours)} per forward, ${
        (1000 * batch / med).toFixed(1)
      } images/s${gpuNote} — ${name} batch ${batch}`,
    );
    const inflight = Number(values.inflight);
    if (inflight > 1) {
      const queue = [];
      for (let i = 0; i < inflight; i++) queue.push(await model.submit(input, shape));
      const t0 = performance.now();
      for (let i = 0; i < iterations; i++) {
        await queue.shift()!.read();
        queue.push(await model.submit(input, shape));
      }
      const per = (performance.now() - t0) / iterations;
      for (const p of queue) await p.read();
      console.log(
        `  ${inflight} in flight: ${per.toFixed(2)} ms per forward (mean of ${iterations}), ${
          (1000 * batch / per).toFixed(1)
        } images/s`,
      );
      // Groups of N submitted, then all N reads started together (they share Deno's wait after the GPU).
      const rounds = Math.max(1, Math.ceil(iterations / inflight));
      const t1 = performance.now();
      for (let r = 0; r < rounds; r++) {
        const group = [];
        for (let i = 0; i < inflight; i++) group.push(await model.submit(input, shape));
        await Promise.all(group.map((p) => p.read()));
      }
      const perGroup = (performance.now() - t1) / (rounds * inflight);
      console.log(
        `  ${inflight} submitted, read together: ${perGroup.toFixed(2)} ms per forward (${rounds} groups), ${
          (1000 * batch / perGroup).toFixed(1)
        } images/s`,
      );
    }
    const tune = await model.tuneReport(shape);
    if (tune) {
      const before = tune.layers.reduce((a, l) => a + l.heuristicMs, 0);
      const after = tune.layers.reduce((a, l) => a + l.bestMs, 0);
      const changed = tune.layers.filter((l) => l.bestMs < l.heuristicMs).length;
      const halfMath = tune.layers.filter((l) => l.kernel.startsWith("conv2d_f16_math|")).length;
      console.log(
        `  autotune: ${tune.layers.length} conv layers (${changed} changed) in ${
          (tune.ms / 1000).toFixed(2)
        } s; their GPU time ${before.toFixed(3)} ms with the heuristic tiles -> ${after.toFixed(3)} ms tuned${
          tune.filled ? " (timed on a synthetic image's activations)" : " (cached choices)"
        }${halfMath > 0 ? `; ${halfMath} with f16 arithmetic` : ""}`,
      );
      for (const l of tune.attention) {
        console.log(
          `  autotune: ${l.label} ${l.bestMs.toFixed(3)} ms (heuristic ${
            l.heuristicMs.toFixed(3)
          }, ${l.candidates} tried${l.cached ? ", cached" : ""}) ${l.kernel}`,
        );
      }
      if (tune.folds) {
        const f = tune.folds;
        const name = (kinds: FoldKind[]) =>
          kinds.length === f.present.length
            ? "all"
            : `-${f.present.filter((k) => !kinds.includes(k)).join("-")}`;
        console.log(
          `  folds: ${f.kinds.join(", ") || "none"} (of ${f.present.join(", ")})${
            f.cached
              ? ", cached"
              : `; forwards timed (GPU ms): ${
                f.timings.map((t) => `${name(t.kinds)} ${t.ms.toFixed(3)}`).join(", ")
              }`
          }`,
        );
      }
      if (values.profile) {
        for (const l of [...tune.layers].sort((a, b) => b.bestMs - a.bestMs).slice(0, 12)) {
          console.log(
            `    ${l.bestMs.toFixed(3).padStart(8)} ms (heuristic ${
              l.heuristicMs.toFixed(3)
            }, ${l.candidates} tried) ${l.label} ${l.kernel.replace(/^conv2d(_f16)?\|/, "")}`,
          );
        }
      }
    }
    if (values.profile) await printProfile(model, input, shape);
    if (!values["no-peer"] && file === DEFAULT_MODEL) {
      const { timeOrtWebWebGpu } = await import(new URL("./peer_ort_web.ts", import.meta.url).href);
      const onnx = batch === 1 ? values.onnx : values["onnx-dynamic"];
      const peer = await timeOrtWebWebGpu(onnx, input, shape, { warmup, iterations });
      const ratio = peer.median / med;
      console.log(
        `onnxruntime-web webgpu: ${peer.median.toFixed(2)} ms (median of ${iterations}, p90 ${
          peer.p90.toFixed(2)
        }) per forward on ${peer.adapter} — ratio (peer / yolo-wgsl): ${ratio.toFixed(2)}x, yolo-wgsl ${
          ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${(1 / ratio).toFixed(2)}x slower`
        }`,
      );
    }
  }
  if (image) {
    // the whole predictor on decoded images: letterbox (rect), forward, NMS, masks, polygons; a batch of b
    // copies of the image for each batch size asked for (images/s of the whole predictor)
    for (const batch of batches) {
      const items = Array.from({ length: batch }, (_, i) => ({ file: `image${i}.jpg`, img: image }));
      for (const gpuLetterbox of [false, true]) {
        const opts = batchOptions({ imgsz, gpuLetterbox });
        const times = await timeRuns(() => runBatch(model, items, opts));
        const where = gpuLetterbox ? "GPU" : "CPU";
        const med = percentile(times, 50);
        console.log(
          `yolo-wgsl predict: ${fmt(times)} per ${batch > 1 ? `batch of ${batch}` : "image"}, ${
            (1000 * batch / med).toFixed(1)
          } images/s (decoded ${image.width}x${image.height} ${
            values.image.split("/").pop()
          } in, results out; letterbox on the ${where}) — ${name}`,
        );
        // Where one more batch's time goes, per image (Ultralytics' speed keys; inference includes the readback).
        const { results } = await runBatch(model, items, opts);
        const mean = (k: "preprocess" | "inference" | "postprocess") =>
          (results.reduce((a, r) => a + r.speed[k], 0) / results.length).toFixed(2);
        console.log(
          `  per image: preprocess ${mean("preprocess")} ms, inference ${mean("inference")} ms, postprocess ${
            mean("postprocess")
          } ms (${results[0].length} detections each)`,
        );
      }
    }
    // Streams through model.predict at batch 1 (JPEG files in: decoding included; forwards submitted ahead and
    // read back together): 16 COCO128 images of one size (the 480x640 input above: no new shape to tune),
    // post-processed on the GPU and on the CPU, then with `save` (annotated JPEGs written, the CLI's
    // default). At most 3 runs each.
    const dir = "../shared/datasets/coco128-seg/images/train2017";
    const stream: string[] = [];
    for (const name of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
      const img = await decodeImage(await Deno.readFile(`${dir}/${name}`));
      if (img.width === 640 && img.height === 480 && stream.push(`${dir}/${name}`) === 16) break;
    }
    const project = await Deno.makeTempDir();
    try {
      const runs = Math.min(3, iterations);
      await model.predict(stream.slice(0, 2), { imgsz, batch: 1 });
      // Post-processing on the GPU (NMS and masks) and on the CPU; saving with the adapter's default.
      for (const [save, gpuPostprocess] of [[false, true], [false, false], [true, undefined]]) {
        const times: number[] = [];
        let detections = 0;
        for (let r = 0; r < runs; r++) {
          const t0 = performance.now();
          const results = await model.predict(stream, {
            imgsz,
            batch: 1,
            save,
            project,
            name: "p",
            ...(gpuPostprocess === undefined ? {} : { gpuPostprocess }),
          });
          times.push(performance.now() - t0);
          detections = results.reduce((a, x) => a + x.length, 0);
        }
        console.log(
          `yolo-wgsl predict stream${
            save ? " with save" : gpuPostprocess ? ", NMS and masks on the GPU" : ", NMS and masks on the CPU"
          }: ${
            (percentile(times, 50) / stream.length).toFixed(2)
          } ms per image (median of ${runs} runs of ${stream.length} COCO128 640x480 files through model.predict, ` +
            `batch 1, ${detections} detections, ${navigator.hardwareConcurrency} CPUs) — ${name}`,
        );
      }
    } finally {
      await Deno.remove(project, { recursive: true });
    }
  }
  model.dispose();
}
