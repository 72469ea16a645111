import assert from "node:assert/strict";
import { CheckpointError, ModelConfigError } from "../src/errors.ts";
import { parameterShapes } from "../src/graph/builder.ts";
import { type ModelYaml, parseModel } from "../src/graph/parse_model.ts";
import { checkStateShapes, expectedShapes } from "../src/graph/weights.ts";
import { readCheckpoint } from "../src/io/checkpoint.ts";
import { loadModel, loadModelBytes } from "../src/load_model.ts";
import { exportSafetensorsBytes } from "../src/modes/export.ts";
import { sharedPath } from "./_shared.ts";
import { checkpointZip, model, p } from "./io/_checkpoint_builder.ts";

const ptPath = sharedPath("models/yolo11n-seg-c128.pt");
const ptBytes = Deno.readFileSync(ptPath);
const pt = loadModelBytes(ptBytes, "yolo11n-seg-c128.pt");

Deno.test("a real checkpoint loads with its names, strides, task and version", () => {
  assert.equal(pt.format, "pt");
  assert.equal(pt.names.length, 80);
  assert.equal(pt.names[0], "person");
  assert.equal(pt.names[79], "toothbrush");
  assert.deepEqual(pt.stride, [8, 16, 32]);
  assert.equal(pt.task, "segment");
  assert.equal(pt.version, "8.3.159");
  assert.equal(pt.imgsz, 640);
  assert.equal(pt.parsed.scale, "n");
});

Deno.test("the checkpoint holds exactly the tensors its own YAML describes, shape for shape", () => {
  const ckpt = readCheckpoint(ptBytes, "yolo11n-seg-c128.pt");
  const expected = expectedShapes(pt.parsed, false);
  assert.deepEqual([...ckpt.state.keys()].sort(), [...expected.keys()].sort());
  for (const [k, shape] of expected) assert.deepEqual(ckpt.state.get(k)!.shape, shape, k);
  // And the loaded (folded) state has the fused form: conv biases, no BatchNorm tensors.
  assert.deepEqual([...pt.state.keys()].sort(), [...expectedShapes(pt.parsed, true).keys()].sort());
  assert.ok(![...pt.state.keys()].some((k) => k.includes(".bn.")));
  let n = 0;
  for (const [, s] of parameterShapes(pt.parsed.root)) n += s.reduce((a, b) => a * b, 1);
  assert.equal(n, 2_876_848);
});

