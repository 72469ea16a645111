/**
 * Load on the prediction server: 500 requests, 16 at a time, over HTTP on 127.0.0.1 — real photos (six
 * JPEGs and a PNG) under three parameter sets, and one in five a bad request. Every good answer must equal
 * what `model.predict(sameBytes, sameOptions)` gives (classes, RLE masks identical; boxes within 1e-3 px;
 * conf within 1e-4), every bad one must be a 4xx, and the server must still answer afterwards. Prints
 * requests/s and how many forwards ran. `SERVE_LOAD_REQUESTS=n` runs a shorter load.
 */
import assert from "node:assert/strict";
import { type PredictOptions, type ResultJson, serve, YOLO } from "../../mod.ts";
import { decodeImage } from "../../src/io/image.ts";
import { encodeImage } from "../../src/plot/encode.ts";
import { type Answer, assertSameResult, direct, IMAGE_FILES, MODEL, nameOf, query, SMALL } from "./_serve.ts";

const REQUESTS = Number(Deno.env.get("SERVE_LOAD_REQUESTS") ?? 500);
const CONCURRENCY = 16;

Deno.test(`serve load: ${REQUESTS} requests, ${CONCURRENCY} at a time, answers equal predict`, async () => {
  const model = await YOLO.load(MODEL);
  const images: { name: string; bytes: Uint8Array<ArrayBuffer> }[] = [];
  for (const f of IMAGE_FILES) images.push({ name: nameOf(f), bytes: await Deno.readFile(f) });
  const png = await encodeImage(await decodeImage(images[3].bytes), "png") as Uint8Array<ArrayBuffer>;
  images.push({ name: `${images[3].name}.png`, bytes: png });
  const sets: PredictOptions[] = [
    SMALL,
    { ...SMALL, conf: 0.01, max_det: 10 },
    { ...SMALL, retina_masks: true, max_det: 3 },
  ];
  const bad: [string, BodyInit, string][] = [
    ["empty", new Uint8Array(0), ""],
    ["text", "this is not an image", ""],
    ["truncated", images[0].bytes.slice(0, 5000), ""],
    ["gif", "GIF89a\x01\x00\x01\x00", ""],
    ["random", crypto.getRandomValues(new Uint8Array(4096)), ""],
    ["bad conf", images[1].bytes, "conf=5"],
    ["bad imgsz", images[1].bytes, "imgsz=33"],
  ];

  const t0 = performance.now();
  const want = new Map<string, ResultJson>();
  for (const [i, img] of images.entries()) {
    for (const [j, opts] of sets.entries()) want.set(`${i}/${j}`, await direct(model, img.bytes, opts));
  }
  const detections = [...want.values()].reduce((s, r) => s + r.cls.length, 0);
  console.log(`direct predictions: ${want.size} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.ok(detections > want.size, "the reference answers have detections and masks to compare");

  await using server = serve(model, { port: 0, imgsz: 64 });
  const batches: number[] = [];
  let good = 0, refused = 0, next = 0;
  const worker = async () => {
    for (let k = next++; k < REQUESTS; k = next++) {
      if (k % 5 === 4) {
        const [label, body, q] = bad[(k / 5 | 0) % bad.length];
        const res = await fetch(`${server.url}predict?${q}`, { method: "POST", body });
        const answer = await res.json();
        assert.ok(res.status >= 400 && res.status < 500, `${label}: ${res.status} ${JSON.stringify(answer)}`);
        assert.equal(typeof answer.error, "string");
        refused++;
        continue;
      }
      const i = (k * 7) % images.length, j = k % sets.length;
      const res = await fetch(`${server.url}predict?${query(sets[j])}`, {
        method: "POST",
        body: images[i].bytes,
      });
      const got: Answer = await res.json();
      assert.equal(res.status, 200, `${images[i].name}: ${JSON.stringify(got)}`);
      assertSameResult(got, want.get(`${i}/${j}`)!, `request ${k} (${images[i].name}, set ${j})`);
      batches.push(Number(res.headers.get("x-batch-size")));
      good++;
    }
  };
  const t1 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - t1) / 1000;
  const stats = server.stats();
  console.log(
    `${REQUESTS} requests (${good} good, ${refused} refused) in ${seconds.toFixed(1)} s: ` +
      `${(REQUESTS / seconds).toFixed(2)} requests/s, ${(good / seconds).toFixed(2)} images/s; ` +
      `${stats.forwards} forwards for ${stats.images} images (mean batch ${
        (stats.images / stats.forwards).toFixed(2)
      }, largest ${Math.max(...batches)})`,
  );
  assert.equal(good + refused, REQUESTS);
  assert.equal(stats.images, good);
  assert.equal(stats.errors, refused);
  assert.ok(stats.forwards < good, "concurrent requests shared forwards");
  const health = await (await fetch(`${server.url}health`)).json();
  assert.equal(health.status, "ok");
  model.dispose();
});
