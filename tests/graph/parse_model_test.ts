import assert from "node:assert/strict";
import { ModelConfigError } from "../../src/errors.ts";
import { fuseResidualAdds } from "../../src/graph/fuse.ts";
import { countModules, gflops } from "../../src/graph/model_info.ts";
import {
  builtinModelYaml,
  guessModelScale,
  parseModelYaml,
  unifiedModelName,
} from "../../src/graph/model_yaml.ts";
import { makeDivisible, parseModel, roundHalfEven } from "../../src/graph/parse_model.ts";

function build(name: string) {
  const text = builtinModelYaml(name);
  assert.ok(text, `no shipped YAML for ${name}`);
  return parseModel(parseModelYaml(text, name), name);
}

// Ultralytics' own counts (issue "Foundation"): `YOLO("yolo11n-seg.yaml").info()` etc.
const YOLO11_SEG_PARAMS: Record<string, number> = {
  n: 2_876_848,
  s: 10_113_248,
  m: 22_420_896,
  l: 27_678_368,
  x: 62_142_656,
};

for (const [scale, expected] of Object.entries(YOLO11_SEG_PARAMS)) {
  Deno.test(`yolo11${scale}-seg.yaml has Ultralytics' parameter count`, () => {
    const m = build(`yolo11${scale}-seg.yaml`);
    assert.equal(countModules(m.root, false).parameters, expected);
    assert.equal(m.scale, scale);
    assert.deepEqual(m.strides, [8, 16, 32]);
    assert.equal(m.task, "segment");
  });
}

// The counts in the comments of Ultralytics' yolov8-seg.yaml (`YOLO("yolov8n-seg.yaml").info()`).
const YOLOV8_SEG_PARAMS: Record<string, number> = {
  n: 3_409_968,
  s: 11_821_056,
  m: 27_285_968,
  l: 45_997_728,
  x: 71_827_888,
};

for (const [scale, expected] of Object.entries(YOLOV8_SEG_PARAMS)) {
  Deno.test(`yolov8${scale}-seg.yaml has Ultralytics' parameter count`, () => {
    const m = build(`yolov8${scale}-seg.yaml`);
    assert.equal(countModules(m.root, false).parameters, expected);
    assert.deepEqual(m.strides, [8, 16, 32]);
  });
}

Deno.test("fused yolo11n-seg and yolov8n-seg have Ultralytics' fused parameter counts", () => {
  assert.equal(countModules(build("yolo11n-seg.yaml").root, true).parameters, 2_868_664);
  assert.equal(countModules(build("yolov8n-seg.yaml").root, true).parameters, 3_404_320);
});

Deno.test("every YOLOv8-seg scale builds with growing width and the legacy head", () => {
  let last = 0;
  for (const s of "nsmlx") {
    const m = build(`yolov8${s}-seg.yaml`);
    const p = countModules(m.root, false).parameters;
    assert.ok(p > last, `yolov8${s}-seg parameters ${p} should exceed ${last}`);
    last = p;
    // YOLOv8's class branch is two plain 3x3 Convs (legacy), YOLO11's starts with a depthwise conv.
    assert.ok(m.graph.ops.some((o) => o.op === "conv" && o.name === "model.22.cv3.0.0" && o.g === 1));
  }
  const y11 = build("yolo11n-seg.yaml");
  assert.ok(y11.graph.ops.some((o) => o.op === "conv" && o.name === "model.23.cv3.0.0.0" && o.g === o.cin));
});

Deno.test("GFLOPs and layer counts follow Ultralytics' model_info for yolo11n-seg", () => {
  const m = build("yolo11n-seg.yaml");
  // Ultralytics 8.3.159: "203 layers, 2,876,848 parameters, 10.5 GFLOPs"; fused 10.4 GFLOPs.
  assert.equal(countModules(m.root, false).layers, 203);
  assert.equal(gflops(m.graph, false).toFixed(1), "10.5");
  assert.equal(gflops(m.graph, true).toFixed(1), "10.4");
});

