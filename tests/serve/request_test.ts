/**
 * The server's request reading and batching without a GPU: parameter checks, body limits, multipart,
 * header sizes, and the micro-batcher's grouping, caps, aborts and close.
 */
import assert from "node:assert/strict";
import { batchOptions } from "../../src/modes/predict.ts";
import { encodeImage } from "../../src/plot/encode.ts";
import { Batcher } from "../../src/serve/batcher.ts";
import {
  headerSize,
  HttpError,
  parseParams,
  type PredictParams,
  readBody,
  readPredictRequest,
} from "../../src/serve/request.ts";
import { sharedPath } from "../_shared.ts";

const defaults: PredictParams = { ...batchOptions({ imgsz: 64 }), format: "json" };
const limits = { nc: 80, stride: 32, maxImgsz: 1280 };

Deno.test("parseParams: defaults, overrides, lists of classes", () => {
  assert.deepEqual(parseParams([], defaults, limits), defaults);
  const p = parseParams(
    [
      ["conf", "0.5"],
      ["iou", "0.45"],
      ["imgsz", "96"],
      ["max_det", "7"],
      ["retina_masks", "True"],
      [
        "agnostic_nms",
        "1",
      ],
      ["format", "png"],
      ["classes", "[0, 2]"],
      ["classes", "5"],
    ],
    defaults,
    limits,
  );
  assert.deepEqual(p, {
    ...defaults,
    imgsz: 96,
    conf: 0.5,
    iou: 0.45,
    max_det: 7,
    classes: [0, 2, 5],
    agnostic_nms: true,
    retina_masks: true,
    format: "png",
  });
  assert.equal(parseParams([["classes", ""]], defaults, limits).classes, null);
});

Deno.test("parseParams: each bad value is a 400 naming it", () => {
  const cases: [string, string, RegExp][] = [
    ["conf", "2", /"conf" as a number from 0 to 1: got "2"/],
    ["conf", "abc", /"conf"/],
    ["conf", "", /"conf"/],
    ["iou", "-0.1", /"iou"/],
    ["imgsz", "100", /"imgsz" as a multiple of 32 from 32 to 1280: got "100"/],
    ["imgsz", "1312", /"imgsz"/],
    ["imgsz", "0", /"imgsz"/],
    ["max_det", "0", /"max_det" as an integer/],
    ["max_det", "2.5", /"max_det"/],
    ["classes", "80", /"classes" as an integer from 0 to 79: got "80"/],
    ["classes", "x", /"classes"/],
    ["retina_masks", "maybe", /"retina_masks" as true or false/],
    ["format", "gif", /"format" as "json" or "png"/],
    ["cnf", "0.5", /Unknown parameter "cnf": use conf, iou/],
  ];
  for (const [key, value, message] of cases) {
    assert.throws(() => parseParams([[key, value]], defaults, limits), (e) => {
      assert.ok(e instanceof HttpError);
      assert.equal(e.status, 400);
      assert.match(e.message, message);
      assert.ok(!e.message.includes("\n"));
      return true;
    }, `${key}=${value}`);
  }
});

const post = (body: BodyInit | null, headers: Record<string, string> = {}, q = "") =>
  new Request(`http://x/predict${q}`, { method: "POST", body, headers });

Deno.test("readBody: Content-Length over the limit, and a streamed body over it, are 413", async () => {
  assert.deepEqual(await readBody(post(new Uint8Array([1, 2, 3])), 10), new Uint8Array([1, 2, 3]));
  assert.equal((await readBody(post(null), 10)).length, 0);
  await assert.rejects(readBody(post(new Uint8Array(11)), 10), { name: "HttpError", status: 413 });
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(4));
      c.close();
    },
  });
  // A stream has no Content-Length: the limit holds while it is read.
  const req = post(stream);
  assert.equal(req.headers.get("content-length"), null);
  await assert.rejects(readBody(req, 10), { name: "HttpError", status: 413, message: /at most/ });
});

