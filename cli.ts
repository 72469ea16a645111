/**
 * The yolo-wgsl command line, Ultralytics style:
 *
 *   deno run -A cli.ts [segment] MODE key=value ...
 *
 * MODE is one of info, export, predict, val, convert, serve. Keys and defaults are Ultralytics' (see src/cfg.ts).
 * @module
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { type CfgValue, MODES, parseCliWords, resolveCfg } from "./src/cfg.ts";
import { loadModel } from "./src/load_model.ts";
import type { WebGpuName } from "./src/gpu/device.ts";
import { error, info } from "./src/log.ts";
import { exportModel } from "./src/modes/export.ts";
import { runInfo } from "./src/modes/info.ts";
import { convertCoco } from "./src/data/coco_convert.ts";
import { predict } from "./src/modes/predict.ts";
import { serve } from "./src/modes/serve.ts";
import { val } from "./src/modes/val.ts";
import { YOLO } from "./src/yolo.ts";

const HELP = `yolo-wgsl: Ultralytics YOLO segmentation on WebGPU

Usage: deno run -A cli.ts [segment] MODE key=value ...

Modes:
  info     model=PATH                 layers, parameters and GFLOPs, before and after BN fusion
  export   model=PATH format=safetensors   write PATH.safetensors (BN folded, metadata to rebuild)
  predict  model=PATH source=IMG|DIR|GLOB|LIST.txt [conf=0.25 iou=0.7 imgsz=640 retina_masks=False
           save_json=False save_txt=False project= name= exist_ok=False workers=8]   → runs/segment/predict{n}
  val      model=PATH data=coco8-seg.yaml [imgsz=640 batch=16 conf=0.001 iou=0.7 split=val
           verbose=False save_json=False datasets_dir= workers=8]   box and mask P, R, mAP50, mAP50-95
  convert  coco-json=instances_val2017.json|DIR [save_dir=coco_converted use_segments=True cls91to80=True]
           COCO JSON → YOLO labels in save_dir/labels/val2017/*.txt (Ultralytics' convert_coco)
  serve    model=PATH [port=8000 host=127.0.0.1 imgsz=640 conf=0.25 max_batch=8 max_bytes=20971520
           max_pixels=40000000 timeout=60 workers=8]   HTTP: POST /predict (image → JSON or format=png), GET /health,
           and a page at / that draws the masks

GPU keys (all modes that run the model): half=False (f16 activations, needs shader-f16); tune= (autotune
conv tiles per layer on this GPU, default on for hardware adapters) with tune_cache=FILE|False (default
$YOLO_WGSL_CACHE_DIR/tune.json, else ~/.cache/yolo-wgsl/tune.json); gpu_letterbox= (predict, serve:
letterbox on the GPU, default on for hardware adapters); gpu_postprocess= (predict, serve: NMS and masks on
the GPU, default on for hardware adapters; not with retina_masks=True); webgpu=deno|dawn (the WebGPU
implementation: Deno's own, or Chromium's Dawn from npm:webgpu, whose readbacks skip Deno's 10 ms wait;
default $YOLO_WGSL_WEBGPU, else deno).

model= takes an Ultralytics .pt, our .safetensors, or a model .yaml (yolo11n-seg.yaml ... yolo11x-seg.yaml,
yolov8n-seg.yaml ...; shipped architectures build with random weights). An official checkpoint name
(yolo11n-seg.pt ... yolov8x-seg.pt) not found as a path is read from weights_dir=DIR (default
$YOLO_WGSL_WEIGHTS_DIR, else ./weights), downloaded there from Ultralytics' assets on first use.`;

const str = (v: CfgValue, key: string): string => {
  if (typeof v !== "string" && typeof v !== "number") {
    throw new TypeError(`Missing "${key}=": pass ${key}=VALUE`);
  }
  return String(v);
};

/** Run the CLI on its words; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { help: { type: "boolean", short: "h" } },
  });
  if (values.help || positionals.length === 0 || positionals[0] === "help") {
    info(HELP);
    return 0;
  }
  const { mode, overrides } = parseCliWords(positionals);
  const cfg = resolveCfg(overrides);
  const load = {
    weightsDir: cfg.weights_dir === null ? null : str(cfg.weights_dir, "weights_dir"),
    ...(cfg.tune === null ? {} : { tune: cfg.tune === true }),
    ...(cfg.tune_cache === null
      ? {}
      : { tuneCache: cfg.tune_cache === false ? false as const : String(cfg.tune_cache) }),
    ...(cfg.webgpu === null ? {} : { webgpu: str(cfg.webgpu, "webgpu") as WebGpuName }),
  };
  const gpuLetterbox = {
    ...(cfg.gpu_letterbox === null ? {} : { gpuLetterbox: cfg.gpu_letterbox === true }),
    ...(cfg.gpu_postprocess === null ? {} : { gpuPostprocess: cfg.gpu_postprocess === true }),
  };
  switch (mode) {
    case "info": {
      const model = await loadModel(str(cfg.model, "model"), load);
      runInfo(model, Number(cfg.imgsz));
      return 0;
    }
    case "export": {
      const model = await loadModel(str(cfg.model, "model"), load);
      await exportModel(model, {
        format: str(cfg.format, "format"),
        imgsz: overrides.imgsz === undefined ? undefined : Number(cfg.imgsz),
      });
      return 0;
    }
    case "predict": {
      const model = await YOLO.load(str(cfg.model, "model"), { ...load, half: cfg.half === true });
      const src = cfg.source;
      if (src === null || src === undefined) {
        throw new TypeError('Missing "source=": pass source=IMAGE|DIR|GLOB');
      }
      const list = (v: CfgValue) => (Array.isArray(v) ? v.map(String) : String(v));
      try {
        await predict(model, list(src), {
          imgsz: Number(cfg.imgsz),
          conf: cfg.conf === null ? 0.25 : Number(cfg.conf),
          iou: Number(cfg.iou),
          max_det: Number(cfg.max_det),
          classes: cfg.classes === null ? null : [cfg.classes].flat().map(Number),
          agnostic_nms: cfg.agnostic_nms === true,
          retina_masks: cfg.retina_masks === true,
          batch: overrides.batch === undefined ? 1 : Number(cfg.batch),
          save: cfg.save === true,
          save_json: cfg.save_json === true,
          save_txt: cfg.save_txt === true,
          save_conf: cfg.save_conf === true,
          save_crop: cfg.save_crop === true,
          project: cfg.project === null ? null : String(cfg.project),
          name: cfg.name === null ? null : String(cfg.name),
          exist_ok: cfg.exist_ok === true,
          show_boxes: cfg.show_boxes !== false,
          show_labels: cfg.show_labels !== false,
          show_conf: cfg.show_conf !== false,
          line_width: cfg.line_width === null ? null : Number(cfg.line_width),
          verbose: cfg.verbose !== false,
          workers: Number(cfg.workers),
          ...gpuLetterbox,
        });
      } finally {
        model.dispose();
      }
      return 0;
    }
    case "val": {
      const data = cfg.data;
      if (data === null || data === undefined) {
        throw new TypeError('Missing "data=": pass data=DATASET.yaml (e.g. data=coco8-seg.yaml)');
      }
      const model = await YOLO.load(str(cfg.model, "model"), { ...load, half: cfg.half === true });
      try {
        await val(model, {
          data: String(data),
          imgsz: Number(cfg.imgsz),
          batch: Number(cfg.batch),
          conf: cfg.conf === null ? 0.001 : Number(cfg.conf),
          iou: Number(cfg.iou),
          max_det: Number(cfg.max_det),
          split: String(cfg.split) as "val" | "test" | "train",
          agnostic_nms: cfg.agnostic_nms === true,
          single_cls: cfg.single_cls === true,
          verbose: cfg.verbose !== false,
          save_json: cfg.save_json === true,
          project: cfg.project === null ? null : String(cfg.project),
          name: cfg.name === null ? null : String(cfg.name),
          exist_ok: cfg.exist_ok === true,
          datasets_dir: cfg.datasets_dir === null ? null : String(cfg.datasets_dir),
          workers: Number(cfg.workers),
          print: true,
        });
      } finally {
        model.dispose();
      }
      return 0;
    }
    case "serve": {
      const model = await YOLO.load(str(cfg.model, "model"), { ...load, half: cfg.half === true });
      const server = serve(model, {
        port: Number(cfg.port),
        host: str(cfg.host, "host"),
        imgsz: Number(cfg.imgsz),
        conf: cfg.conf === null ? 0.25 : Number(cfg.conf),
        iou: Number(cfg.iou),
        max_det: Number(cfg.max_det),
        classes: cfg.classes === null ? null : [cfg.classes].flat().map(Number),
        agnostic_nms: cfg.agnostic_nms === true,
        retina_masks: cfg.retina_masks === true,
        max_imgsz: cfg.max_imgsz === null ? undefined : Number(cfg.max_imgsz),
        max_batch: Number(cfg.max_batch),
        batch_wait: Number(cfg.batch_wait),
        max_bytes: Number(cfg.max_bytes),
        max_pixels: Number(cfg.max_pixels),
        timeout: Number(cfg.timeout),
        verbose: cfg.verbose !== false,
        workers: Number(cfg.workers),
        ...gpuLetterbox,
      });
      info(
        `Serving ${basename(model.model.file)} at ${server.url} (POST /predict, GET /health; Ctrl-C to stop)`,
      );
      // The first Ctrl-C lets the requests in flight finish; a second one exits at once.
      let stopping = false;
      const stop = () => {
        if (stopping) Deno.exit(130);
        stopping = true;
        info("Shutting down: finishing the requests in flight (Ctrl-C again to quit now)");
        server.shutdown();
      };
      const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
      for (const s of signals) Deno.addSignalListener(s, stop);
      try {
        await server.finished;
      } finally {
        for (const s of signals) Deno.removeSignalListener(s, stop);
        model.dispose();
      }
      return 0;
    }
    case "convert": {
      if (cfg.coco_json === null) {
        throw new TypeError('Missing "coco-json=": pass coco-json=instances_val2017.json or a folder');
      }
      await convertCoco(str(cfg.coco_json, "coco_json"), {
        save_dir: cfg.save_dir === null ? undefined : str(cfg.save_dir, "save_dir"),
        use_segments: cfg.use_segments !== false,
        cls91to80: cfg.cls91to80 !== false,
      });
      return 0;
    }
    default:
      throw new RangeError(`Mode "${mode}" is not available yet: use one of ${MODES.join(", ")}`);
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