Deno.test("parse_model arithmetic helpers match Python", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 0.99, 1.98, 2.01, 4.02].map(roundHalfEven), [0, 2, 2, 1, 2, 2, 4]);
  assert.equal(makeDivisible(1024 * 0.25, 8), 256);
  assert.equal(makeDivisible(256 * 0.75, 8), 192);
  assert.equal(makeDivisible(20, 8), 24);
});

Deno.test("scale letter and unified name come from the file name as Ultralytics guesses them", () => {
  assert.equal(guessModelScale("yolo11n-seg.yaml"), "n");
  assert.equal(guessModelScale("/a/b/yolov8x-seg.yaml"), "x");
  assert.equal(guessModelScale("yolo11-seg.yaml"), "");
  assert.equal(unifiedModelName("yolo11s-seg.yaml"), "yolo11-seg.yaml");
  assert.equal(unifiedModelName("path/yolov8m-seg.yaml"), "yolov8-seg.yaml");
  // A YAML without a scale letter uses the first scale, as Ultralytics does.
  assert.equal(build("yolo11-seg.yaml").scale, "n");
});

Deno.test("state-dict names keep Ultralytics' attribute paths", () => {
  const m = build("yolo11n-seg.yaml");
  const names = new Set(m.graph.ops.flatMap((o) => ("weight" in o ? [o.weight] : [])));
  for (
    const k of [
      "model.0.conv.weight",
      "model.2.m.0.cv1.conv.weight",
      "model.8.m.0.m.1.cv2.conv.weight",
      "model.10.m.0.attn.qkv.conv.weight",
      "model.10.m.0.attn.pe.conv.weight",
      "model.10.m.0.ffn.1.conv.weight",
      "model.23.cv2.2.2.weight",
      "model.23.cv3.1.1.0.conv.weight",
      "model.23.cv4.0.2.weight",
      "model.23.proto.upsample.weight",
      "model.23.proto.cv3.conv.weight",
    ]
  ) assert.ok(names.has(k), k);
});

Deno.test("residual adds fuse into conv epilogues", () => {
  const m = build("yolo11n-seg.yaml");
  const adds = m.graph.ops.filter((o) => o.op === "add").length;
  assert.ok(adds > 0);
  const fused = fuseResidualAdds(m.graph);
  assert.equal(fused.ops.filter((o) => o.op === "add").length, 0);
  assert.equal(fused.ops.filter((o) => o.op === "conv" && o.r !== undefined).length, adds);
  // Every value read is produced by an earlier op (or is the input).
  const produced = new Set([fused.input]);
  for (const op of fused.ops) {
    const reads = op.op === "conv" ? [op.x, ...(op.r === undefined ? [] : [op.r])] : [];
    for (const r of reads) assert.ok(produced.has(r), `value ${r} read before it is produced`);
    for (const [k, v] of Object.entries(op)) {
      if (["y", "o", "v"].includes(k)) produced.add(v as number);
      if (k === "ys") (v as number[]).forEach((id) => produced.add(id));
    }
  }
});

Deno.test("an unknown module is one error naming the file and layer", () => {
  const text = builtinModelYaml("yolo11n-seg.yaml")!.replace("SPPF", "SPPFX");
  assert.throws(
    () => parseModel(parseModelYaml(text, "custom.yaml"), "custom.yaml"),
    (e: unknown) =>
      e instanceof ModelConfigError && e.file === "custom.yaml" &&
      e.message === `Cannot build model "custom.yaml": unknown module "SPPFX" in layer 9`,
  );
});

Deno.test("malformed model YAML is one error naming the file", () => {
  assert.throws(() => parseModelYaml("backbone: [\n", "bad.yaml"), /Cannot read model YAML "bad.yaml"/);
  assert.throws(() => parseModelYaml("- 1\n- 2\n", "list.yaml"), /"list.yaml": expected a mapping/);
  assert.throws(
    () => parseModelYaml("nc: 3\n", "nohead.yaml"),
    /"nohead.yaml": it has no 'backbone' and 'head'/,
  );
});
