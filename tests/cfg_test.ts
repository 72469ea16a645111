import assert from "node:assert/strict";
import { DEFAULTS, parseCliWords, smartValue } from "../src/cfg.ts";

Deno.test("smartValue reads values as Ultralytics' smart_value does", () => {
  assert.equal(smartValue("none"), null);
  assert.equal(smartValue("True"), true);
  assert.equal(smartValue("false"), false);
  assert.equal(smartValue("0.25"), 0.25);
  assert.equal(smartValue("640"), 640);
  assert.deepEqual(smartValue("[0, 2]"), [0, 2]);
  assert.deepEqual(smartValue("(480,640)"), [480, 640]);
  assert.equal(smartValue("bus.jpg"), "bus.jpg");
});

Deno.test("parseCliWords takes an optional task, a mode and key=value overrides", () => {
  assert.deepEqual(parseCliWords(["segment", "predict", "model=a.pt", "conf=0.5", "save_txt=True"]), {
    task: "segment",
    mode: "predict",
    overrides: { model: "a.pt", conf: 0.5, save_txt: true },
  });
  // `key = value` split over words, and dashes in keys, as Ultralytics accepts them.
  assert.deepEqual(parseCliWords(["info", "model", "=", "x.pt", "max-det=10"]).overrides, {
    model: "x.pt",
    max_det: 10,
  });
  assert.equal(parseCliWords(["model=a.pt"]).mode, DEFAULTS.mode);
});

Deno.test("parseCliWords names the first word it does not understand", () => {
  assert.throws(
    () => parseCliWords(["predict", "modell=x.pt"]),
    /Unknown argument "modell" in "modell=x.pt"/,
  );
  assert.throws(() => parseCliWords(["predikt"]), /Unknown word "predikt": expected a mode/);
  assert.throws(() => parseCliWords(["predict", "conf="]), /Missing value for "conf"/);
});

Deno.test("the CLI prints the model summary and exits 1 with one line on bad input", async () => {
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli.ts", ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  const ok = await run("info", "model=yolov8n-seg.yaml");
  assert.equal(ok.code, 0);
  const text = new TextDecoder().decode(ok.stdout);
  assert.match(
    text,
    /YOLOv8n-seg summary \(fused\): 85 layers, 3,404,320 parameters, 0 gradients, 12\.6 GFLOPs/,
  );
  const noData = await run("segment", "val", "model=yolov8n-seg.yaml");
  assert.equal(noData.code, 1);
  assert.match(new TextDecoder().decode(noData.stderr), /Missing "data=": pass data=DATASET\.yaml/);
  const bad = await run("info", "model=missing.pt");
  assert.equal(bad.code, 1);
  assert.equal(new TextDecoder().decode(bad.stderr).trim(), `Cannot find model "missing.pt": no such file`);
});
