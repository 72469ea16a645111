/** One model instance answering concurrent `predict` calls gives each the result it gets alone. */
import assert from "node:assert/strict";
import { YOLO } from "../../mod.ts";
import { sharedPath } from "../_shared.ts";

Deno.test("concurrent predict calls on one model equal the same calls one at a time", async () => {
  const model = await YOLO.load(sharedPath("models/yolo11n-seg-c128.pt"));
  try {
    const images = ["images/bus.jpg", "images/zidane.jpg", "datasets/coco8-seg/images/val/000000000036.jpg"]
      .map(sharedPath);
    const opts = [{ imgsz: 64, conf: 0.001 }, { imgsz: 96, conf: 0.001, retina_masks: true }];
    const calls = images.flatMap((img) => opts.map((o) => [img, o] as const));
    const alone = [];
    for (const [img, o] of calls) alone.push((await model.predict(img, o))[0].toJSON());
    const together = await Promise.all(calls.map(([img, o]) => model.predict(img, o)));
    assert.deepEqual(together.map((r) => r[0].toJSON()), alone);
    assert.ok(alone.some((r) => r.conf.length > 0), "some detections to compare");
  } finally {
    model.dispose();
  }
});
