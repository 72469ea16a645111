/**
 * `yolo segment val`: box and mask mAP on a dataset split, computed as Ultralytics 8.3.159's
 * `SegmentationValidator` does.
 *
 * Per image, as its val dataloader: the image resized so its long side is `imgsz` (`load_image`:
 * `ceil` of the scaled sides, INTER_LINEAR), then letterboxed without enlarging into its batch's rect
 * shape (images sorted by aspect ratio, `ceil(shape * imgsz / stride + 0.5) * stride`), value 114. Ground
 * truth: polygons resampled to 1000 points, scaled like the image, filled at the letterbox size and
 * downsampled 4x into one overlap mask (larger instances first); boxes mapped back to original pixels
 * through the same `ratio_pad`. Predictions: multi-label NMS (conf 0.001, IoU 0.7, 300 detections),
 * masks at prototype resolution cropped to the box and thresholded at 0, boxes scaled to original pixels.
 * Matching at IoU 0.50:0.05:0.95 for boxes and masks, then AP per class ({@link ../metrics/ap.ts}).
 * @module
 */
import { join } from "node:path";
import { prepareValSample } from "../data/val_sample.ts";
import { checkDataset, type DatasetInfo } from "../data/dataset_yaml.ts";
import { imageFiles } from "../data/image_files.ts";
import { loadLabels } from "../data/labels.ts";
import { DatasetError } from "../errors.ts";
import { DecodeAhead } from "../data/decode_ahead.ts";
import { threadCount, ThreadPool } from "../threads/pool.ts";
import { decodeImage } from "../io/image.ts";
import { readFileOr } from "../io/_read_file.ts";
import { info, progress, warn } from "../log.ts";
import { imageMatches, type ImageTruth } from "../metrics/image_matches.ts";
import { computeMetric, type Metric, type MetricSummary } from "../metrics/det_metrics.ts";
import type { ImageOutputs } from "../postprocess/segment.ts";
import { incrementPath } from "../io/increment_path.ts";
import type { Predictable } from "./predict.ts";

/** Options of {@linkcode val}: Ultralytics' argument names and defaults. */
export interface ValOptions {
  /** The dataset YAML (a path, or the name of one in `datasets/`). */
  data: string;
  /** Input size. @default 640 */
  imgsz?: number;
  /** Images per forward; batches change rect shapes and so mAP (the references use 1). @default 16 */
  batch?: number;
  /** Confidence threshold. @default 0.001 */
  conf?: number;
  /** NMS IoU threshold. @default 0.7 */
  iou?: number;
  /** Most detections per image. @default 300 */
  max_det?: number;
  /** The split to evaluate. @default "val" */
  split?: "val" | "test" | "train";
  /** Class-agnostic NMS. @default false */
  agnostic_nms?: boolean;
  /** Treat every class as one. @default false */
  single_cls?: boolean;
  /** Print the per-class table. @default false */
  verbose?: boolean;
  /** Write `metrics.json` in the run directory. @default false */
  save_json?: boolean;
  /** Run directory parent. @default "runs/segment" */
  project?: string | null;
  /** Run directory name. @default "val" */
  name?: string | null;
  /** Reuse the run directory. @default false */
  exist_ok?: boolean;
  /** Where relative dataset roots and downloads go. @default `$YOLO_WGSL_DATASETS_DIR` or `datasets` */
  datasets_dir?: string | null;
  /** Print the table and progress. @default true in the CLI, false in the API */
  print?: boolean;
  /** Read and write the label cache next to the labels (`<labels dir>.yolo-wgsl.cache`). @default true */
  label_cache?: boolean;
  /**
   * Threads preparing images (read, decode, letterbox, ground truth) and matching their predictions
   * (Ultralytics' `workers`; at most the CPU count; 0: all on the main thread). @default 8
   */
  workers?: number;
}

/** What {@linkcode val} returns (and `metrics.json` holds). */
export interface ValMetrics {
  /** Box metrics. */
  box: MetricSummary;
  /** Mask metrics. */
  seg: MetricSummary;
  /** Mean milliseconds per image. */
  speed: { preprocess: number; inference: number; postprocess: number };
  /** Images evaluated. */
  images: number;
  /** Ground-truth instances. */
  instances: number;
  /** Per-class rows: name, images containing it, instances, and box / mask P, R, AP50, AP50-95. */
  classes: {
    name: string;
    images: number;
    instances: number;
    box: { p: number; r: number; ap50: number; ap: number };
    seg: { p: number; r: number; ap50: number; ap: number };
  }[];
  /** The run directory when something was saved there, else null. */
  saveDir: string | null;
}

