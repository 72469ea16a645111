/**
 * The prediction server over real HTTP on 127.0.0.1 with the reference checkpoint at 64 px: every route,
 * every error status, answers equal to a direct `model.predict`, batching of concurrent requests, the
 * timeout, recovery from a lost GPU device, and the `serve` CLI mode with Ctrl-C.
 */
import assert from "node:assert/strict";
import { type ResultJson, serve, type ServeHandle, type ServeOptions, YOLO } from "../../mod.ts";
import { decodeImage } from "../../src/io/image.ts";
import { encodeImage } from "../../src/plot/encode.ts";
import { type Answer, assertSameResult, direct, IMAGE_FILES, MODEL, query, SMALL } from "./_serve.ts";

const model = await YOLO.load(MODEL);
const zidane = await Deno.readFile(IMAGE_FILES[1]);
const bus = await Deno.readFile(IMAGE_FILES[0]);
const zidanePng = await encodeImage(await decodeImage(zidane), "png") as Uint8Array<ArrayBuffer>;
const expected = new Map<Uint8Array, ResultJson>();
for (const b of [zidane, zidanePng, bus]) expected.set(b, await direct(model, b, SMALL));

/** A server on a free port with the small settings as its defaults. */
function start(options: ServeOptions = {}): ServeHandle {
  return serve(model, { port: 0, ...SMALL, ...options });
}

async function post(server: ServeHandle, body: BodyInit | null, q = "", headers: HeadersInit = {}) {
  return await fetch(`${server.url}predict${q ? `?${q}` : ""}`, { method: "POST", body, headers });
}

/** A one-line `{ error }` answer with this status. */
async function assertError(res: Response, status: number, message?: RegExp): Promise<string> {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(typeof body.error, "string");
  assert.ok(!body.error.includes("\n"));
  if (message) assert.match(body.error, message);
  return body.error;
}

Deno.test("serve: JPEG, PNG and multipart bodies answer the direct prediction plus speed", async () => {
  await using server = start();
  for (const [label, bytes] of [["jpeg", zidane], ["png", zidanePng]] as const) {
    const res = await post(server, bytes, "", { "content-type": `image/${label}` });
    const got: Answer = await res.json();
    assert.equal(res.status, 200, JSON.stringify(got));
    assert.match(res.headers.get("content-type")!, /application\/json/);
    assertSameResult(got, expected.get(bytes)!, label);
    assert.ok(got.cls.length > 0 && got.masks.length === got.cls.length, "detections with masks");
    assert.equal(got.file, "image0.jpg");
    for (const k of ["preprocess", "inference", "postprocess"]) assert.ok(got.speed[k] >= 0, k);
  }
  for (const field of ["file", "image"]) {
    const form = new FormData();
    form.append(field, new File([zidane], "zidane.jpg", { type: "image/jpeg" }));
    form.append("max_det", "3");
    const res = await post(server, form);
    const got: Answer = await res.json();
    assert.equal(res.status, 200, JSON.stringify(got));
    assert.equal(got.file, "zidane.jpg");
    assertSameResult(got, await direct(model, zidane, { ...SMALL, max_det: 3 }), `multipart ${field}`);
  }
});

Deno.test("serve: query parameters reach the prediction (conf, classes, retina_masks, imgsz)", async () => {
  await using server = start();
  const cases = [{ conf: 0.3 }, { classes: "0" }, { retina_masks: true, max_det: 3 }, { imgsz: 96 }];
  for (const params of cases) {
    const res = await post(server, zidane, query(params));
    const got: Answer = await res.json();
    assert.equal(res.status, 200, JSON.stringify(got));
    const options = {
      ...SMALL,
      ...params,
      classes: "classes" in params ? [Number(params.classes)] : undefined,
    };
    assertSameResult(got, await direct(model, zidane, options), JSON.stringify(params));
  }
});

Deno.test("serve: format=png is the annotated image, the size of the input", async () => {
  await using server = start();
  const res = await post(server, bus, "format=png");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "image/png");
  const png = new Uint8Array(await res.arrayBuffer());
  const img = await decodeImage(png, "answer.png");
  assert.deepEqual([img.height, img.width], [1080, 810]);
  const [r] = await model.predict(bus, SMALL);
  assert.ok(r.length > 0);
  const plotted = r.plot(await decodeImage(bus));
  assert.deepEqual(img.data, plotted.data, "the answer is Result.plot of the direct prediction");
});

