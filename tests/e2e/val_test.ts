/**
 * `val` end to end on WebGPU against Ultralytics 8.3.159's `yolo segment val data=coco8-seg.yaml imgsz=640
 * batch=1` (`val_coco8-seg` in `../shared/refs/yolo11n-seg-c128.json`): box and mask mAP50-95, mAP50,
 * mAP75, P and R within ±0.003, per-class mAP50-95 within ±0.01, and `metrics.json` as returned.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { YOLO } from "../../mod.ts";
import type { Predictable } from "../../src/modes/predict.ts";
import { val } from "../../src/modes/val.ts";
import { sharedPath } from "../_shared.ts";

interface RefVal {
  [key: string]: number | number[];
}

Deno.test("val on coco8-seg matches Ultralytics' box and mask metrics", async () => {
  const ref: RefVal =
    JSON.parse(await Deno.readTextFile(sharedPath("refs/yolo11n-seg-c128.json")))["val_coco8-seg"];
  const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"));
  const project = await Deno.makeTempDir();
  try {
    const m = await model.val({
      data: sharedPath("datasets/coco8-seg.yaml"),
      batch: 1,
      save_json: true,
      project,
      label_cache: false, // leave ../shared untouched
    });
    const report: string[] = [];
    for (const kind of ["box", "seg"] as const) {
      const ours = m[kind];
      const pairs: [string, number, number][] = [
        ["map", ours.map, ref[`${kind}_map`] as number],
        ["map50", ours.map50, ref[`${kind}_map50`] as number],
        ["map75", ours.map75, ref[`${kind}_map75`] as number],
        ["p", ours.mp, ref[`${kind}_p`] as number],
        ["r", ours.mr, ref[`${kind}_r`] as number],
      ];
      for (const [name, a, b] of pairs) {
        report.push(`${kind} ${name} ${a.toFixed(4)} vs ${b.toFixed(4)}`);
        assert.ok(Math.abs(a - b) <= 0.003, `${kind} ${name}: ours ${a}, Ultralytics ${b}`);
      }
      const maps = ref[`${kind}_maps`] as number[];
      assert.equal(ours.maps.length, maps.length);
      ours.maps.forEach((v, c) =>
        assert.ok(Math.abs(v - maps[c]) <= 0.01, `${kind} maps[${c}]: ${v} vs ${maps[c]}`)
      );
    }
    console.log(report.join("; "));
    assert.equal(m.images, 4);
    assert.equal(m.instances, 17);
    assert.deepEqual(m.classes.map((c) => c.name), [
      "person",
      "dog",
      "horse",
      "elephant",
      "umbrella",
      "potted plant",
    ]);
    // metrics.json holds what val returned
    assert.equal(m.saveDir, join(project, "val"));
    const json = JSON.parse(await Deno.readTextFile(join(project, "val", "metrics.json")));
    assert.deepEqual(json.box, JSON.parse(JSON.stringify(m.box)));
    assert.deepEqual(json.seg, JSON.parse(JSON.stringify(m.seg)));
    assert.equal(json.images, 4);
    assert.equal(json.instances, 17);
    assert.deepEqual(Object.keys(json.speed), ["preprocess", "inference", "postprocess"]);
  } finally {
    model.dispose();
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("val on coco8-seg in half mode (f16 activations) stays within 0.003 of Ultralytics", async () => {
  const ref: RefVal =
    JSON.parse(await Deno.readTextFile(sharedPath("refs/yolo11n-seg-c128.json")))["val_coco8-seg"];
  const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"), { half: true });
  try {
    const m = await model.val({ data: sharedPath("datasets/coco8-seg.yaml"), batch: 1, label_cache: false });
    for (const kind of ["box", "seg"] as const) {
      const pairs: [string, number, number][] = [
        ["map", m[kind].map, ref[`${kind}_map`] as number],
        ["map50", m[kind].map50, ref[`${kind}_map50`] as number],
        ["p", m[kind].mp, ref[`${kind}_p`] as number],
        ["r", m[kind].mr, ref[`${kind}_r`] as number],
      ];
      for (const [name, a, b] of pairs) {
        assert.ok(Math.abs(a - b) <= 0.003, `half ${kind} ${name}: ours ${a}, Ultralytics ${b}`);
      }
    }
  } finally {
    model.dispose();
  }
});

Deno.test("val: images prepared and matched on worker threads give the metrics of workers=0", async () => {
  const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"));
  try {
    // batch=1: the later batches are prepared while a forward runs, by then on the loaded threads
    const opts = { data: sharedPath("datasets/coco8-seg.yaml"), batch: 1, label_cache: false };
    const here = await model.val({ ...opts, workers: 0 });
    const threads = await model.val({ ...opts, workers: 2 });
    assert.deepEqual(threads.box, here.box);
    assert.deepEqual(threads.seg, here.seg);
    assert.deepEqual(threads.classes, here.classes);
  } finally {
    model.dispose();
  }
});

Deno.test("val: the GPU candidate filter (select) gives the metrics of all of output0", async () => {
  const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"));
  try {
    const opts = { data: sharedPath("datasets/coco8-seg.yaml"), batch: 2, label_cache: false, workers: 0 };
    // Without submit, val reads every anchor of output0 back and NMS scans them all.
    const full: Predictable = {
      names: model.names,
      stride: model.stride,
      forward: (data, shape) => model.forward(data, shape),
    };
    let selected = 0;
    const own: Predictable = {
      ...full,
      submit: async (data, shape, options) => {
        const pending = await model.submit(data, shape, options);
        return {
          read: async () => {
            const out = await pending.read();
            if (out.candidates && out.output0.data.length === 0) selected++;
            return out;
          },
        };
      },
    };
    const a = await val(full, opts);
    const b = await val(own, opts);
    assert.equal(selected, 2, "both batches read back only their candidates");
    assert.deepEqual(b.box, a.box);
    assert.deepEqual(b.seg, a.seg);
    assert.deepEqual(b.classes, a.classes);
  } finally {
    model.dispose();
  }
});