const now = () => performance.now();

/** `BaseDataset.set_rectangle`: image order by aspect ratio and the letterbox shape of each batch. */
export function rectBatches(
  shapes: readonly [number, number][],
  batch: number,
  imgsz: number,
  stride = 32,
  pad = 0.5,
): { order: number[]; batchShapes: [number, number][] } {
  const ar = shapes.map(([h, w]) => h / w);
  const order = ar.map((_, i) => i).sort((a, b) => ar[a] - ar[b] || a - b);
  const batchShapes: [number, number][] = [];
  for (let s = 0; s < order.length; s += batch) {
    const ars = order.slice(s, s + batch).map((i) => ar[i]);
    const mini = Math.min(...ars), maxi = Math.max(...ars);
    const shape: [number, number] = maxi < 1 ? [maxi, 1] : mini > 1 ? [1, 1 / mini] : [1, 1];
    batchShapes.push(shape.map((v) => Math.ceil(v * imgsz / stride + pad) * stride) as [number, number]);
  }
  return { order, batchShapes };
}

/** Python's `"%11.3g"`. */
function g3(v: number): string {
  if (v === 0) return "0";
  const s = v.toPrecision(3);
  const [mant, exp] = s.split("e");
  let m = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
  if (exp !== undefined) {
    const e = Number(exp);
    m += `e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  return m;
}

/** One row of Ultralytics' val table. */
function row(name: string, images: number, instances: number, values: number[]): string {
  return name.padStart(22) + String(images).padStart(11) + String(instances).padStart(11) +
    values.map((v) => g3(v).padStart(11)).join("");
}

/**
 * Validate a segmentation model on a dataset split: box and mask P, R, mAP50, mAP50-95.
 *
 * @param model The loaded model.
 * @param options The dataset and Ultralytics' val arguments.
 * @returns The metrics (and `metrics.json` in the run directory with `save_json`).
 * @throws {DatasetError} When the dataset YAML, its images or labels cannot be used.
 */
export async function val(model: Predictable, options: ValOptions): Promise<ValMetrics> {
  const imgsz = options.imgsz ?? 640;
  const batch = Math.max(1, Math.floor(options.batch ?? 16));
  const conf = options.conf ?? 0.001, iou = options.iou ?? 0.7, maxDet = options.max_det ?? 300;
  const split = options.split ?? "val";
  const workers = options.workers ?? 8;
  threadCount(workers, 0); // a bad value fails here, before the dataset is read
  const say = options.print ? info : () => {};
  const data: DatasetInfo = await checkDataset(options.data, {
    datasets_dir: options.datasets_dir,
    verbose: options.print ?? false,
  });
  const splitPath = data[split];
  if (!splitPath) {
    throw new DatasetError(
      data.yamlFile,
      `Cannot validate on "${split}": the dataset YAML has no "${split}" images`,
    );
  }
  const nc = model.names.length;
  if (data.nc !== nc && !options.single_cls) {
    warn(
      `Dataset "${options.data}" has ${data.nc} classes and the model ${nc}: metrics use the model's classes`,
    );
  }
  const files = await imageFiles(splitPath);
  const { labels: loaded } = await loadLabels(files, data.nc, {
    prefix: `${split}: `,
    single_cls: options.single_cls,
    cache: options.label_cache ?? true,
    verbose: options.print ?? false,
  });
  // single_cls: every instance is class 0 (the dataset's update_labels)
  const labels = options.single_cls ? loaded.map((l) => ({ ...l, cls: l.cls.map(() => 0) })) : loaded;
  if (labels.length === 0) {
    throw new DatasetError(String(splitPath), `Cannot validate: no usable images in "${splitPath}"`);
  }
  const stride = Math.max(...model.stride, 32);
  const { order, batchShapes } = rectBatches(labels.map((l) => l.shape), batch, imgsz, stride);

  const stats = {
    tp: [] as Uint8Array[],
    tpM: [] as Uint8Array[],
    conf: [] as number[],
    cls: [] as number[],
  };
  const targetCls: number[] = [], targetImg: number[] = [];
  const speed = { preprocess: 0, inference: 0, postprocess: 0 };
  let seen = 0;
  const total = labels.length;
  // With threads, each image is read, decoded, letterboxed and its ground truth prepared on one (in batch
  // order, the next ones started ahead) and copied into its batch here; without, all of it here.
  const pool = new ThreadPool(threadCount(workers, order.length));
  const readImage = (file: string) =>
    readFileOr(file, (d) => new DatasetError(file, `Cannot read image "${file}": ${d}`));
  const samples = new DecodeAhead(order.length, Math.max(batch, 2 * pool.size), async (k) => {
    const label = labels[order[k]];
    const shape = batchShapes[Math.floor(k / batch)];
    return await pool.valSample(await readImage(label.im_file), label.im_file, label, shape, imgsz);
  });
  /** Reads, decodes and letterboxes batch `bi` (unreadable images are warnings). */
  const prepareBatch = async (bi: number) => {
    const t0 = now();
    const [H, W] = batchShapes[bi];
    const first = bi * batch;
    const members = order.slice(first, first + batch);
    const input = new Float32Array(members.length * 3 * H * W);
    const prepared: ImageTruth[] = [];
    for (const [m, idx] of members.entries()) {
      const label = labels[idx];
      const offset = prepared.length * 3 * H * W;
      try {
        if (pool.size > 0) {
          const sample = await samples.get(first + m);
          input.set(sample.input, offset);
          prepared.push(sample.truth);
        } else {
          const img = await decodeImage(await readImage(label.im_file), label.im_file);
          prepared.push(prepareValSample(img, label, [H, W], imgsz, input, offset));
        }
      } catch (e) {
        warn(`Skipping image: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    speed.preprocess += now() - t0;
    return { prepared, input, H, W };
  };
  /** Submits a prepared batch's forward (read later, so the next batch's preparation overlaps it). */
  const submitBatch = async (batchData: Awaited<ReturnType<typeof prepareBatch>>) => {
    const { prepared, input, H, W } = batchData;
    const n = prepared.length;
    if (n === 0) return undefined;
    const t1 = now();
    const data = input.subarray(0, n * 3 * H * W), shape = [n, 3, H, W];
    // NMS's first filter on the GPU: only anchors with a class score > conf are read back (at conf 0.001
    // a few hundred of COCO's 8400; multi-label NMS takes no other anchor). More than the GPU list holds: all.
    const pending = model.submit
      ? await model.submit(data, shape, { select: { conf, nc } })
      : await model.forward(data, shape).then((out) => ({ read: () => Promise.resolve(out) }));
    speed.inference += now() - t1;
    return { ...batchData, pending };
  };
  // Pipelined: batch k+1 is read and letterboxed while the GPU runs batch k.
  let running: Awaited<ReturnType<typeof submitBatch>>;
  try {
    running = order.length > 0 ? await submitBatch(await prepareBatch(0)) : undefined;
    for (let bi = 0; bi * batch < order.length; bi++) {
      const current = running;
      running = undefined;
      const following = (bi + 1) * batch < order.length ? await prepareBatch(bi + 1) : undefined;
      if (!current) {
        if (following) running = await submitBatch(following);
        continue;
      }
      const t1 = now();
      const out = await current.pending.read();
      speed.inference += now() - t1;
      if (following) running = await submitBatch(following);
      const t2 = now();
      const { prepared, H, W } = current;
      const n = prepared.length;
      const [, C, A] = out.output0.shape;
      const [, nm, mh, mw] = out.output1!.shape;
      const plane = nm * mh * mw;
      const matchOpts = {
        conf,
        iou,
        maxDet,
        agnostic: options.agnostic_nms ?? false,
        singleCls: options.single_cls ?? false,
        nc,
      };
      // Each image's NMS and matching (on the threads side by side, with a pool), added in image order.
      const matches = await Promise.all(prepared.map((p, b) => {
        const cand = out.candidates?.[b];
        const outputs: ImageOutputs = {
          preds: cand ? cand.data : out.output0.data.subarray(b * C * A, (b + 1) * C * A),
          channels: C,
          columns: cand ? cand.count : A,
          protos: { data: out.output1!.data.subarray(b * plane, (b + 1) * plane), shape: [nm, mh, mw] },
        };
        return pool.size > 0
          ? pool.matches(outputs, p, matchOpts, [H, W])
          : Promise.resolve(imageMatches(outputs, p, matchOpts, [H, W]));
      }));
      for (let b = 0; b < n; b++) {
        const p = prepared[b], m = matches[b];
        seen++;
        targetCls.push(...p.cls);
        targetImg.push(...new Set(p.cls));
        if (m.conf.length === 0) continue;
        stats.tp.push(m.tp), stats.tpM.push(m.tpM);
        for (let i = 0; i < m.conf.length; i++) stats.conf.push(m.conf[i]), stats.cls.push(m.cls[i]);
      }
      speed.postprocess += now() - t2;
      if (options.print) progress(`val: ${seen}/${total} images`, seen === total ? "done" : "running");
    }
  } finally {
    // An error left a forward submitted: read it, so the model is free for its next caller.
    if (running) await running.pending.read().catch(() => {});
    pool.close();
  }

  const concat = (parts: Uint8Array[]) => {
    const outArr = new Uint8Array(parts.reduce((s, a) => s + a.length, 0));
    let o = 0;
    for (const a of parts) outArr.set(a, o), o += a.length;
    return outArr;
  };
  const boxM: Metric = computeMetric(concat(stats.tp), stats.conf, stats.cls, targetCls, nc);
  const segM: Metric = computeMetric(concat(stats.tpM), stats.conf, stats.cls, targetCls, nc);
  const ntClass = new Array(nc).fill(0), ntImage = new Array(nc).fill(0);
  for (const c of targetCls) if (c < nc) ntClass[c]++;
  for (const c of targetImg) if (c < nc) ntImage[c]++;
  const instances = targetCls.length;
  const per = (v: number) => (seen ? v / seen : 0);
  const result: ValMetrics = {
    box: boxM.summary,
    seg: segM.summary,
    speed: {
      preprocess: per(speed.preprocess),
      inference: per(speed.inference),
      postprocess: per(speed.postprocess),
    },
    images: seen,
    instances,
    classes: boxM.classes.map((bc, i) => {
      const sc = segM.classes[i];
      return {
        name: model.names[bc.cls] ?? String(bc.cls),
        images: ntImage[bc.cls] ?? 0,
        instances: ntClass[bc.cls] ?? 0,
        box: { p: bc.p, r: bc.r, ap50: bc.ap50, ap: bc.ap },
        seg: { p: sc.p, r: sc.r, ap50: sc.ap50, ap: sc.ap },
      };
    }),
    saveDir: null,
  };

  say(
    ["Class", "Images", "Instances", "Box(P", "R", "mAP50", "mAP50-95)", "Mask(P", "R", "mAP50", "mAP50-95)"]
      .map((s, i) => s.padStart(i === 0 ? 22 : 11)).join(""),
  );
  const b = result.box, s = result.seg;
  say(row("all", seen, instances, [b.mp, b.mr, b.map50, b.map, s.mp, s.mr, s.map50, s.map]));
  if (instances === 0) warn(`No labels found in the ${split} set: cannot compute metrics without labels`);
  if (options.verbose && nc > 1) {
    for (const c of result.classes) {
      say(row(c.name, c.images, c.instances, [
        c.box.p,
        c.box.r,
        c.box.ap50,
        c.box.ap,
        c.seg.p,
        c.seg.r,
        c.seg.ap50,
        c.seg.ap,
      ]));
    }
  }
  const sp = result.speed;
  say(
    `Speed: ${sp.preprocess.toFixed(1)}ms preprocess, ${sp.inference.toFixed(1)}ms inference, 0.0ms loss, ` +
      `${sp.postprocess.toFixed(1)}ms postprocess per image`,
  );
  if (options.save_json) {
    const dir = incrementPath(
      join(options.project ?? "runs/segment", options.name ?? "val"),
      options.exist_ok,
    );
    await Deno.mkdir(dir, { recursive: true });
    const json = {
      box: result.box,
      seg: result.seg,
      speed: result.speed,
      images: result.images,
      instances: result.instances,
    };
    const tmp = join(dir, ".metrics.json.tmp");
    await Deno.writeTextFile(tmp, JSON.stringify(json, null, 2) + "\n");
    await Deno.rename(tmp, join(dir, "metrics.json"));
    result.saveDir = dir;
    say(`Results saved to ${dir}`);
  }
  return result;
}