Deno.test("export to safetensors and load again gives bit-identical tensors and the same metadata", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = exportSafetensorsBytes(pt);
    const file = `${dir}/yolo11n-seg-c128.safetensors`;
    await Deno.writeFile(file, bytes);
    const st = await loadModel(file);
    assert.equal(st.format, "safetensors");
    assert.deepEqual(st.names, pt.names);
    assert.deepEqual(st.stride, pt.stride);
    assert.equal(st.task, pt.task);
    assert.equal(st.imgsz, 640);
    assert.equal(st.version, "8.3.159");
    assert.deepEqual(st.yaml, pt.yaml);
    assert.deepEqual([...st.state.keys()], [...pt.state.keys()]);
    for (const [k, t] of pt.state) {
      const u = st.state.get(k)!;
      assert.deepEqual(u.shape, t.shape, k);
      const a = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      const b = new Uint32Array(u.data.buffer, u.data.byteOffset, u.data.length);
      assert.ok(a.every((v, i) => v === b[i]), `${k} differs bit-wise`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model YAML builds with deterministic random weights", async () => {
  const a = await loadModel("yolo11s-seg.yaml");
  const b = await loadModel("yolo11s-seg.yaml");
  assert.equal(a.format, "yaml");
  assert.equal(a.names.length, 80);
  const w = "model.0.conv.weight";
  assert.deepEqual(a.state.get(w)!.data, b.state.get(w)!.data);
  assert.ok(a.state.get(w)!.data.some((v) => v !== 0));
  const c = await loadModel("yolo11s-seg.yaml", { seed: 1 });
  assert.notDeepEqual(c.state.get(w)!.data, a.state.get(w)!.data);
});

/** The CheckpointError (or ModelConfigError) thrown for bytes named `file`, checked to be one line naming it. */
async function loadError(bytes: Uint8Array | string, file: string): Promise<string> {
  try {
    if (typeof bytes === "string") await loadModel(bytes);
    else loadModelBytes(bytes, file);
  } catch (e) {
    assert.ok(e instanceof CheckpointError || e instanceof ModelConfigError, `unexpected ${e}`);
    assert.equal(e.file, file);
    assert.ok(e.message.includes(`"${file}"`), e.message);
    assert.ok(!e.message.includes("\n"), "one line");
    return e.message;
  }
  throw new Error(`loading "${file}" did not fail`);
}

Deno.test("bad model files are one-line errors naming the file", async () => {
  assert.match(
    await loadError(ptBytes.slice(0, ptBytes.length >> 1), "half.pt"),
    /Cannot read checkpoint "half.pt"/,
  );
  assert.match(await loadError(new Uint8Array(0), "empty.pt"), /"empty.pt": file is empty/);
  const notCkpt = checkpointZip(p.dict([["hello", p.str("world")]]), {});
  assert.match(await loadError(notCkpt, "other.pt"), /holds no model/);
  assert.match(
    await loadError("no/such/model.pt", "no/such/model.pt"),
    /Cannot find model "no\/such\/model.pt"/,
  );
  assert.match(await loadError("no-such-arch.yaml", "no-such-arch.yaml"), /no such file/);
  const yaml = new TextEncoder().encode(
    "nc: 80\nbackbone: [[-1, 1, Conv, [16, 3, 2]]]\nhead: [[-1, 1, Foo, []]]\n",
  );
  assert.equal(
    await loadError(yaml, "foo.yaml"),
    `Cannot build model "foo.yaml": unknown module "Foo" in layer 1`,
  );
  // safetensors without our metadata
  const st = exportSafetensorsBytes(pt);
  const view = new DataView(st.buffer, st.byteOffset);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + headerLen)));
  delete header.__metadata__;
  const text = new TextEncoder().encode(JSON.stringify(header).padEnd(headerLen, " "));
  const stripped = new Uint8Array(st);
  stripped.set(text, 8);
  assert.match(
    await loadError(stripped, "plain.safetensors"),
    /metadata has no "task" \(not a YOLO export\)/,
  );
});

Deno.test("detection and classification checkpoints are refused when segmentation is needed", async () => {
  const detect = checkpointZip(
    p.dict([["model", model({}, [["args", p.dict([["task", p.str("detect")]])]])], ["ema", p.none]]),
    {},
  );
  assert.equal(
    await loadError(detect, "yolo11n.pt"),
    `Cannot load "yolo11n.pt": it is a detect model (head "Detect"), and this needs a segment model (task=segment)`,
  );
  const classify = checkpointZip(
    p.dict([[
      "model",
      model({}, [], "ultralytics.nn.tasks.ClassificationModel", "ultralytics.nn.modules.head.Classify"),
    ]]),
    {},
  );
  assert.match(await loadError(classify, "yolo11n-cls.pt"), /it is a classify model \(head "Classify"\)/);
});

Deno.test("a checkpoint whose tensors disagree with its YAML names the first mismatch", () => {
  const ckpt = readCheckpoint(ptBytes, "wide.pt");
  // Claim a wider model than the weights: scale "s" needs 32 output channels in the first conv.
  const wide = parseModel({ ...(ckpt.yaml as ModelYaml), scale: "s" }, "wide.pt");
  assert.throws(
    () => checkStateShapes(wide, ckpt.state, "wide.pt"),
    (e: unknown) =>
      e instanceof CheckpointError &&
      e.message === `Cannot load weights "wide.pt": tensor "model.0.conv.weight" has shape [16, 3, 3, 3], ` +
          `the model YAML expects [32, 3, 3, 3]`,
  );
  const missing = new Map(ckpt.state);
  missing.delete("model.23.proto.cv3.conv.weight");
  assert.throws(
    () => checkStateShapes(pt.parsed, missing, "cut.pt"),
    /"cut.pt": tensor "model.23.proto.cv3.conv.weight" is missing \(the model YAML expects \[32, 64, 1, 1\]\)/,
  );
  const extra = new Map(ckpt.state);
  extra.set("model.24.weight", ckpt.state.get("model.0.conv.weight")!);
  assert.throws(
    () => checkStateShapes(pt.parsed, extra, "x.pt"),
    /tensor "model.24.weight" is not part of the model/,
  );
});