Deno.test("serve: bad bodies are 400 with the decoder's one-line reason", async () => {
  await using server = start();
  const gif = new TextEncoder().encode("GIF89a......");
  const badCrc = zidanePng.slice();
  badCrc[40] ^= 0xff; // inside IHDR/IDAT: a CRC mismatch
  const cases: [string, BodyInit | null, RegExp][] = [
    ["empty", null, /Cannot read image "image0.jpg": file is empty/],
    ["empty string", "", /file is empty/],
    ["text", "hello, server", /not an image \(starts with 68 65 6c 6c/],
    ["gif", gif, /GIF is not supported/],
    ["truncated jpeg", zidane.slice(0, zidane.length >> 1), /truncated JPEG data|corrupt JPEG data/],
    ["corrupt png", badCrc, /corrupt PNG data/],
  ];
  for (const [label, body, message] of cases) {
    await assertError(
      await post(server, body, "", { "content-type": "application/octet-stream" }),
      400,
      message,
    );
    void label;
  }
  const form = new FormData();
  form.append("conf", "0.5");
  await assertError(await post(server, form), 400, /"file" \(or "image"\) field/);
  // Still serving.
  const ok = await post(server, zidane);
  assertSameResult(await ok.json(), expected.get(zidane)!, "after bad bodies");
});

Deno.test("serve: bad query values are 400 naming the parameter", async () => {
  await using server = start({ max_imgsz: 640 });
  const cases: [string, RegExp][] = [
    ["conf=1.5", /"conf" as a number from 0 to 1: got "1.5"/],
    ["conf=-1", /"conf"/],
    ["iou=x", /"iou"/],
    ["imgsz=100", /"imgsz" as a multiple of 32 from 32 to 640: got "100"/],
    ["imgsz=1280", /"imgsz"/],
    ["max_det=0", /"max_det"/],
    ["classes=80", /"classes" as an integer from 0 to 79/],
    ["retina_masks=perhaps", /"retina_masks"/],
    ["format=gif", /"format"/],
    ["size=64", /Unknown parameter "size"/],
  ];
  for (const [q, message] of cases) await assertError(await post(server, zidane, q), 400, message);
  assert.equal(server.stats().forwards, 0, "no forward for a refused request");
});

Deno.test("serve: 404, 405, the page, health", async () => {
  await using server = start();
  await assertError(await fetch(`${server.url}nope`), 404, /Cannot find "\/nope"/);
  await assertError(await fetch(`${server.url}predict`), 405, /Use POST for "\/predict": got GET/);
  const r405 = await fetch(`${server.url}health`, { method: "POST", body: "x" });
  assert.equal(r405.headers.get("allow"), "GET, HEAD");
  await assertError(r405, 405);
  await assertError(await fetch(server.url, { method: "DELETE" }), 405);
  const page = await fetch(server.url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /text\/html/);
  const html = await page.text();
  assert.match(html, /<input id="file" type="file"/);
  assert.match(html, /<canvas/);
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, "no external resources");
  assert.equal((await fetch(server.url, { method: "HEAD" })).status, 200);
  const health = await (await fetch(`${server.url}health`)).json();
  assert.equal(health.status, "ok");
  assert.equal(health.model, "yolo11n-seg-c128.pt");
  assert.equal(health.names, 80);
  assert.equal(health.imgsz, 64);
  assert.equal(typeof health.device, "string");
  assert.equal(health.stats.errors, 4);
});

Deno.test("serve: bodies and images over the limits are 413, checked before reading or decoding", async () => {
  await using server = start({ max_bytes: 200_000, max_pixels: 500_000 });
  // Content-Length says it: refused before the body is read.
  await assertError(
    await post(server, new Uint8Array(300_000)),
    413,
    /at most 0.19 MiB: the body is 0.29 MiB/,
  );
  // A streamed body has no length: refused while it is read.
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= 1_000_000) return c.close();
      sent += 16_384;
      c.enqueue(new Uint8Array(16_384));
    },
  });
  await assertError(await post(server, stream), 413, /over 0.19 MiB/);
  // bus.jpg (137 kB) is 810x1080 = 874,800 pixels.
  await assertError(await post(server, bus), 413, /at most 500000 pixels: "image0.jpg" is 810x1080/);
  // A PNG header claiming 30000x30000 pixels is refused without decoding.
  const bomb = zidanePng.slice(0, 33);
  new DataView(bomb.buffer).setUint32(16, 30_000);
  new DataView(bomb.buffer).setUint32(20, 30_000);
  await assertError(await post(server, bomb), 413, /is 30000x30000/);
  // 000000000049.jpg is 381x500 and 30 kB: within both limits.
  const small = await Deno.readFile(IMAGE_FILES.find((f) => f.endsWith("000000000049.jpg"))!);
  const ok = await post(server, small);
  assertSameResult(await ok.json(), await direct(model, small, SMALL), "within the limits");
});