Deno.test("readPredictRequest: raw body, multipart file/image fields, form parameters", async () => {
  const raw = await readPredictRequest(post(new Uint8Array([9]), {}, "?conf=0.5"), defaults, {
    ...limits,
    maxBytes: 100,
  });
  assert.deepEqual([raw.file, raw.bytes, raw.params.conf], ["image0.jpg", new Uint8Array([9]), 0.5]);
  for (const field of ["file", "image"]) {
    const form = new FormData();
    form.append(field, new File([new Uint8Array([1, 2])], "a.png"));
    form.append("iou", "0.3");
    const r = await readPredictRequest(post(form, {}, "?iou=0.4&imgsz=96"), defaults, {
      ...limits,
      maxBytes: 1000,
    });
    assert.deepEqual([r.file, r.bytes, r.params.iou, r.params.imgsz], [
      "a.png",
      new Uint8Array([1, 2]),
      0.4,
      96,
    ]);
  }
  const noFile = new FormData();
  noFile.append("conf", "0.3");
  await assert.rejects(readPredictRequest(post(noFile), defaults, { ...limits, maxBytes: 1000 }), {
    status: 400,
    message: /"file" \(or "image"\) field/,
  });
  const textFile = new FormData();
  textFile.append("file", "not a file");
  await assert.rejects(readPredictRequest(post(textFile), defaults, { ...limits, maxBytes: 1000 }), {
    status: 400,
  });
});

Deno.test("headerSize: JPEG frame and PNG IHDR sizes; null for anything else", async () => {
  const bus = await Deno.readFile(sharedPath("images/bus.jpg"));
  assert.deepEqual(headerSize(bus), [1080, 810]);
  const png = await encodeImage({ width: 3, height: 2, data: new Uint8Array(18) }, "png");
  assert.deepEqual(headerSize(png), [2, 3]);
  assert.equal(headerSize(new TextEncoder().encode("hello")), null);
  assert.equal(headerSize(bus.subarray(0, 20)), null);
});

Deno.test("Batcher: same keys share a batch (at most maxBatch), other keys wait their turn", async () => {
  const runs: [string, number[]][] = [];
  const b = new Batcher<number, number>(async (key, items) => {
    runs.push([key, items]);
    await new Promise((r) => setTimeout(r, 5));
    return items.map((x) => x * 10);
  }, { maxBatch: 3, waitMs: 5 });
  const got = await Promise.all([
    b.submit("a", 1),
    b.submit("b", 2),
    b.submit("a", 3),
    b.submit("a", 4),
    b.submit("a", 5),
  ]);
  assert.deepEqual(got, [10, 20, 30, 40, 50]);
  assert.deepEqual(runs, [["a", [1, 3, 4]], ["b", [2]], ["a", [5]]]);
  assert.deepEqual(b.stats(), { batches: 3, items: 5, pending: 0, running: 0 });
  await b.close();
});

Deno.test("Batcher: an aborted item leaves the queue; a failed batch rejects its items; close", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const b = new Batcher<number, number>(async (_key, items) => {
    await gate;
    if (items.includes(13)) throw new RangeError("unlucky");
    return items;
  }, { maxBatch: 8, waitMs: 1 });
  const first = b.submit("k", 1);
  await new Promise((r) => setTimeout(r, 20)); // the first batch is running now
  const ctl = new AbortController();
  const aborted = b.submit("k", 2, ctl.signal);
  const unlucky = b.submit("k", 13);
  ctl.abort(new Error("gone"));
  await assert.rejects(aborted, { message: "gone" });
  assert.equal(b.stats().pending, 1);
  release();
  assert.equal(await first, 1);
  await assert.rejects(unlucky, { name: "RangeError" });
  const late = b.submit("k", 3);
  await b.close();
  await assert.rejects(late, /shutting down/);
  await assert.rejects(b.submit("k", 4), /shutting down/);
});