Deno.test("serve: concurrent requests share forwards and each gets its own answer", async () => {
  await using server = start();
  const bodies = [zidane, bus, zidanePng, zidane, bus, zidanePng];
  const answers = await Promise.all(bodies.map(async (b) => {
    const res = await post(server, b);
    return { batch: Number(res.headers.get("x-batch-size")), got: await res.json() as Answer, b };
  }));
  for (const [i, a] of answers.entries()) assertSameResult(a.got, expected.get(a.b)!, `request ${i}`);
  const { forwards, images } = server.stats();
  assert.equal(images, bodies.length);
  assert.ok(forwards < bodies.length, `${forwards} forwards for ${bodies.length} requests`);
  assert.ok(answers.some((a) => a.batch > 1));
});

Deno.test("serve: NMS and masks on the GPU (gpuPostprocess) answer as the CPU path, batched requests too", async () => {
  await using server = start({ gpuPostprocess: true });
  const bodies = [zidane, bus, zidanePng, zidane];
  const answers = await Promise.all(
    bodies.map(async (b) => ({ got: await (await post(server, b)).json(), b })),
  );
  for (const [i, a] of answers.entries()) assertSameResult(a.got, expected.get(a.b)!, `request ${i}`);
  assert.ok(server.stats().forwards < bodies.length, "some requests shared a forward");
});

Deno.test("serve: a request over the timeout is 504; the server goes on", async () => {
  await using server = start({ timeout: 0.001 });
  await assertError(await post(server, zidane), 504, /Timed out after 0.001 s/);
  const health = await fetch(`${server.url}health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
});

Deno.test("serve: a lost GPU device answers the requests in flight with 503, then recovers", async () => {
  await using server = start();
  const want = expected.get(zidane)!;
  assertSameResult(await (await post(server, zidane)).json(), want, "before");
  // Lose the device while a forward is on it: destroyed as the forward's submit returns, before its read
  // (no timer can find that moment where reads do not wait: src/gpu/map_read.ts).
  const device = await model.device();
  const queue = device.queue;
  const submit = queue.submit;
  let submits = 0;
  queue.submit = (buffers: GPUCommandBuffer[]) => {
    submit.call(queue, buffers);
    submits++;
    queue.submit = submit;
    device.destroy();
  };
  try {
    await assertError(await post(server, zidane), 503, /GPU device was lost/);
  } finally {
    queue.submit = submit;
  }
  assert.equal(submits, 1, "the device was lost after a forward's submit");
  await device.lost;
  // The next request rebuilds the model on a new device and answers as before.
  const after = await post(server, zidane);
  assertSameResult(await after.json(), want, "after");
  assert.notEqual(await model.device(), device);
  // Lost while idle: the next request simply runs on a new device.
  const second = await model.device();
  second.destroy();
  await second.lost;
  assertSameResult(await (await post(server, zidane)).json(), want, "after an idle loss");
  const health = await (await fetch(`${server.url}health`)).json();
  assert.equal(typeof health.device, "string");
});

Deno.test("serve CLI: prints the URL, answers, stops cleanly on Ctrl-C", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", "serve", `model=${MODEL}`, "port=0", "imgsz=64", "verbose=False"],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/at (http:\S+)/.test(out)) {
    const { done, value } = await reader.read();
    if (done) break;
    out += value;
  }
  const url = out.match(/at (http:\S+)/)?.[1];
  assert.ok(url, `no URL in: ${out}`);
  assert.match(out, /^Serving yolo11n-seg-c128.pt at http:\/\/127\.0\.0\.1:\d+\/ /m);
  const health = await (await fetch(`${url}health`)).json();
  assert.equal(health.status, "ok");
  const res = await fetch(`${url}predict`, { method: "POST", body: "nope" });
  await assertError(res, 400);
  child.kill("SIGINT");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out += value;
  }
  const { code } = await child.status;
  const stderr = await new Response(child.stderr).text();
  assert.equal(code, 0, stderr);
  assert.match(out, /Shutting down/);
});
